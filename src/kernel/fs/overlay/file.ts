// Open overlay files. A file wraps the open file of the layer it lives in, so that fstat
// shows the overlay's device and inode number; a read-only file opened on the lower layer
// moves to the upper copy once someone copies the object up (as overlayfs since 4.19).
import { Errno } from '../../errno.js';
import { EBADF, EISDIR } from '../../abi/errno.js';
import { O_PATH } from '../../abi/fcntl.js';
import { File, type MmapSource } from '../file.js';
import type { DirEntry, Stat } from '../inode.js';
import type { Task } from '../../task/task.js';
import type { OverlayInode } from './inode.js';

export class OverlayFile extends File {
  constructor(readonly node: OverlayInode, private inner: File, flags: number, private onLower: boolean) {
    super(flags);
  }

  /** The layer's file, in step with this file's position and status flags. */
  private real(): File {
    if (this.onLower && this.node.upper && !(this.flags & O_PATH)) {
      const f = this.node.upper.open(this.inner.flags, null);
      this.inner.unref();
      this.inner = f;
      this.onLower = false;
    }
    this.inner.flags = this.flags;
    this.inner.pos = this.pos;
    return this.inner;
  }

  stat(): Stat {
    return this.node.getattr();
  }
  override read(t: Task, len: number): Buffer {
    const f = this.real();
    try {
      return f.read(t, len);
    } finally {
      this.pos = f.pos;
    }
  }
  override write(t: Task, data: Buffer): number {
    const f = this.real();
    try {
      return f.write(t, data);
    } finally {
      this.pos = f.pos;
    }
  }
  override pread(t: Task, len: number, off: number): Buffer {
    return this.real().pread(t, len, off);
  }
  override pwrite(t: Task, data: Buffer, off: number): number {
    return this.real().pwrite(t, data, off);
  }
  override seek(off: number, whence: number): number {
    const f = this.real();
    this.pos = f.seek(off, whence);
    return this.pos;
  }
  override poll(): number {
    return this.real().poll();
  }
  override ioctl(t: Task, req: number, arg: number): number {
    return this.real().ioctl(t, req, arg);
  }
  override truncate(size: number): void {
    this.real().truncate(size);
  }
  override fsync(): void {
    this.real().fsync();
  }
  override fallocate(mode: number, off: number, len: number): void {
    this.real().fallocate(mode, off, len);
  }
  /** Read-only on the lower layer: the lower's own pages (hostfs: the host file). */
  override mmapSource(writable: boolean): MmapSource {
    return this.real().mmapSource(writable);
  }
  protected override release(): void {
    this.inner.unref();
  }
}

/** An open directory: getdents sees the merged listing. */
export class OverlayDirFile extends File {
  constructor(readonly node: OverlayInode, flags: number) {
    super(flags);
  }
  stat(): Stat {
    return this.node.getattr();
  }
  override readdir(): DirEntry[] {
    if (this.flags & O_PATH) throw new Errno(EBADF);
    return this.node.readdir();
  }
  override read(_t: Task, _len: number): Buffer {
    throw new Errno(EISDIR);
  }
  override pread(_t: Task, _len: number, _off: number): Buffer {
    throw new Errno(EISDIR);
  }
}
