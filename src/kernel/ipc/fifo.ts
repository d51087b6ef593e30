// Named FIFOs on any file system open the pipe layer's shared pipe for their inode.
import { setFifoImplementation, OpenWouldBlock } from '../fs/fifo-opener.js';
import { openFifo, fifoKey } from './pipe.js';
import { Block } from '../task/task.js';

export function installFifoSupport(): void {
  setFifoImplementation((inode, flags, task) => {
    const r = openFifo(fifoKey(inode), flags, task!);
    if (r instanceof Block) throw new OpenWouldBlock(r);
    return r;
  });
}
