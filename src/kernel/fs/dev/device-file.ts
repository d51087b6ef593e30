// The common part of an open device: fstat shows the node it was opened through.
import { File } from '../file.js';
import type { Stat } from '../inode.js';
import { S_IFCHR } from '../../abi/fcntl.js';
import { allocDev } from '../devnums.js';

const detachedDev = allocDev();

export abstract class DeviceFile extends File {
  constructor(flags: number, readonly rdev: number) {
    super(flags);
  }
  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    const t = { sec: 0, nsec: 0 };
    return { dev: detachedDev, ino: this.rdev, mode: S_IFCHR | 0o666, nlink: 1, uid: 0, gid: 0, rdev: this.rdev, size: 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t };
  }
  /** Character devices have no position to speak of: lseek succeeds and reports 0. */
  override seek(_off: number, _whence: number): number {
    this.pos = 0;
    return 0;
  }
}
