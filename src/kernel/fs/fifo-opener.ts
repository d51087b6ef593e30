// Opening a named FIFO on any file system goes through here, so every fs shares one pipe
// per FIFO inode. The pipe layer installs the implementation (src/kernel/ipc).
import type { Inode } from './inode.js';
import type { File } from './file.js';
import type { Task, Block } from '../task/task.js';
import { Errno } from '../errno.js';
import { ENXIO } from '../abi/errno.js';

export type FifoOpenFn = (inode: Inode, flags: number, task: Task | null) => File;

let impl: FifoOpenFn = () => {
  throw new Errno(ENXIO);
};

/** Thrown by an open that must wait (a FIFO without its other end); the open handler
 *  returns the Block so the call sleeps and is re-run. */
export class OpenWouldBlock extends Error {
  constructor(readonly block: Block) {
    super('open would block');
  }
}

export function setFifoImplementation(fn: FifoOpenFn): void {
  impl = fn;
}

export const fifoOpener: FifoOpenFn = (inode, flags, task) => impl(inode, flags, task);
