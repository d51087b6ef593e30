// Timers and clocks: alarm, setitimer(ITIMER_REAL) and POSIX timers are the kernel's (see
// src/kernel/signal/interval-timers.ts); CPU-time itimers stay with the host, which counts
// the CPU time anyway. Setting the host's clock is not the guest's business.
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Native } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL, EPERM, EFAULT } from '../abi/errno.js';
import { NSIG, SIGALRM } from '../abi/signals.js';
import { monotonicMs } from '../sched/timers.js';
import {
  timersOf, setRealTimer, remainingMs, armPosixTimer, CLOCK_REALTIME, CLOCK_TAI, CLOCK_REALTIME_ALARM,
  CLOCK_REALTIME_COARSE, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, TIMER_ABSTIME, type PosixTimer,
} from '../signal/interval-timers.js';

const ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;

function readTimeval(t: Task, addr: number): number {
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0)), usec = Number(b.readBigInt64LE(8));
  if (sec < 0 || usec < 0 || usec >= 1e6) throw new Errno(EINVAL);
  return sec * 1000 + usec / 1000;
}
function tvBytes(ms: number): Buffer {
  const b = Buffer.alloc(16);
  const us = Math.round(ms * 1000);
  b.writeBigInt64LE(BigInt(Math.floor(us / 1e6)), 0);
  b.writeBigInt64LE(BigInt(us % 1e6), 8);
  return b;
}
function readTimespec(t: Task, addr: number): number {
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0)), nsec = Number(b.readBigInt64LE(8));
  if (sec < 0 || nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
  return sec * 1000 + nsec / 1e6;
}
function tsBytes(ms: number): Buffer {
  const b = Buffer.alloc(16);
  const ns = Math.round(ms * 1e6);
  b.writeBigInt64LE(BigInt(Math.floor(ns / 1e9)), 0);
  b.writeBigInt64LE(BigInt(ns % 1e9), 8);
  return b;
}

function realTimerValue(t: Task): Buffer {
  const r = timersOf(t.group).real;
  return Buffer.concat([tvBytes(r.intervalMs), tvBytes(remainingMs(r))]);
}

function isRealtimeClock(c: number): boolean {
  return c === CLOCK_REALTIME || c === CLOCK_REALTIME_COARSE || c === CLOCK_REALTIME_ALARM || c === CLOCK_TAI;
}

function timerOf(t: Task, id: number): PosixTimer {
  const tm = timersOf(t.group).posix.get(id);
  if (!tm) throw new Errno(EINVAL);
  return tm;
}

function posixValue(tm: PosixTimer): Buffer {
  return Buffer.concat([tsBytes(tm.intervalMs), tsBytes(remainingMs(tm))]);
}

export const timerCalls: HandlerMap = {
  alarm: (t, a) => {
    const r = timersOf(t.group).real;
    const left = remainingMs(r);
    setRealTimer(t.kernel, t.group, (a[0]! >>> 0) * 1000, 0);
    if (!left) return 0;
    const sec = Math.floor(left / 1000), frac = left - sec * 1000;
    return sec === 0 || frac >= 500 ? sec + 1 : sec;
  },
  setitimer: (t, a) => {
    const which = a[0]! | 0;
    if (which === ITIMER_VIRTUAL || which === ITIMER_PROF) return new Native();
    if (which !== ITIMER_REAL) throw new Errno(EINVAL);
    const old = realTimerValue(t);
    if (a[1]) {
      const interval = readTimeval(t, a[1]!);
      const value = readTimeval(t, a[1]! + 16);
      setRealTimer(t.kernel, t.group, value, interval);
    } else setRealTimer(t.kernel, t.group, 0, 0);
    if (a[2]) t.mem.write(a[2]!, old);
    return 0;
  },
  getitimer: (t, a) => {
    const which = a[0]! | 0;
    if (which === ITIMER_VIRTUAL || which === ITIMER_PROF) return new Native();
    if (which !== ITIMER_REAL) throw new Errno(EINVAL);
    t.mem.write(a[1]!, realTimerValue(t));
    return 0;
  },
  timer_create: (t, a) => {
    const clock = a[0]! | 0;
    if (clock > CLOCK_TAI || clock === 10) throw new Errno(EINVAL);
    const ts = timersOf(t.group);
    const id = ts.nextId++;
    const tm: PosixTimer = {
      id, clock, notify: SIGEV_SIGNAL, signo: SIGALRM, sigval: BigInt(id), targetTid: 0,
      overrun: 0, pendingOverrun: 0, expiresAt: 0, intervalMs: 0, cancel: null,
    };
    if (a[1]) {
      const ev = t.mem.read(a[1]!, 20);
      tm.sigval = ev.readBigUInt64LE(0);
      tm.signo = ev.readInt32LE(8);
      tm.notify = ev.readInt32LE(12);
      tm.targetTid = ev.readInt32LE(16);
      const kind = tm.notify & ~SIGEV_THREAD_ID;
      if (kind !== SIGEV_SIGNAL && kind !== SIGEV_NONE && kind !== SIGEV_THREAD) throw new Errno(EINVAL);
      if (tm.notify !== SIGEV_NONE && (tm.signo < 1 || tm.signo > NSIG)) throw new Errno(EINVAL);
      if (tm.notify & SIGEV_THREAD_ID) {
        const target = t.kernel.byTid.get(tm.targetTid);
        if (!target || target.group !== t.group) throw new Errno(EINVAL);
      }
    }
    t.mem.writeI32(a[2]!, id);
    ts.posix.set(id, tm);
    return 0;
  },
  timer_settime: (t, a) => {
    const tm = timerOf(t, a[0]! | 0);
    const flags = a[1]! | 0;
    if (!a[2]) throw new Errno(EFAULT);
    const interval = readTimespec(t, a[2]!);
    let value = readTimespec(t, a[2]! + 16);
    const old = posixValue(tm);
    if (value > 0 && (flags & TIMER_ABSTIME)) {
      const now = isRealtimeClock(tm.clock) ? Date.now() : monotonicMs();
      value = Math.max(0.001, value - now);
    }
    armPosixTimer(t.kernel, t.group, tm, value, interval);
    if (a[3]) t.mem.write(a[3]!, old);
    return 0;
  },
  timer_gettime: (t, a) => {
    t.mem.write(a[1]!, posixValue(timerOf(t, a[0]! | 0)));
    return 0;
  },
  timer_getoverrun: (t, a) => timerOf(t, a[0]! | 0).overrun,
  timer_delete: (t, a) => {
    const tm = timerOf(t, a[0]! | 0);
    tm.cancel?.();
    timersOf(t.group).posix.delete(tm.id);
    return 0;
  },
  clock_settime: () => -EPERM,
  settimeofday: () => -EPERM,
  clock_adjtime: () => -EPERM,
};
