// /proc/<pid>/limits: the resource limits as Linux's proc_pid_limits prints them.
import type { Rlimits } from '../../task/rlimits.js';

const ROWS: [string, string][] = [
  ['Max cpu time', 'seconds'], ['Max file size', 'bytes'], ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'], ['Max core file size', 'bytes'], ['Max resident set', 'bytes'],
  ['Max processes', 'processes'], ['Max open files', 'files'], ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'], ['Max file locks', 'locks'], ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'], ['Max nice priority', ''], ['Max realtime priority', ''],
  ['Max realtime timeout', 'us'],
];

export function limitsText(r: Rlimits): string {
  const v = (n: number) => (n === Infinity ? 'unlimited' : String(n));
  let out = `${'Limit'.padEnd(25)} ${'Soft Limit'.padEnd(20)} ${'Hard Limit'.padEnd(20)} ${'Units'.padEnd(10)}\n`;
  ROWS.forEach(([name, unit], i) => {
    const l = r.get(i);
    out += `${name.padEnd(25)} ${v(l.cur).padEnd(20)} ${v(l.max).padEnd(20)} `;
    out += unit ? `${unit.padEnd(10)}\n` : '\n';
  });
  return out;
}
