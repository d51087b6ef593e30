// The host's /proc, read by the kernel about its own tracees (CPU times, memory, mappings)
// and about the machine (CPUs). Only this file reads host /proc for the kernel's procfs.
import * as fs from 'node:fs';
import * as os from 'node:os';

function readOrNull(path: string): string | null {
  try {
    return fs.readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

function taskPath(pid: number, tid: number | null, file: string): string {
  return tid === null || tid === pid ? `/proc/${pid}/${file}` : `/proc/${pid}/task/${tid}/${file}`;
}

/** /proc/<pid>/stat of a host process (or one of its threads), split into its 52 fields:
 *  [0] pid, [1] comm (without parentheses), [2] state, [3] ppid, … as proc(5) numbers them
 *  minus one. Null when the process is gone. */
export function hostStat(pid: number, tid: number | null = null): string[] | null {
  const s = readOrNull(taskPath(pid, tid, 'stat'));
  if (s === null) return null;
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  if (open < 0 || close < 0) return null;
  return [s.slice(0, open).trim(), s.slice(open + 1, close), ...s.slice(close + 2).trim().split(' ')];
}

/** /proc/<pid>/statm in pages: size resident shared text lib data dt. */
export function hostStatm(pid: number): number[] | null {
  const s = readOrNull(`/proc/${pid}/statm`);
  return s === null ? null : s.trim().split(/\s+/).map(Number);
}

/** /proc/<pid>/maps as text. */
export function hostMaps(pid: number): string | null {
  return readOrNull(`/proc/${pid}/maps`);
}

/** /proc/<pid>/status (or a thread's) as name → value (the text after the tab). */
export function hostStatus(pid: number, tid: number | null = null): Map<string, string> | null {
  const s = readOrNull(taskPath(pid, tid, 'status'));
  if (s === null) return null;
  const m = new Map<string, string>();
  for (const line of s.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).replace(/^\t/, ''));
  }
  return m;
}

/** The host's /proc/cpuinfo: tuml's tasks run on the host's CPUs, so this is the truth. */
export function hostCpuInfo(): string {
  return readOrNull('/proc/cpuinfo') ?? '';
}

/** Number of CPUs the host lets tuml run on. */
export function hostCpuCount(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The clock tick proc(5) times are counted in (sysconf(_SC_CLK_TCK); 100 on Linux x86-64). */
export const CLK_TCK = 100;

/** /proc/<pid>/smaps as text. */
export function hostSmaps(pid: number): string | null {
  return readOrNull(`/proc/${pid}/smaps`);
}

/** /proc/<pid>/smaps_rollup as text. */
export function hostSmapsRollup(pid: number): string | null {
  return readOrNull(`/proc/${pid}/smaps_rollup`);
}

/** /proc/<pid>/io as name → value. */
export function hostIo(pid: number): Map<string, string> {
  const m = new Map<string, string>();
  const s = readOrNull(`/proc/${pid}/io`);
  for (const line of (s ?? '').split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 2));
  }
  return m;
}

/** Signals pending for a host thread: its own (SigPnd) and its process's (ShdPnd). */
export function hostSigPending(pid: number, tid: number): bigint {
  const s = readOrNull(taskPath(pid, tid, 'status'));
  if (s === null) return 0n;
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(s);
    return m ? BigInt('0x' + m[1]) : 0n;
  };
  return field('SigPnd') | field('ShdPnd');
}
