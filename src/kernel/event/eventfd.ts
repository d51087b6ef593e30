// eventfd(2): a 64-bit counter as a file. write adds, read takes the whole count (or one,
// with EFD_SEMAPHORE); each blocks rather than go below zero or past 2^64-2.
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL } from '../abi/errno.js';
import { File, POLLIN, POLLOUT, POLLERR, POLLRDNORM, POLLWRNORM } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { FIONREAD } from '../abi/event.js';
import { notify } from './notify.js';
import { anonInodeFs, ANON_INODE_INO, pseudoStat } from './anon-inode.js';

const ULLONG_MAX = 0xffffffffffffffffn;

/** stat of any anon_inode file: the one shared inode, mode 0600, no file type. */
export function anonStat(): Stat {
  return pseudoStat({ fs: anonInodeFs, ino: ANON_INODE_INO, mode: 0o600, uid: 0, gid: 0 });
}

export class EventFd extends File {
  readonly anonName = 'anon_inode:[eventfd]';
  constructor(public count: bigint, readonly semaphore: boolean, flags: number) {
    super(flags);
  }

  stat(): Stat {
    return anonStat();
  }

  override read(_t: Task, len: number): Buffer {
    if (len < 8) throw new Errno(EINVAL);
    if (this.count === 0n) throw new Errno(EAGAIN);
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(v);
    notify(this, POLLOUT | POLLWRNORM);
    return out;
  }

  override write(_t: Task, data: Buffer): number {
    if (data.length < 8) throw new Errno(EINVAL);
    const v = data.readBigUInt64LE(0);
    if (v === ULLONG_MAX) throw new Errno(EINVAL);
    if (ULLONG_MAX - this.count <= v) throw new Errno(EAGAIN);
    this.count += v;
    if (v > 0n) notify(this, POLLIN | POLLRDNORM);
    return 8;
  }

  override poll(): number {
    let m = 0;
    if (this.count > 0n) m |= POLLIN | POLLRDNORM;
    if (this.count === ULLONG_MAX) m |= POLLERR;
    if (ULLONG_MAX - 1n > this.count) m |= POLLOUT | POLLWRNORM;
    return m;
  }

  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) {
      t.mem.writeI32(arg, 8);
      return 0;
    }
    return super.ioctl(t, req, arg);
  }

  /** For /proc/<pid>/fdinfo. */
  fdinfo(): string {
    return `eventfd-count: ${this.count.toString(16)}\neventfd-id: 0\neventfd-semaphore: ${this.semaphore ? 1 : 0}\n`;
  }
}
