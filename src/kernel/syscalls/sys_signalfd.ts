// signalfd, signalfd4.
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL } from '../abi/errno.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from '../abi/fcntl.js';
import { SignalFd } from '../event/signalfd.js';

const SFD_CLOEXEC = O_CLOEXEC, SFD_NONBLOCK = O_NONBLOCK;

function signalfd(t: Task, fd: number, maskAddr: number, size: number, flags: number): number {
  if (size !== 8) throw new Errno(EINVAL);
  if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) throw new Errno(EINVAL);
  const mask = SignalFd.sanitize(t.mem.read(maskAddr, 8).readBigUInt64LE(0));
  if (fd !== -1) {
    const f = t.fds.get(fd);
    if (!(f instanceof SignalFd)) throw new Errno(EINVAL);
    f.mask = mask;
    return fd;
  }
  const f = new SignalFd(mask, O_RDWR | (flags & SFD_NONBLOCK), t.group);
  return t.fds.install(f, (flags & SFD_CLOEXEC) !== 0);
}

export const signalfdCalls: HandlerMap = {
  signalfd: (t, a) => signalfd(t, a[0]! | 0, a[1]!, a[2]!, 0),
  signalfd4: (t, a) => signalfd(t, a[0]! | 0, a[1]!, a[2]!, a[3]! | 0),
};
