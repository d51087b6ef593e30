// eventfd, eventfd2, timerfd_create, timerfd_settime, timerfd_gettime.
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL } from '../abi/errno.js';
import { O_NONBLOCK, O_RDWR } from '../abi/fcntl.js';
import {
  EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK, TFD_CLOEXEC, TFD_NONBLOCK, TFD_TIMER_ABSTIME,
  TFD_TIMER_CANCEL_ON_SET, CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
  CLOCK_BOOTTIME_ALARM,
} from '../abi/event.js';
import { EventFd } from '../event/eventfd.js';
import { TimerFd, type ITimerSpec } from '../event/timerfd.js';

// Eventfd2 implements Linux syscall eventfd2(2).
function eventfd2(t: Task, initval: number, flags: number): number {
  if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) throw new Errno(EINVAL);
  const f = new EventFd(BigInt(initval >>> 0), (flags & EFD_SEMAPHORE) !== 0, O_RDWR | (flags & EFD_NONBLOCK ? O_NONBLOCK : 0));
  return t.fds.install(f, (flags & EFD_CLOEXEC) !== 0);
}

const TIMERFD_CLOCKS = new Set([CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM]);

// TimerfdCreate implements Linux syscall timerfd_create(2).
function timerfdCreate(t: Task, clockId: number, flags: number): number {
  if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) throw new Errno(EINVAL);
  if (!TIMERFD_CLOCKS.has(clockId)) throw new Errno(EINVAL);
  const f = new TimerFd(clockId, t.kernel.timers, O_RDWR | (flags & TFD_NONBLOCK ? O_NONBLOCK : 0));
  return t.fds.install(f, (flags & TFD_CLOEXEC) !== 0);
}

function timerfdOf(t: Task, fd: number): TimerFd {
  const f = t.fds.get(fd);
  if (!(f instanceof TimerFd)) throw new Errno(EINVAL);
  return f;
}

function readTs(b: Buffer, off: number): bigint {
  const sec = b.readBigInt64LE(off), nsec = b.readBigInt64LE(off + 8);
  if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) throw new Errno(EINVAL);
  return sec * 1_000_000_000n + nsec;
}

function itimerspec(v: ITimerSpec): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigInt64LE(v.intervalNs / 1_000_000_000n, 0);
  b.writeBigInt64LE(v.intervalNs % 1_000_000_000n, 8);
  b.writeBigInt64LE(v.valueNs / 1_000_000_000n, 16);
  b.writeBigInt64LE(v.valueNs % 1_000_000_000n, 24);
  return b;
}

// TimerfdSettime implements Linux syscall timerfd_settime(2).
function timerfdSettime(t: Task, fd: number, flags: number, newAddr: number, oldAddr: number): number {
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) throw new Errno(EINVAL);
  const b = t.mem.read(newAddr, 32);
  const spec = { intervalNs: readTs(b, 0), valueNs: readTs(b, 16) };
  const tf = timerfdOf(t, fd);
  if (oldAddr) t.mem.write(oldAddr, itimerspec(tf.gettime()));
  tf.settime(spec, (flags & TFD_TIMER_ABSTIME) !== 0);
  return 0;
}

export const eventfdCalls: HandlerMap = {
  eventfd: (t, a) => eventfd2(t, a[0]!, 0),
  eventfd2: (t, a) => eventfd2(t, a[0]!, a[1]! | 0),
  timerfd_create: (t, a) => timerfdCreate(t, a[0]! | 0, a[1]! | 0),
  timerfd_settime: (t, a) => timerfdSettime(t, a[0]! | 0, a[1]! | 0, a[2]!, a[3]!),
  timerfd_gettime: (t, a) => {
    const tf = timerfdOf(t, a[0]! | 0);
    t.mem.write(a[1]!, itimerspec(tf.gettime()));
    return 0;
  },
};


