// An open tmpfs file, directory or O_PATH handle. Data goes through the inode's memfd;
// the file keeps the inode alive after unlink until its last reference goes.
import { Errno } from '../../errno.js';
import { EBADF, EINVAL, EISDIR } from '../../abi/errno.js';
import { O_APPEND, O_NOATIME, O_PATH, S_IFDIR, S_IFMT, S_IFREG, SEEK_DATA, SEEK_HOLE } from '../../abi/fcntl.js';
import { File, type MmapSource } from '../file.js';
import type { DirEntry, Stat } from '../inode.js';
import type { Task } from '../../task/task.js';
import type { TmpInode } from './inode.js';

export class TmpFile extends File {
  constructor(readonly node: TmpInode, flags: number) {
    super(flags);
  }

  stat(): Stat {
    return this.node.getattr();
  }

  private data(): TmpInode {
    if (this.flags & O_PATH) throw new Errno(EBADF);
    const t = this.node.type;
    if (t === S_IFDIR) throw new Errno(EISDIR);
    if (t !== S_IFREG) throw new Errno(EINVAL);
    return this.node;
  }

  override read(_t: Task, len: number): Buffer {
    if (!this.readable) throw new Errno(EBADF);
    const b = this.data().readData(len, this.pos, (this.flags & O_NOATIME) !== 0);
    this.pos += b.length;
    return b;
  }

  override pread(_t: Task, len: number, off: number): Buffer {
    if (!this.readable) throw new Errno(EBADF);
    if (off < 0) throw new Errno(EINVAL);
    return this.data().readData(len, off, (this.flags & O_NOATIME) !== 0);
  }

  override write(t: Task, data: Buffer): number {
    if (!this.writable) throw new Errno(EBADF);
    const node = this.data();
    if (this.flags & O_APPEND) this.pos = node.dataSize;
    const n = node.writeData(data, this.pos, t ?? null);
    this.pos += n;
    return n;
  }

  override pwrite(t: Task, data: Buffer, off: number): number {
    if (!this.writable) throw new Errno(EBADF);
    if (off < 0) throw new Errno(EINVAL);
    const node = this.data();
    // Linux quirk kept: pwrite on an O_APPEND file appends.
    return node.writeData(data, this.flags & O_APPEND ? node.dataSize : off, t ?? null);
  }

  override seek(off: number, whence: number): number {
    if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      this.pos = this.data().seekData(off, whence);
      return this.pos;
    }
    return super.seek(off, whence);
  }

  override readdir(): DirEntry[] {
    if ((this.node.mode & S_IFMT) !== S_IFDIR) return super.readdir();
    if (this.flags & O_PATH) throw new Errno(EBADF);
    this.node.accessed();
    return this.node.readdir();
  }

  override truncate(size: number): void {
    if (!this.writable) throw new Errno(EINVAL);
    this.node.setattr({ size });
  }

  override fallocate(mode: number, off: number, len: number): void {
    if (!this.writable) throw new Errno(EBADF);
    this.data().fallocateData(mode, off, len);
  }

  override mmapSource(writable: boolean): MmapSource {
    return { hostFd: this.data().mapFd(), writable };
  }

  protected override release(): void {
    this.node.closed();
  }
}
