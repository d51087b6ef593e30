// poll, ppoll, select, pselect6: readiness of many files at once. Every polled file's wait
// queue wakes the sleeper, which then polls again. ppoll/pselect6 wait under their signal
// mask (signal/masked-wait.ts). The remaining time is written back (select, ppoll, pselect6) on every return
// except an interruption by a signal.
import type { HandlerMap } from './handler.js';
import type { Task, SyscallState, SyscallReturn } from '../task/task.js';
import { Block } from '../task/task.js';
import { waitUnderSigmask } from '../signal/masked-wait.js';
import { Errno } from '../errno.js';
import { EINVAL, EBADF } from '../abi/errno.js';
import type { WaitQueue } from '../sched/wait-queue.js';
import { POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLPRI, POLLRDNORM, POLLRDBAND, POLLWRNORM } from '../fs/file.js';
import { EPOLLWRBAND } from '../abi/event.js';
import { monotonicMs } from '../sched/timers.js';

const POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET = EPOLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const POLLEX_SET = POLLPRI;

interface PollScratch { deadline?: number; zero: boolean }

/** The call's timing, fixed on the first run: deadline (undefined = forever), or no wait. */
function timing(s: SyscallState, timeoutMs: number | undefined): PollScratch {
  if (s.wake === 'first' || !s.scratch) {
    s.scratch = { deadline: timeoutMs === undefined ? undefined : monotonicMs() + timeoutMs, zero: timeoutMs === 0 };
  }
  return s.scratch as PollScratch;
}

function mustWait(s: SyscallState, tm: PollScratch): boolean {
  if (tm.zero || s.wake === 'timeout') return false;
  return tm.deadline === undefined || monotonicMs() < tm.deadline;
}

// ---- poll ----

function doPoll(t: Task, s: SyscallState, fdsAddr: number, nfds: number, timeoutMs: number | undefined, after?: () => void): SyscallReturn {
  if (nfds < 0 || nfds > t.fds.limit) throw new Errno(EINVAL);
  const tm = timing(s, timeoutMs);
  const buf = nfds ? t.mem.read(fdsAddr, nfds * 8) : Buffer.alloc(0);
  const queues: WaitQueue[] = [];
  let count = 0;
  for (let i = 0; i < nfds; i++) {
    const fd = buf.readInt32LE(i * 8);
    const events = buf.readUInt16LE(i * 8 + 4);
    let rev = 0;
    if (fd >= 0) {
      const e = t.fds.entry(fd);
      if (!e) rev = POLLNVAL;
      else {
        rev = e.file.poll() & (events | POLLERR | POLLHUP);
        queues.push(e.file.waitQueue);
      }
    }
    buf.writeUInt16LE(rev, i * 8 + 6);
    if (rev) count++;
  }
  if (count === 0 && mustWait(s, tm)) return new Block(queues, tm.deadline, 'nohand');
  if (nfds) t.mem.write(fdsAddr, buf);
  after?.();
  return count;
}

// ---- select ----

function readSet(t: Task, addr: number, bytes: number): Buffer | null {
  return addr === 0 ? null : t.mem.read(addr, bytes);
}

function isSet(b: Buffer | null, fd: number): boolean {
  return !!b && (b[fd >> 3]! & (1 << (fd & 7))) !== 0;
}

function doSelect(t: Task, s: SyscallState, nfds: number, rAddr: number, wAddr: number, eAddr: number, timeoutMs: number | undefined, after?: () => void): SyscallReturn {
  if (nfds < 0) throw new Errno(EINVAL);
  nfds = Math.min(nfds, t.fds.limit);
  const tm = timing(s, timeoutMs);
  const bytes = Math.ceil(nfds / 64) * 8;
  const rin = readSet(t, rAddr, bytes), win = readSet(t, wAddr, bytes), ein = readSet(t, eAddr, bytes);
  const rout = Buffer.alloc(bytes), wout = Buffer.alloc(bytes), eout = Buffer.alloc(bytes);
  const queues: WaitQueue[] = [];
  let count = 0;
  for (let fd = 0; fd < nfds; fd++) {
    const r = isSet(rin, fd), w = isSet(win, fd), e = isSet(ein, fd);
    if (!r && !w && !e) continue;
    const ent = t.fds.entry(fd);
    if (!ent) throw new Errno(EBADF);
    const m = ent.file.poll();
    queues.push(ent.file.waitQueue);
    const bit = 1 << (fd & 7), at = fd >> 3;
    if (r && m & POLLIN_SET) { rout[at]! |= bit; count++; }
    if (w && m & POLLOUT_SET) { wout[at]! |= bit; count++; }
    if (e && m & POLLEX_SET) { eout[at]! |= bit; count++; }
  }
  if (count === 0 && mustWait(s, tm)) return new Block(queues, tm.deadline, 'nohand');
  if (rAddr) t.mem.write(rAddr, rout);
  if (wAddr) t.mem.write(wAddr, wout);
  if (eAddr) t.mem.write(eAddr, eout);
  after?.();
  return count;
}

// ---- time arguments ----

function readTimeval(t: Task, addr: number): number | undefined {
  if (addr === 0) return undefined;
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0)), usec = Number(b.readBigInt64LE(8));
  if (sec < 0 || usec < 0) throw new Errno(EINVAL);
  return sec * 1000 + usec / 1000;
}

function readTimespec(t: Task, addr: number): number | undefined {
  if (addr === 0) return undefined;
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0)), nsec = Number(b.readBigInt64LE(8));
  if (sec < 0 || nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
  return sec * 1000 + nsec / 1e6;
}

function remainingMs(s: SyscallState): number {
  const d = (s.scratch as PollScratch | undefined)?.deadline;
  return d === undefined ? 0 : Math.max(0, d - monotonicMs());
}

/** Writes the time left back, as a timeval (select) or timespec (ppoll, pselect6). */
function writeBack(t: Task, s: SyscallState, addr: number, micro: boolean): void {
  if (addr === 0) return;
  const left = remainingMs(s);
  const sec = Math.floor(left / 1000);
  const frac = left - sec * 1000;
  const b = Buffer.alloc(16);
  b.writeBigInt64LE(BigInt(sec), 0);
  b.writeBigInt64LE(BigInt(Math.floor(micro ? frac * 1000 : frac * 1e6)), 8);
  try {
    t.mem.write(addr, b);
  } catch {
    // Linux ignores a failed write-back of the remaining time.
  }
}

function checkSigmask(sigmask: number, size: number): void {
  if (sigmask !== 0 && size !== 8) throw new Errno(EINVAL);
}

/** Timeouts are read on the first run only (re-runs use the deadline kept in scratch). */
function onFirst(s: SyscallState, read: () => number | undefined): number | undefined {
  return s.wake === 'first' ? read() : undefined;
}

export const pollCalls: HandlerMap = {
  poll: (t, a, s) => {
    const ms = a[2]! | 0;
    return doPoll(t, s, a[0]!, a[1]! >>> 0, ms < 0 ? undefined : ms);
  },
  ppoll: (t, a, s) => {
    checkSigmask(a[3]!, a[4]!);
    return waitUnderSigmask(t, a[3]!, () =>
      doPoll(t, s, a[0]!, a[1]! >>> 0, onFirst(s, () => readTimespec(t, a[2]!)), () => writeBack(t, s, a[2]!, false)));
  },
  select: (t, a, s) => {
    return doSelect(t, s, a[0]! | 0, a[1]!, a[2]!, a[3]!, onFirst(s, () => readTimeval(t, a[4]!)), () => writeBack(t, s, a[4]!, true));
  },
  pselect6: (t, a, s) => {
    let maskAddr = 0;
    if (a[5]) {
      const b = t.mem.read(a[5], 16);
      maskAddr = Number(b.readBigUInt64LE(0));
      if (s.wake === 'first') checkSigmask(maskAddr, Number(b.readBigUInt64LE(8)));
    }
    return waitUnderSigmask(t, maskAddr, () =>
      doSelect(t, s, a[0]! | 0, a[1]!, a[2]!, a[3]!, onFirst(s, () => readTimespec(t, a[4]!)), () => writeBack(t, s, a[4]!, false)));
  },
};
