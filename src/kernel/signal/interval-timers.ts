// Timers that end in a signal: alarm/setitimer(ITIMER_REAL) and POSIX timers. The kernel
// keeps them (on its own timer list) rather than the host, because a host timer's signal
// cannot reach a task parked in an emulated wait: the kernel has to see it to end the wait.
import type { Kernel } from '../kernel.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { monotonicMs } from '../sched/timers.js';
import { sendToGroup, sendToTask } from './deliver.js';
import { SIGALRM, SI_KERNEL, SI_TIMER } from '../abi/signals.js';

export const SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;
export const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2,
  CLOCK_THREAD_CPUTIME_ID = 3, CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5,
  CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7, CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9,
  CLOCK_TAI = 11;
export const TIMER_ABSTIME = 1;

interface Arming { expiresAt: number; intervalMs: number; cancel: (() => void) | null }

export interface PosixTimer extends Arming {
  id: number;
  clock: number;
  notify: number;
  signo: number;
  sigval: bigint;
  targetTid: number;
  overrun: number;
  /** Expirations while the signal was still queued (timer_getoverrun). */
  pendingOverrun: number;
}

export class ProcessTimers {
  real: Arming = { expiresAt: 0, intervalMs: 0, cancel: null };
  readonly posix = new Map<number, PosixTimer>();
  nextId = 0;
}

const all = new WeakMap<ThreadGroup, ProcessTimers>();

export function timersOf(g: ThreadGroup): ProcessTimers {
  let t = all.get(g);
  if (!t) all.set(g, (t = new ProcessTimers()));
  return t;
}

/** ms left before an armed timer fires (0: disarmed). */
export function remainingMs(a: Arming): number {
  return a.expiresAt ? Math.max(0.001, a.expiresAt - monotonicMs()) : 0;
}

function arm(k: Kernel, a: Arming, valueMs: number, intervalMs: number, fire: () => void): void {
  a.cancel?.();
  a.cancel = null;
  a.intervalMs = intervalMs;
  if (valueMs <= 0) {
    a.expiresAt = 0;
    return;
  }
  a.expiresAt = monotonicMs() + valueMs;
  const tick = () => {
    a.cancel = null;
    fire();
    if (a.intervalMs > 0) {
      a.expiresAt += a.intervalMs;
      const now = monotonicMs();
      if (a.expiresAt < now) a.expiresAt = now + a.intervalMs;
      a.cancel = k.timers.add(a.expiresAt, tick);
    } else a.expiresAt = 0;
  };
  a.cancel = k.timers.add(a.expiresAt, tick);
}

export function setRealTimer(k: Kernel, g: ThreadGroup, valueMs: number, intervalMs: number): void {
  arm(k, timersOf(g).real, valueMs, intervalMs, () => {
    if (g.alive) sendToGroup(k, g, SIGALRM, { pid: 0, uid: 0, code: SI_KERNEL });
  });
}

export function armPosixTimer(k: Kernel, g: ThreadGroup, t: PosixTimer, valueMs: number, intervalMs: number): void {
  arm(k, t, valueMs, intervalMs, () => {
    if (!g.alive || t.notify === SIGEV_NONE) return;
    const info = {
      pid: 0, uid: 0, code: SI_TIMER,
      fill: (si: Buffer) => {
        si.writeInt32LE(t.id, 16);
        si.writeInt32LE(t.pendingOverrun, 20);
        si.writeBigUInt64LE(t.sigval, 24);
        t.overrun = t.pendingOverrun;
        t.pendingOverrun = 0;
      },
    };
    if (t.notify & SIGEV_THREAD_ID) {
      const target = k.byTid.get(t.targetTid);
      if (target && target.group === g) sendToTask(k, target, t.signo, info);
    } else sendToGroup(k, g, t.signo, info);
  });
}

/** execve: POSIX timers go, the real-time alarm stays (as Linux). */
export function dropPosixTimers(g: ThreadGroup): void {
  const ts = all.get(g);
  if (!ts) return;
  for (const t of ts.posix.values()) t.cancel?.();
  ts.posix.clear();
}

/** Process exit: every timer goes. */
export function dropAllTimers(g: ThreadGroup): void {
  const ts = all.get(g);
  if (!ts) return;
  ts.real.cancel?.();
  dropPosixTimers(g);
  all.delete(g);
}
