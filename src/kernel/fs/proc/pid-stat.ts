// /proc/<pid>/stat and /proc/<pid>/statm (proc(5)). Ids, family, state and start time are
// the guest's; CPU times, faults and memory are the host's numbers for the task's own host
// process, which is where the guest's code really runs.
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { ProcKernel } from './kernel-view.js';
import { RLIMIT_RSS } from '../../task/rlimits.js';
import { hostStatm } from '../../../host/proc-stat.js';
import { commOf, hostFields, stateOf, startTicks, ttyOf, num } from './pid-common.js';

const ULONG_MAX = '18446744073709551615';

function limitText(v: number): string {
  return v === Infinity ? ULONG_MAX : String(v);
}

/** /proc/<pid>/stat, or /proc/<pid>/task/<tid>/stat when `t` is given. */
export function pidStat(k: ProcKernel, g: ThreadGroup, t: Task | null, reader: Task | null): string {
  const h = hostFields(g, t);
  const f = (n: number) => num(h?.[n - 1]); // proc(5) field n
  const task = t ?? g.leader;
  const pid = t ? t.tid : g.tgid;
  const tty = ttyOf(k, g);
  const zombie = !g.alive;
  const threads = Math.max(1, g.threads.size);
  const exitCode = zombie ? (g.zombieStatus ?? 0) : 0;
  const fields: (string | number)[] = [
    pid,
    `(${commOf(g, task ?? null)})`,
    stateOf(k, g, t, h, reader),
    g.parent?.tgid ?? 0,
    g.pgid,
    g.sid,
    tty.nr,
    tty.pgrp,
    f(9), // flags
    f(10), f(11), f(12), f(13), // minflt cminflt majflt cmajflt
    f(14), f(15), // utime stime
    Math.floor(g.childTimes.utime / 1e4), Math.floor(g.childTimes.stime / 1e4), // µs → ticks (CLK_TCK 100)
    h ? f(18) : 20, h ? f(19) : 0, // priority nice
    threads,
    0, // itrealvalue
    startTicks(k, g),
    zombie ? 0 : f(23), // vsize
    zombie ? 0 : f(24), // rss
    limitText(g.rlimits.get(RLIMIT_RSS).cur),
    // Code/stack addresses of the host image are the stub's, not the guest program's: Linux
    // shows 0 to readers without ptrace access, and so does tuml to everyone.
    0, 0, 0, 0, 0,
    0, 0, 0, 0, // signal blocked sigignore sigcatch (obsolete; see status)
    0, 0, 0, // wchan nswap cnswap
    g.exitSignal,
    f(39), // processor
    0, 0, 0, 0, 0, // rt_priority policy delayacct guest_time cguest_time
    0, 0, 0, 0, 0, 0, 0, // start_data … env_end
    exitCode,
  ];
  return fields.join(' ') + '\n';
}

/** /proc/<pid>/statm: size resident shared text lib data dt, in pages. */
export function pidStatm(g: ThreadGroup): string {
  const m = g.alive ? hostStatm(g.hostPid) : null;
  return (m && m.length >= 7 ? m.slice(0, 7) : [0, 0, 0, 0, 0, 0, 0]).join(' ') + '\n';
}
