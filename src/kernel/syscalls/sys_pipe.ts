// pipe(2) and pipe2(2).
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL } from '../abi/errno.js';
import { O_CLOEXEC, O_NONBLOCK, O_DIRECT } from '../abi/fcntl.js';
import { newPipe } from '../ipc/pipe.js';

// Pipe2 implements Linux syscall pipe2(2). O_DIRECT (packet mode) is accepted and treated as
// a byte stream.
function pipe2(t: Task, fdsAddr: number, flags: number): number {
  if (flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT)) throw new Errno(EINVAL);
  const [r, w] = newPipe(t, flags & O_NONBLOCK);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  let rfd = -1;
  try {
    rfd = t.fds.install(r, cloexec);
  } catch (e) {
    w.unref();
    throw e;
  }
  let wfd: number;
  try {
    wfd = t.fds.install(w, cloexec);
  } catch (e) {
    t.fds.close(rfd);
    throw e;
  }
  const out = Buffer.alloc(8);
  out.writeInt32LE(rfd, 0);
  out.writeInt32LE(wfd, 4);
  try {
    t.mem.write(fdsAddr, out);
  } catch (e) {
    t.fds.close(rfd);
    t.fds.close(wfd);
    throw e;
  }
  return 0;
}

export const pipeCalls: HandlerMap = {
  pipe: (t, a) => pipe2(t, a[0]!, 0),
  pipe2: (t, a) => pipe2(t, a[0]!, a[1]! | 0),
};
