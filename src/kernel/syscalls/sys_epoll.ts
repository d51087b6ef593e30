// epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2.
// The pwait variants wait under their signal mask (signal/masked-wait.ts).
import type { HandlerMap } from './handler.js';
import type { Task, SyscallState, SyscallReturn } from '../task/task.js';
import { Block } from '../task/task.js';
import { waitUnderSigmask } from '../signal/masked-wait.js';
import { Errno } from '../errno.js';
import { EINVAL, EFAULT } from '../abi/errno.js';
import { O_CLOEXEC, O_RDWR } from '../abi/fcntl.js';
import { EPOLL_CLOEXEC, EPOLL_CTL_DEL, EPOLL_EVENT_SIZE } from '../abi/event.js';
import { EpollFile } from '../event/epoll.js';
import { monotonicMs } from '../sched/timers.js';

const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_SIZE);

function create(t: Task, flags: number): number {
  return t.fds.install(new EpollFile(O_RDWR, t.fds), (flags & O_CLOEXEC) !== 0);
}

function epollOf(t: Task, fd: number): EpollFile {
  const f = t.fds.get(fd);
  if (!(f instanceof EpollFile)) throw new Errno(EINVAL);
  return f;
}

// EpollCtl implements Linux syscall epoll_ctl(2).
function ctl(t: Task, epfd: number, op: number, fd: number, evAddr: number): number {
  const ep = epollOf(t, epfd);
  const file = t.fds.get(fd);
  let events = 0, data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const b = t.mem.read(evAddr, EPOLL_EVENT_SIZE);
    events = b.readUInt32LE(0) | 0;
    data = b.readBigUInt64LE(4);
  }
  ep.ctl(op, fd, file, events, data);
  return 0;
}

/** Common epoll_wait: timeoutMs < 0 waits forever. */
function wait(t: Task, s: SyscallState, epfd: number, evAddr: number, max: number, timeoutMs: number): SyscallReturn {
  if (max <= 0 || max > EP_MAX_EVENTS) throw new Errno(EINVAL);
  const ep = epollOf(t, epfd);
  if (evAddr === 0) throw new Errno(EFAULT);
  const ready = ep.collect(max);
  if (ready.length) {
    const out = Buffer.alloc(ready.length * EPOLL_EVENT_SIZE);
    ready.forEach((e, i) => {
      out.writeUInt32LE(e.events >>> 0, i * EPOLL_EVENT_SIZE);
      out.writeBigUInt64LE(e.data, i * EPOLL_EVENT_SIZE + 4);
    });
    t.mem.write(evAddr, out);
    return ready.length;
  }
  if (timeoutMs === 0 || s.wake === 'timeout') return 0;
  const sc = (s.scratch ??= { deadline: timeoutMs < 0 ? undefined : monotonicMs() + timeoutMs }) as { deadline?: number };
  if (sc.deadline !== undefined && monotonicMs() >= sc.deadline) return 0;
  // Linux's epoll_wait is never restarted after a signal handler.
  return new Block([ep.waitQueue], sc.deadline, 'nohand');
}

function checkSigmask(sigmask: number, size: number): void {
  if (sigmask !== 0 && size !== 8) throw new Errno(EINVAL);
}

function timespecMs(t: Task, addr: number): number {
  if (addr === 0) return -1;
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0)), nsec = Number(b.readBigInt64LE(8));
  if (sec < 0 || nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
  return sec * 1000 + nsec / 1e6;
}

export const epollCalls: HandlerMap = {
  epoll_create: (t, a) => {
    if ((a[0]! | 0) <= 0) throw new Errno(EINVAL);
    return create(t, 0);
  },
  epoll_create1: (t, a) => {
    const flags = a[0]! | 0;
    if (flags & ~EPOLL_CLOEXEC) throw new Errno(EINVAL);
    return create(t, flags);
  },
  epoll_ctl: (t, a) => ctl(t, a[0]! | 0, a[1]! | 0, a[2]! | 0, a[3]!),
  epoll_wait: (t, a, s) => wait(t, s, a[0]! | 0, a[1]!, a[2]! | 0, a[3]! | 0),
  epoll_pwait: (t, a, s) => {
    checkSigmask(a[4]!, a[5]!);
    return waitUnderSigmask(t, a[4]!, () => wait(t, s, a[0]! | 0, a[1]!, a[2]! | 0, a[3]! | 0));
  },
  epoll_pwait2: (t, a, s) => {
    checkSigmask(a[4]!, a[5]!);
    const ms = s.wake === 'first' ? timespecMs(t, a[3]!) : -1;
    return waitUnderSigmask(t, a[4]!, () => wait(t, s, a[0]! | 0, a[1]!, a[2]! | 0, ms));
  },
};
