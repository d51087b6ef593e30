// A file descriptor table: shared between threads (CLONE_FILES), copied by fork.
import { Errno } from '../errno.js';
import { EBADF, EMFILE } from '../abi/errno.js';
import type { File } from './file.js';

export interface FdEntry { file: File; cloexec: boolean }

export class FdTable {
  private readonly fds = new Map<number, FdEntry>();
  limit = 1024;

  get(fd: number): File {
    const e = this.fds.get(fd);
    if (!e) throw new Errno(EBADF);
    return e.file;
  }
  entry(fd: number): FdEntry | undefined {
    return this.fds.get(fd);
  }
  has(fd: number): boolean {
    return this.fds.has(fd);
  }
  /** Installs at the lowest free fd >= min. Takes over the caller's reference. */
  install(file: File, cloexec: boolean, min = 0): number {
    let fd = min;
    while (this.fds.has(fd)) fd++;
    if (fd >= this.limit) {
      file.unref();
      throw new Errno(EMFILE);
    }
    this.fds.set(fd, { file, cloexec });
    return fd;
  }
  /** dup2-style install at an exact fd, closing what was there. */
  installAt(fd: number, file: File, cloexec: boolean): void {
    if (fd < 0 || fd >= this.limit) throw new Errno(EBADF);
    const old = this.fds.get(fd);
    this.fds.set(fd, { file, cloexec });
    old?.file.unref();
  }
  close(fd: number): void {
    const e = this.fds.get(fd);
    if (!e) throw new Errno(EBADF);
    this.fds.delete(fd);
    e.file.unref();
  }
  closeOnExec(): void {
    for (const [fd, e] of this.fds) if (e.cloexec) this.close(fd);
  }
  closeAll(): void {
    for (const fd of [...this.fds.keys()]) this.close(fd);
  }
  fork(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    for (const [fd, e] of this.fds) t.fds.set(fd, { file: e.file.ref(), cloexec: e.cloexec });
    return t;
  }
  entries(): [number, FdEntry][] {
    return [...this.fds.entries()].sort((a, b) => a[0] - b[0]);
  }
}
