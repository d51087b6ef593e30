// An open file description (struct file): what fds point to, shared by dup and fork.
import { Errno } from '../errno.js';
import { EBADF, EINVAL, ENOTTY, ESPIPE, ENODEV, ENOTDIR, EISDIR } from '../abi/errno.js';
import { O_ACCMODE, O_RDONLY, O_WRONLY, O_PATH, SEEK_SET, SEEK_CUR, SEEK_END, S_IFMT, S_IFDIR } from '../abi/fcntl.js';
import { WaitQueue } from '../sched/wait-queue.js';
import type { Stat, Inode, DirEntry } from './inode.js';
import type { Task } from '../task/task.js';
import type { Path } from './path.js';

export const POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10,
  POLLNVAL = 0x20, POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLRDHUP = 0x2000;

/** Where a mapping of this file gets its pages: a host fd held by the kernel. */
export interface MmapSource { hostFd: number; writable: boolean; hostPath?: string }

export abstract class File {
  private refs = 1;
  pos = 0;
  /** Status flags (access mode, O_APPEND, O_NONBLOCK, …) as open(2) and F_SETFL see them. */
  flags: number;
  /** The path it was opened by, for fstat-less introspection (/proc/pid/fd, fchdir, *at). */
  path: Path | null = null;
  readonly waitQueue = new WaitQueue();
  /** Cursor for getdents64 over a directory snapshot. */
  dirents: DirEntry[] | null = null;
  /** Set by the lock table when this file holds flock or record locks. */
  lockRelease: (() => void) | null = null;

  constructor(flags: number) {
    this.flags = flags;
  }

  get readable(): boolean {
    return (this.flags & O_PATH) === 0 && (this.flags & O_ACCMODE) !== O_WRONLY;
  }
  get writable(): boolean {
    return (this.flags & O_PATH) === 0 && (this.flags & O_ACCMODE) !== O_RDONLY;
  }

  get inode(): Inode | null {
    return this.path?.dentry.inode ?? null;
  }

  ref(): this {
    this.refs++;
    return this;
  }
  /** Drops one reference; the last one releases the file. */
  unref(): void {
    if (--this.refs === 0) {
      this.lockRelease?.();
      this.release();
    }
  }

  abstract stat(): Stat;

  /** Reads at the file position. Throws EAGAIN when it would block. */
  read(_t: Task, _len: number): Buffer {
    throw new Errno(EINVAL);
  }
  write(_t: Task, _data: Buffer): number {
    throw new Errno(EINVAL);
  }
  pread(_t: Task, _len: number, _off: number): Buffer {
    throw new Errno(ESPIPE);
  }
  pwrite(_t: Task, _data: Buffer, _off: number): number {
    throw new Errno(ESPIPE);
  }
  seek(off: number, whence: number): number {
    let base: number;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = this.pos; break;
      case SEEK_END: base = this.stat().size; break;
      default: throw new Errno(EINVAL);
    }
    const n = base + off;
    if (n < 0) throw new Errno(EINVAL);
    this.pos = n;
    return n;
  }
  /** Readiness as poll(2) events. */
  poll(): number {
    return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
  }
  ioctl(_t: Task, _req: number, _arg: number): number {
    throw new Errno(ENOTTY);
  }
  readdir(): DirEntry[] {
    const mode = this.stat().mode & S_IFMT;
    throw new Errno(mode === S_IFDIR ? EBADF : ENOTDIR);
  }
  truncate(_size: number): void {
    throw new Errno(EINVAL);
  }
  fsync(): void {}
  fallocate(_mode: number, _off: number, _len: number): void {
    throw new Errno(ENODEV);
  }
  /** For mmap: a host fd with this file's bytes. */
  mmapSource(_writable: boolean): MmapSource {
    throw new Errno(ENODEV);
  }
  /** Called once when the last reference goes. */
  protected release(): void {}

  /** Whether this is a directory (for EISDIR checks on write). */
  isDirectory(): boolean {
    return (this.stat().mode & S_IFMT) === S_IFDIR;
  }
}

export function assertNotDir(f: File): void {
  if (f.isDirectory()) throw new Errno(EISDIR);
}
