// CPU time of guest processes: the host's accounting of their host threads (live ones
// from /proc/<pid>/task/<tid>/stat, dead ones from wait4's rusage).
import type { ThreadGroup } from './thread-group.js';
import { hostStat, CLK_TCK } from '../../host/proc-stat.js';

export interface Times { utime: number; stime: number }

/** A process's own CPU time in µs: its dead threads plus the live ones. */
export function selfTimes(g: ThreadGroup): Times {
  const out = { ...g.deadThreadTimes };
  for (const t of g.threads) {
    const st = hostStat(g.hostPid, t.hostTid);
    if (!st) continue;
    out.utime += (Number(st[13]) * 1e6) / CLK_TCK;
    out.stime += (Number(st[14]) * 1e6) / CLK_TCK;
  }
  return out;
}

/** struct rusage with the times filled in (the rest as zeros). */
export function encodeRusage(t: Times): Buffer {
  const b = Buffer.alloc(144);
  const tv = (o: number, us: number) => {
    b.writeBigInt64LE(BigInt(Math.floor(us / 1e6)), o);
    b.writeBigInt64LE(BigInt(Math.floor(us % 1e6)), o + 8);
  };
  tv(0, t.utime);
  tv(16, t.stime);
  return b;
}

export function ticks(us: number): number {
  return Math.floor((us * CLK_TCK) / 1e6);
}
