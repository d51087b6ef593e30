// Host file calls for hostfs and the page cache (UML's hostfs_user.c): thin, synchronous,
// and every failure turned into an Errno carrying the host's errno.
import { EIO } from '../kernel/abi/errno.js';
import * as fs from 'node:fs';
import { Errno } from '../kernel/errno.js';
import * as libc from './libc.js';
import type { Stat, StatFs, Timespec, DirEntry } from '../kernel/fs/inode.js';

export function toErrno(e: unknown): Errno {
  if (e instanceof Errno) return e;
  const n = (e as { errno?: number }).errno;
  if (typeof n === 'number') return new Errno(Math.abs(n));
  return new Errno(EIO, String(e));
}

/** Runs a host call, converting Node's errors into Errno. */
export function host<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toErrno(e);
  }
}

function ts(ns: bigint): Timespec {
  return { sec: Number(ns / 1000000000n), nsec: Number(ns % 1000000000n) };
}

export function statFromHost(s: fs.BigIntStats): Stat {
  return {
    dev: Number(s.dev), ino: Number(s.ino), mode: Number(s.mode), nlink: Number(s.nlink),
    uid: Number(s.uid), gid: Number(s.gid), rdev: Number(s.rdev), size: Number(s.size),
    blksize: Number(s.blksize), blocks: Number(s.blocks),
    atime: ts(s.atimeNs), mtime: ts(s.mtimeNs), ctime: ts(s.ctimeNs), btime: ts(s.birthtimeNs),
  };
}

export function lstat(path: string): Stat {
  return statFromHost(host(() => fs.lstatSync(path, { bigint: true })));
}
export function lstatOrNull(path: string): Stat | null {
  const s = host(() => fs.lstatSync(path, { bigint: true, throwIfNoEntry: false }));
  return s ? statFromHost(s) : null;
}
export function fstat(fd: number): Stat {
  return statFromHost(host(() => fs.fstatSync(fd, { bigint: true })));
}

const SYS_getdents64 = 217;
const direntBuf = Buffer.alloc(65536);
/** Directory entries with their real inode numbers and types (getdents64 on the host). */
export function readdir(path: string): DirEntry[] {
  const fd = host(() => fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
  try {
    const out: DirEntry[] = [];
    const addr = Number(libc.addressOf(direntBuf));
    for (;;) {
      const n = libc.syscall3(SYS_getdents64, fd, addr, direntBuf.length);
      if (n < 0) throw new Errno(libc.errno());
      if (n === 0) break;
      let off = 0;
      while (off < n) {
        const ino = Number(direntBuf.readBigUInt64LE(off));
        const reclen = direntBuf.readUInt16LE(off + 16);
        const type = direntBuf[off + 18]!;
        const end = direntBuf.indexOf(0, off + 19);
        const name = direntBuf.toString('utf8', off + 19, end);
        if (name !== '.' && name !== '..') out.push({ name, ino, type });
        off += reclen;
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

export function open(path: string, flags: number, mode = 0o666): number {
  return host(() => fs.openSync(path, flags, mode));
}
export function close(fd: number): void {
  try { fs.closeSync(fd); } catch { /* already closed */ }
}
export function pread(fd: number, len: number, off: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  const n = host(() => fs.readSync(fd, buf, 0, len, off));
  return n === len ? buf : buf.subarray(0, n);
}
export function pwrite(fd: number, data: Buffer, off: number): number {
  return host(() => fs.writeSync(fd, data, 0, data.length, off));
}
export function ftruncate(fd: number, size: number): void {
  host(() => fs.ftruncateSync(fd, size));
}
export function fsync(fd: number): void {
  host(() => fs.fsyncSync(fd));
}
export function fallocate(fd: number, mode: number, off: number, len: number): void {
  if (libc.fallocateRaw(fd, mode, off, len) < 0) throw new Errno(libc.errno());
}
export function mkdir(path: string, mode: number): void {
  host(() => fs.mkdirSync(path, { mode }));
}
export function rmdir(path: string): void {
  host(() => fs.rmdirSync(path));
}
export function unlink(path: string): void {
  host(() => fs.unlinkSync(path));
}
export function symlink(target: string, path: string): void {
  host(() => fs.symlinkSync(target, path));
}
export function readlink(path: string): string {
  return host(() => fs.readlinkSync(path, { encoding: 'utf8' }));
}
export function link(existing: string, path: string): void {
  host(() => fs.linkSync(existing, path));
}
export function rename(from: string, to: string, flags: number): void {
  if (flags === 0) return host(() => fs.renameSync(from, to));
  if (libc.renameat2(-100, from, -100, to, flags) < 0) throw new Errno(libc.errno());
}
export function mknod(path: string, mode: number, dev: number): void {
  if (libc.mknodRaw(path, mode, dev) < 0) throw new Errno(libc.errno());
}
export function chmod(path: string, mode: number): void {
  host(() => fs.chmodSync(path, mode));
}
export function lchown(path: string, uid: number, gid: number): void {
  host(() => fs.lchownSync(path, uid, gid));
}
export function truncate(path: string, size: number): void {
  host(() => fs.truncateSync(path, size));
}
export function utimens(path: string, atime: Timespec | undefined, mtime: Timespec | undefined): void {
  const UTIME_OMIT = (1 << 30) - 2;
  const b = Buffer.alloc(32);
  b.writeBigInt64LE(BigInt(atime?.sec ?? 0), 0);
  b.writeBigInt64LE(BigInt(atime ? atime.nsec : UTIME_OMIT), 8);
  b.writeBigInt64LE(BigInt(mtime?.sec ?? 0), 16);
  b.writeBigInt64LE(BigInt(mtime ? mtime.nsec : UTIME_OMIT), 24);
  if (libc.utimensatRaw(-100, path, b, 0x100 /* AT_SYMLINK_NOFOLLOW */) < 0) throw new Errno(libc.errno());
}
export function statfs(path: string): StatFs {
  const b = Buffer.alloc(120);
  if (libc.statfsRaw(path, b) < 0) throw new Errno(libc.errno());
  const n = (o: number) => Number(b.readBigInt64LE(o));
  return { type: n(0), bsize: n(8), blocks: n(16), bfree: n(24), bavail: n(32), files: n(40), ffree: n(48), namelen: n(64), frsize: n(72), flags: n(80) };
}
export function getxattr(path: string, name: string): Buffer | null {
  const n = libc.lgetxattr(path, name, null, 0);
  if (n < 0) { const e = libc.errno(); if (e === 61 /* ENODATA */) return null; throw new Errno(e); }
  const b = Buffer.alloc(n);
  const m = libc.lgetxattr(path, name, b, n);
  if (m < 0) throw new Errno(libc.errno());
  return b.subarray(0, m);
}
export function setxattr(path: string, name: string, value: Buffer, flags: number): void {
  if (libc.lsetxattr(path, name, value, value.length, flags) < 0) throw new Errno(libc.errno());
}
export function listxattr(path: string): string[] {
  const n = libc.llistxattr(path, null, 0);
  if (n < 0) throw new Errno(libc.errno());
  if (n === 0) return [];
  const b = Buffer.alloc(n);
  const m = libc.llistxattr(path, b, n);
  if (m < 0) throw new Errno(libc.errno());
  return b.toString('utf8', 0, m).split('\0').filter((s) => s);
}
export function removexattr(path: string, name: string): void {
  if (libc.lremovexattr(path, name) < 0) throw new Errno(libc.errno());
}
export function memfd(name: string): number {
  const fd = libc.memfdCreate(name, 1 /* MFD_CLOEXEC */);
  if (fd < 0) throw new Errno(libc.errno());
  return fd;
}
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') { waitWritable(fd); continue; }
      throw toErrno(e);
    }
  }
}
/** Blocks until a non-blocking host fd can take more output. */
export function waitWritable(fd: number): void {
  const p = Buffer.alloc(8);
  p.writeInt32LE(fd, 0);
  p.writeInt16LE(4 /* POLLOUT */, 4);
  libc.pollRaw(p, 1, -1);
}

/** Host open(2) flags the kernel side needs. */
export const O = {
  RDONLY: fs.constants.O_RDONLY,
  WRONLY: fs.constants.O_WRONLY,
  RDWR: fs.constants.O_RDWR,
  CREAT_EXCL_WRONLY: fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY,
};
/** lseek(2) on a host fd; SEEK_DATA/SEEK_HOLE find the data of sparse files (tmpfs memfds). */
export function lseek(fd: number, off: number, whence: number): number {
  const r = libc.lseek(fd, off, whence);
  if (r < 0) throw new Errno(libc.errno());
  return r;
}

/**
 * A whole-file fcntl lock, as UML's os_lock_file takes on disk images: a write lock for a
 * writable device, a read lock otherwise; fails (EAGAIN/EACCES) if another holds one.
 */
export function lockWholeFile(fd: number, write: boolean): void {
  const F_SETLK = 6, F_RDLCK = 0, F_WRLCK = 1;
  const fl = Buffer.alloc(32);
  fl.writeInt16LE(write ? F_WRLCK : F_RDLCK, 0);
  fl.writeInt16LE(0, 2); // SEEK_SET, start 0, len 0 = whole file
  if (libc.fcntlPtr(fd, F_SETLK, fl) < 0) throw new Errno(libc.errno());
}
