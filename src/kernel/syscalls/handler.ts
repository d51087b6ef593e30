// What a syscall handler is, and helpers every handler file shares.
import type { Task, SyscallState, SyscallReturn } from '../task/task.js';
import { Block } from '../task/task.js';
import type { SYS } from '../abi/syscalls.js';
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL } from '../abi/errno.js';
import { O_NONBLOCK } from '../abi/fcntl.js';
import type { File } from '../fs/file.js';

/**
 * A handler gets the task, the six arguments as signed 64-bit numbers (exact below 2^53;
 * use `a[i] | 0` for int arguments) and the call's state. It returns the result, a Block
 * to sleep (it is re-run on wake-up), Native to let the host run the call, or HANDLED.
 * Errors are thrown as Errno.
 */
export type Handler = (t: Task, a: number[], s: SyscallState) => SyscallReturn;
export type HandlerMap = Partial<Record<keyof typeof SYS, Handler>>;

/**
 * Runs an operation on a file that throws EAGAIN when it would block: for a blocking file
 * the task sleeps on the file's wait queue and the handler is re-run when it is woken.
 */
export function blockingIo<T extends SyscallReturn>(file: File, op: () => T, deadline?: number): T | Block {
  try {
    return op();
  } catch (e) {
    if (e instanceof Errno && e.errno === EAGAIN && !(file.flags & O_NONBLOCK)) return new Block([file.waitQueue], deadline);
    throw e;
  }
}

/** Reads a timespec {sec, nsec} from user memory as milliseconds. */
export function readTimespecMs(t: Task, addr: number): number {
  const b = t.mem.read(addr, 16);
  const sec = Number(b.readBigInt64LE(0));
  const nsec = Number(b.readBigInt64LE(8));
  if (sec < 0 || nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
  return sec * 1000 + nsec / 1e6;
}
