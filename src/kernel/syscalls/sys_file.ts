// File calls: open/close, read/write and friends, stat, directories, the namespace
// operations, fcntl and the generic ioctls, cwd and root.
import type { HandlerMap } from './handler.js';
import { blockingIo } from './handler.js';
import type { Task, Block } from '../task/task.js';
import { Errno } from '../errno.js';
import { EBADF, EINVAL, EISDIR, ENODATA, ENOTDIR, EOPNOTSUPP, EPERM, ERANGE, EROFS, ESPIPE } from '../abi/errno.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_FOLLOW, AT_EACCESS,
  F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW,
  F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_GETOWN, F_SETOWN, F_SETSIG, F_GETSIG, FD_CLOEXEC,
  O_ACCMODE, O_APPEND, O_ASYNC, O_CLOEXEC, O_CREAT, O_DIRECT, O_DSYNC,
  O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NONBLOCK, O_PATH, O_SYNC, O_TRUNC, O_WRONLY,
  S_IFMT, S_IFREG, UTIME_NOW, UTIME_OMIT, F_UNLCK, F_SETLEASE, F_GETLEASE,
  F_GETPIPE_SZ, F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS, S_IFCHR, S_IFBLK,
} from '../abi/fcntl.js';
import * as vfs from '../fs/vfs.js';
import { isDir } from '../fs/namei.js';
import { encodeStat, encodeStatx, encodeStatfs } from '../fs/stat-abi.js';
import type { File } from '../fs/file.js';
import type { Timespec } from '../fs/inode.js';
import { fileLocks } from '../fs/locks.js';
import { OpenWouldBlock } from '../fs/fifo-opener.js';

/** At most this much moves in one read/write (Linux's MAX_RW_COUNT is ~2 GiB; we go lower to bound memory). */
const MAX_IO = 16 << 20;
const OPEN_FLAGS_KEPT = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_NOATIME | O_PATH | O_ASYNC;
const FIONCLEX = 0x5450, FIOCLEX = 0x5451, FIONBIO = 0x5421, FIOASYNC = 0x5452;

function path(t: Task, addr: number): string {
  return t.mem.readCString(addr);
}

function readable(t: Task, fd: number): File {
  const f = t.fds.get(fd);
  if (!f.readable) throw new Errno(EBADF);
  return f;
}
function writable(t: Task, fd: number): File {
  const f = t.fds.get(fd);
  if (!f.writable) throw new Errno(EBADF);
  return f;
}

function doOpen(t: Task, dirfd: number, pathname: string, flags: number, mode: number): number | Block {
  let f: File;
  try {
    f = vfs.openAt(t, dirfd, pathname, flags | O_LARGEFILE, mode);
  } catch (e) {
    if (e instanceof OpenWouldBlock) return e.block;
    throw e;
  }
  f.flags = (flags & OPEN_FLAGS_KEPT) | O_LARGEFILE;
  if (!(flags & O_NOCTTY)) t.kernel.console?.maybeAcquireControllingTty(t, f);
  return t.fds.install(f, (flags & O_CLOEXEC) !== 0);
}

function readIov(t: Task, iov: number, cnt: number): { base: number; len: number }[] {
  if (cnt < 0 || cnt > 1024) throw new Errno(EINVAL);
  if (cnt === 0) return [];
  const b = t.mem.read(iov, cnt * 16);
  const out = [];
  for (let i = 0; i < cnt; i++) {
    const len = Number(b.readBigInt64LE(i * 16 + 8));
    if (len < 0) throw new Errno(EINVAL);
    out.push({ base: Number(b.readBigUInt64LE(i * 16)), len });
  }
  return out;
}

function scatter(t: Task, iovs: { base: number; len: number }[], data: Buffer): void {
  let off = 0;
  for (const v of iovs) {
    if (off >= data.length) break;
    const n = Math.min(v.len, data.length - off);
    t.mem.write(v.base, data.subarray(off, off + n));
    off += n;
  }
}

function gather(t: Task, iovs: { base: number; len: number }[]): Buffer {
  return Buffer.concat(iovs.filter((v) => v.len > 0).map((v) => t.mem.read(v.base, Math.min(v.len, MAX_IO))));
}

function doRead(t: Task, f: File, len: number, off: number | null): number | Buffer {
  if (len < 0) throw new Errno(EINVAL);
  const n = Math.min(len, MAX_IO);
  return off === null ? f.read(t, n) : f.pread(t, n, off);
}

function statOf(t: Task, dirfd: number, pathname: string, flags: number) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000)) throw new Errno(EINVAL);
  if (pathname === '' && (flags & AT_EMPTY_PATH)) {
    if (dirfd === AT_FDCWD) return vfs.stat(t.fs.cwd);
    return t.fds.get(dirfd).stat();
  }
  return vfs.stat(vfs.lookupAt(t, dirfd, pathname, !(flags & AT_SYMLINK_NOFOLLOW), flags));
}

function readTimes(t: Task, addr: number): { atime?: Timespec; mtime?: Timespec } {
  const now = nowTs();
  if (!addr) return { atime: now, mtime: now };
  const b = t.mem.read(addr, 32);
  const one = (o: number): Timespec | undefined => {
    const nsec = Number(b.readBigInt64LE(o + 8));
    if (nsec === UTIME_OMIT) return undefined;
    if (nsec === UTIME_NOW) return now;
    if (nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
    return { sec: Number(b.readBigInt64LE(o)), nsec };
  };
  return { atime: one(0), mtime: one(16) };
}

export function nowTs(): Timespec {
  const ns = BigInt(Date.now()) * 1000000n + (process.hrtime.bigint() % 1000000n);
  return { sec: Number(ns / 1000000000n), nsec: Number(ns % 1000000000n) };
}

function setattrPath(t: Task, dirfd: number, pathname: string, follow: boolean, flags: number, attr: Parameters<import('../fs/inode.js').Inode['setattr']>[0]): number {
  const p = vfs.lookupAt(t, dirfd, pathname, follow, flags);
  if (p.mount.readOnly) throw new Errno(EROFS);
  p.dentry.inode.setattr(attr);
  return 0;
}

function checkOwnerOrRoot(t: Task, uid: number): void {
  if (!t.cred.fsRoot && t.cred.fsuid !== uid) throw new Errno(EPERM);
}

function chmodPath(t: Task, dirfd: number, pathname: string, mode: number, flags: number): number {
  const p = vfs.lookupAt(t, dirfd, pathname, !(flags & AT_SYMLINK_NOFOLLOW), flags);
  checkOwnerOrRoot(t, vfs.stat(p).uid);
  if (p.mount.readOnly) throw new Errno(EROFS);
  p.dentry.inode.setattr({ mode: mode & 0o7777 });
  return 0;
}

function chownPath(t: Task, dirfd: number, pathname: string, uid: number, gid: number, flags: number): number {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new Errno(EINVAL);
  const p = vfs.lookupAt(t, dirfd, pathname, !(flags & AT_SYMLINK_NOFOLLOW), flags);
  if (!t.cred.fsRoot) throw new Errno(EPERM);
  if (p.mount.readOnly) throw new Errno(EROFS);
  p.dentry.inode.setattr({ uid: uid === -1 ? undefined : uid >>> 0, gid: gid === -1 ? undefined : gid >>> 0 });
  return 0;
}

/** getdents64, or with legacy set the old getdents (struct linux_dirent: no type byte after
 *  the offset; the type is the record's last byte, after the name's NUL). */
function getdents(t: Task, fd: number, addr: number, count: number, legacy = false): number {
  const f = t.fds.get(fd);
  if (!f.path || (f.flags & O_PATH)) throw new Errno(EBADF);
  if (!f.isDirectory()) throw new Errno(ENOTDIR);
  if (f.pos === 0 || !f.dirents) {
    const self = f.stat();
    f.dirents = [{ name: '.', ino: self.ino, type: 4 }, { name: '..', ino: self.ino, type: 4 }, ...f.readdir()];
  }
  const out: Buffer[] = [];
  let used = 0;
  while (f.pos < f.dirents.length) {
    const e = f.dirents[f.pos]!;
    const name = Buffer.from(e.name);
    const reclen = Math.ceil(((legacy ? 20 : 19) + name.length + 1) / 8) * 8;
    if (used + reclen > count) break;
    const rec = Buffer.alloc(reclen);
    rec.writeBigUInt64LE(BigInt(e.ino), 0);
    rec.writeBigInt64LE(BigInt(f.pos + 1), 8);
    rec.writeUInt16LE(reclen, 16);
    if (legacy) {
      name.copy(rec, 18);
      rec[reclen - 1] = e.type;
    } else {
      rec[18] = e.type;
      name.copy(rec, 19);
    }
    out.push(rec);
    used += reclen;
    f.pos++;
  }
  if (out.length === 0 && f.pos < f.dirents.length) throw new Errno(EINVAL);
  if (used) t.mem.write(addr, Buffer.concat(out));
  return used;
}

function fcntl(t: Task, fd: number, cmd: number, arg: number): number | Block {
  const e = t.fds.entry(fd);
  if (!e) throw new Errno(EBADF);
  const f = e.file;
  switch (cmd) {
    case F_DUPFD: case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= t.fds.limit) throw new Errno(EINVAL);
      return t.fds.install(f.ref(), cmd === F_DUPFD_CLOEXEC, arg);
    case F_GETFD: return e.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: e.cloexec = (arg & FD_CLOEXEC) !== 0; return 0;
    case F_GETFL: return f.flags;
    case F_SETFL: {
      const changeable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
      f.flags = (f.flags & ~changeable) | (arg & changeable);
      f.waitQueue.wake();
      return 0;
    }
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
      return fileLocks.fcntl(t, f, cmd, arg);
    case F_GETOWN: return 0;
    case F_SETOWN: case F_SETSIG: return 0;
    case F_GETSIG: return 0;
    case F_SETLEASE: return -EINVAL;
    case F_GETLEASE: return F_UNLCK;
    case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_ADD_SEALS: case F_GET_SEALS: {
      const ext = (f as unknown as { fcntl?: (cmd: number, arg: number) => number }).fcntl;
      if (!ext) throw new Errno(cmd === F_ADD_SEALS || cmd === F_GET_SEALS ? EINVAL : EBADF);
      return ext.call(f, cmd, arg);
    }
    default: throw new Errno(EINVAL);
  }
}

export const fileCalls: HandlerMap = {
  read: (t, a) => {
    const f = readable(t, a[0]! | 0);
    return blockingIo(f, () => {
      const b = doRead(t, f, a[2]!, null) as Buffer;
      if (b.length) t.mem.write(a[1]!, b);
      return b.length;
    });
  },
  pread64: (t, a) => {
    const f = readable(t, a[0]! | 0);
    if (a[3]! < 0) throw new Errno(EINVAL);
    return blockingIo(f, () => {
      const b = doRead(t, f, a[2]!, a[3]!) as Buffer;
      if (b.length) t.mem.write(a[1]!, b);
      return b.length;
    });
  },
  readv: (t, a) => {
    const f = readable(t, a[0]! | 0);
    const iovs = readIov(t, a[1]!, a[2]! | 0);
    const total = iovs.reduce((s, v) => s + v.len, 0);
    return blockingIo(f, () => {
      const b = doRead(t, f, total, null) as Buffer;
      scatter(t, iovs, b);
      return b.length;
    });
  },
  preadv: (t, a) => {
    const f = readable(t, a[0]! | 0);
    const iovs = readIov(t, a[1]!, a[2]! | 0);
    const total = iovs.reduce((s, v) => s + v.len, 0);
    return blockingIo(f, () => {
      const b = doRead(t, f, total, a[3]!) as Buffer;
      scatter(t, iovs, b);
      return b.length;
    });
  },
  preadv2: (t, a) => {
    const f = readable(t, a[0]! | 0);
    const iovs = readIov(t, a[1]!, a[2]! | 0);
    const total = iovs.reduce((s, v) => s + v.len, 0);
    const off = a[3]! === -1 ? null : a[3]!;
    return blockingIo(f, () => {
      const b = doRead(t, f, total, off) as Buffer;
      scatter(t, iovs, b);
      return b.length;
    });
  },
  write: (t, a) => {
    const f = writable(t, a[0]! | 0);
    const len = a[2]!;
    if (len < 0) throw new Errno(EINVAL);
    const data = t.mem.read(a[1]!, Math.min(len, MAX_IO));
    return blockingIo(f, () => f.write(t, data));
  },
  pwrite64: (t, a) => {
    const f = writable(t, a[0]! | 0);
    if (a[3]! < 0) throw new Errno(EINVAL);
    const data = t.mem.read(a[1]!, Math.min(a[2]!, MAX_IO));
    return blockingIo(f, () => f.pwrite(t, data, a[3]!));
  },
  writev: (t, a) => {
    const f = writable(t, a[0]! | 0);
    const data = gather(t, readIov(t, a[1]!, a[2]! | 0));
    return blockingIo(f, () => f.write(t, data));
  },
  pwritev: (t, a) => {
    const f = writable(t, a[0]! | 0);
    const data = gather(t, readIov(t, a[1]!, a[2]! | 0));
    return blockingIo(f, () => f.pwrite(t, data, a[3]!));
  },
  pwritev2: (t, a) => {
    const f = writable(t, a[0]! | 0);
    const data = gather(t, readIov(t, a[1]!, a[2]! | 0));
    return blockingIo(f, () => (a[3]! === -1 ? f.write(t, data) : f.pwrite(t, data, a[3]!)));
  },

  open: (t, a) => doOpen(t, AT_FDCWD, path(t, a[0]!), a[1]! | 0, a[2]! | 0),
  openat: (t, a) => doOpen(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0, a[3]! | 0),
  creat: (t, a) => doOpen(t, AT_FDCWD, path(t, a[0]!), O_CREAT | O_WRONLY | O_TRUNC, a[1]! | 0),
  openat2: (t, a) => {
    const size = a[3]!;
    if (size < 24) throw new Errno(EINVAL);
    const how = t.mem.read(a[2]!, 24);
    const resolve = Number(how.readBigUInt64LE(16));
    if (resolve) throw new Errno(EINVAL);
    return doOpen(t, a[0]! | 0, path(t, a[1]!), Number(how.readBigUInt64LE(0)), Number(how.readBigUInt64LE(8)));
  },
  close: (t, a) => {
    t.fds.close(a[0]! | 0);
    return 0;
  },
  close_range: (t, a) => {
    const lo = a[0]! >>> 0, hi = a[1]! >>> 0, flags = a[2]! | 0;
    if (lo > hi || (flags & ~(4 | 2))) throw new Errno(EINVAL);
    for (const [fd, e] of t.fds.entries()) {
      if (fd < lo || fd > hi) continue;
      if (flags & 4 /* CLOSE_RANGE_CLOEXEC */) e.cloexec = true;
      else t.fds.close(fd);
    }
    return 0;
  },
  lseek: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    return f.seek(a[1]!, a[2]! | 0);
  },
  dup: (t, a) => t.fds.install(t.fds.get(a[0]! | 0).ref(), false),
  dup2: (t, a) => {
    const o = a[0]! | 0, n = a[1]! | 0;
    const f = t.fds.get(o);
    if (o === n) return n;
    t.fds.installAt(n, f.ref(), false);
    return n;
  },
  dup3: (t, a) => {
    const o = a[0]! | 0, n = a[1]! | 0, flags = a[2]! | 0;
    if (flags & ~O_CLOEXEC) throw new Errno(EINVAL);
    if (o === n) throw new Errno(EINVAL);
    const f = t.fds.get(o);
    t.fds.installAt(n, f.ref(), (flags & O_CLOEXEC) !== 0);
    return n;
  },
  fcntl: (t, a) => fcntl(t, a[0]! | 0, a[1]! | 0, a[2]!),
  ioctl: (t, a) => {
    const fd = a[0]! | 0;
    const req = a[1]! >>> 0;
    const e = t.fds.entry(fd);
    if (!e) throw new Errno(EBADF);
    switch (req) {
      case FIOCLEX: e.cloexec = true; return 0;
      case FIONCLEX: e.cloexec = false; return 0;
      case FIONBIO: {
        const on = t.mem.i32(a[2]!) !== 0;
        e.file.flags = on ? e.file.flags | O_NONBLOCK : e.file.flags & ~O_NONBLOCK;
        return 0;
      }
      case FIOASYNC: return 0;
    }
    if (e.file.flags & O_PATH) throw new Errno(EBADF);
    return e.file.ioctl(t, req, a[2]!);
  },

  stat: (t, a) => { t.mem.write(a[1]!, encodeStat(statOf(t, AT_FDCWD, path(t, a[0]!), 0))); return 0; },
  lstat: (t, a) => { t.mem.write(a[1]!, encodeStat(statOf(t, AT_FDCWD, path(t, a[0]!), AT_SYMLINK_NOFOLLOW))); return 0; },
  fstat: (t, a) => { t.mem.write(a[1]!, encodeStat(t.fds.get(a[0]! | 0).stat())); return 0; },
  newfstatat: (t, a) => { t.mem.write(a[2]!, encodeStat(statOf(t, a[0]! | 0, path(t, a[1]!), a[3]! | 0))); return 0; },
  statx: (t, a) => {
    const flags = a[2]! | 0;
    const st = statOf(t, a[0]! | 0, path(t, a[1]!), flags & ~0x6000);
    t.mem.write(a[4]!, encodeStatx(st, a[3]! >>> 0, 1));
    return 0;
  },
  statfs: (t, a) => {
    const p = vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true);
    t.mem.write(a[1]!, encodeStatfs(p.mount.fs.statfs(), p.mount.fs.dev));
    return 0;
  },
  fstatfs: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    const fs = f.path?.mount.fs;
    if (!fs) {
      t.mem.write(a[1]!, encodeStatfs({ type: 0x50495045, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0 }, 0));
      return 0;
    }
    t.mem.write(a[1]!, encodeStatfs(fs.statfs(), fs.dev));
    return 0;
  },
  access: (t, a) => { vfs.accessCheck(t, vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true), a[1]! | 0, true); return 0; },
  faccessat: (t, a) => { vfs.accessCheck(t, vfs.lookupAt(t, a[0]! | 0, path(t, a[1]!), true), a[2]! | 0, true); return 0; },
  faccessat2: (t, a) => {
    const flags = a[3]! | 0;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new Errno(EINVAL);
    vfs.accessCheck(t, vfs.lookupAt(t, a[0]! | 0, path(t, a[1]!), !(flags & AT_SYMLINK_NOFOLLOW), flags), a[2]! | 0, !(flags & AT_EACCESS));
    return 0;
  },
  getdents64: (t, a) => getdents(t, a[0]! | 0, a[1]!, a[2]! >>> 0),
  getdents: (t, a) => getdents(t, a[0]! | 0, a[1]!, a[2]! >>> 0, true),

  mkdir: (t, a) => { vfs.mkdirAt(t, AT_FDCWD, path(t, a[0]!), a[1]! | 0); return 0; },
  mkdirat: (t, a) => { vfs.mkdirAt(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0); return 0; },
  mknod: (t, a) => { mknod(t, AT_FDCWD, path(t, a[0]!), a[1]! >>> 0, a[2]! >>> 0); return 0; },
  mknodat: (t, a) => { mknod(t, a[0]! | 0, path(t, a[1]!), a[2]! >>> 0, a[3]! >>> 0); return 0; },
  rmdir: (t, a) => { vfs.unlinkAt(t, AT_FDCWD, path(t, a[0]!), true); return 0; },
  unlink: (t, a) => { vfs.unlinkAt(t, AT_FDCWD, path(t, a[0]!), false); return 0; },
  unlinkat: (t, a) => {
    const flags = a[2]! | 0;
    if (flags & ~AT_REMOVEDIR) throw new Errno(EINVAL);
    vfs.unlinkAt(t, a[0]! | 0, path(t, a[1]!), (flags & AT_REMOVEDIR) !== 0);
    return 0;
  },
  rename: (t, a) => { vfs.renameAt(t, AT_FDCWD, path(t, a[0]!), AT_FDCWD, path(t, a[1]!), 0); return 0; },
  renameat: (t, a) => { vfs.renameAt(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0, path(t, a[3]!), 0); return 0; },
  renameat2: (t, a) => { vfs.renameAt(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0, path(t, a[3]!), a[4]! >>> 0); return 0; },
  link: (t, a) => { vfs.linkAt(t, AT_FDCWD, path(t, a[0]!), AT_FDCWD, path(t, a[1]!), 0); return 0; },
  linkat: (t, a) => {
    const flags = a[4]! | 0;
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) throw new Errno(EINVAL);
    vfs.linkAt(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0, path(t, a[3]!), flags);
    return 0;
  },
  symlink: (t, a) => { vfs.symlinkAt(t, path(t, a[0]!), AT_FDCWD, path(t, a[1]!)); return 0; },
  symlinkat: (t, a) => { vfs.symlinkAt(t, path(t, a[0]!), a[1]! | 0, path(t, a[2]!)); return 0; },
  readlink: (t, a) => readlinkOut(t, vfs.readlinkAt(t, AT_FDCWD, path(t, a[0]!)), a[1]!, a[2]! | 0),
  readlinkat: (t, a) => readlinkOut(t, vfs.readlinkAt(t, a[0]! | 0, path(t, a[1]!)), a[2]!, a[3]! | 0),
  chmod: (t, a) => chmodPath(t, AT_FDCWD, path(t, a[0]!), a[1]!, 0),
  fchmod: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    if (!f.path) throw new Errno(EBADF);
    checkOwnerOrRoot(t, f.stat().uid);
    f.path.dentry.inode.setattr({ mode: a[1]! & 0o7777 });
    return 0;
  },
  fchmodat: (t, a) => chmodPath(t, a[0]! | 0, path(t, a[1]!), a[2]!, a[3]! | 0),
  chown: (t, a) => chownPath(t, AT_FDCWD, path(t, a[0]!), a[1]! | 0, a[2]! | 0, 0),
  lchown: (t, a) => chownPath(t, AT_FDCWD, path(t, a[0]!), a[1]! | 0, a[2]! | 0, AT_SYMLINK_NOFOLLOW),
  fchown: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    if (!f.path) throw new Errno(EBADF);
    if (!t.cred.fsRoot) throw new Errno(EPERM);
    const uid = a[1]! | 0, gid = a[2]! | 0;
    f.path.dentry.inode.setattr({ uid: uid === -1 ? undefined : uid >>> 0, gid: gid === -1 ? undefined : gid >>> 0 });
    return 0;
  },
  fchownat: (t, a) => chownPath(t, a[0]! | 0, path(t, a[1]!), a[2]! | 0, a[3]! | 0, a[4]! | 0),
  utimensat: (t, a) => {
    const flags = a[3]! | 0;
    const times = readTimes(t, a[2]!);
    if (a[1] === 0) {
      const f = t.fds.get(a[0]! | 0);
      if (!f.path) throw new Errno(EBADF);
      f.path.dentry.inode.setattr(times);
      return 0;
    }
    return setattrPath(t, a[0]! | 0, path(t, a[1]!), !(flags & AT_SYMLINK_NOFOLLOW), flags, times);
  },
  utimes: (t, a) => {
    let times: { atime?: Timespec; mtime?: Timespec };
    if (!a[1]) times = { atime: nowTs(), mtime: nowTs() };
    else {
      const b = t.mem.read(a[1]!, 32);
      times = { atime: { sec: Number(b.readBigInt64LE(0)), nsec: Number(b.readBigInt64LE(8)) * 1000 }, mtime: { sec: Number(b.readBigInt64LE(16)), nsec: Number(b.readBigInt64LE(24)) * 1000 } };
    }
    return setattrPath(t, AT_FDCWD, path(t, a[0]!), true, 0, times);
  },
  utime: (t, a) => {
    let times: { atime?: Timespec; mtime?: Timespec };
    if (!a[1]) times = { atime: nowTs(), mtime: nowTs() };
    else {
      const b = t.mem.read(a[1]!, 16);
      times = { atime: { sec: Number(b.readBigInt64LE(0)), nsec: 0 }, mtime: { sec: Number(b.readBigInt64LE(8)), nsec: 0 } };
    }
    return setattrPath(t, AT_FDCWD, path(t, a[0]!), true, 0, times);
  },
  truncate: (t, a) => {
    if (a[1]! < 0) throw new Errno(EINVAL);
    const p = vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true);
    if (isDir(p)) throw new Errno(EISDIR);
    vfs.accessCheck(t, p, 2, false);
    p.dentry.inode.setattr({ size: a[1]! });
    return 0;
  },
  ftruncate: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    if (a[1]! < 0) throw new Errno(EINVAL);
    if (!f.writable) throw new Errno(EINVAL);
    if ((f.stat().mode & S_IFMT) !== S_IFREG) throw new Errno(EINVAL);
    f.truncate(a[1]!);
    return 0;
  },
  fallocate: (t, a) => {
    const f = writable(t, a[0]! | 0);
    if (a[2]! < 0 || a[3]! <= 0) throw new Errno(EINVAL);
    f.fallocate(a[1]! | 0, a[2]!, a[3]!);
    return 0;
  },
  fsync: (t, a) => { t.fds.get(a[0]! | 0).fsync(); return 0; },
  fdatasync: (t, a) => { t.fds.get(a[0]! | 0).fsync(); return 0; },
  sync: (t) => { for (const m of t.kernel.mounts.all()) m.fs.sync?.(); return 0; },
  syncfs: (t, a) => { t.fds.get(a[0]! | 0).path?.mount.fs.sync?.(); return 0; },
  sync_file_range: (t, a) => { t.fds.get(a[0]! | 0); return 0; },
  fadvise64: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    if ((f.stat().mode & S_IFMT) === 0o10000) throw new Errno(ESPIPE);
    return 0;
  },
  readahead: (t, a) => { t.fds.get(a[0]! | 0); return 0; },
  flock: (t, a) => fileLocks.flock(t, t.fds.get(a[0]! | 0), a[1]! | 0),

  sendfile: (t, a) => copyBetween(t, a[1]! | 0, a[0]! | 0, a[2]!, null, a[3]!),
  copy_file_range: (t, a) => {
    if (a[5]) throw new Errno(EINVAL);
    const inF = t.fds.get(a[0]! | 0), outF = t.fds.get(a[2]! | 0);
    if ((inF.stat().mode & S_IFMT) !== S_IFREG || (outF.stat().mode & S_IFMT) !== S_IFREG) throw new Errno(EINVAL);
    return copyBetween(t, a[0]! | 0, a[2]! | 0, a[1]!, a[3]!, a[4]!);
  },

  getcwd: (t, a) => {
    const s = Buffer.from(t.kernel.mounts.pathString(t.fs.cwd, t.fs.root) + '\0');
    if ((a[1]! | 0) < s.length) throw new Errno(ERANGE);
    t.mem.write(a[0]!, s);
    return s.length;
  },
  chdir: (t, a) => {
    const p = vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true);
    if (!isDir(p)) throw new Errno(ENOTDIR);
    vfs.accessCheck(t, p, 1, false);
    t.fs.cwd = p;
    return 0;
  },
  fchdir: (t, a) => {
    const f = t.fds.get(a[0]! | 0);
    if (!f.path) throw new Errno(EBADF);
    if (!isDir(f.path)) throw new Errno(ENOTDIR);
    t.fs.cwd = f.path;
    return 0;
  },
  chroot: (t, a) => {
    if (t.cred.euid !== 0) throw new Errno(EPERM);
    const p = vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true);
    if (!isDir(p)) throw new Errno(ENOTDIR);
    t.fs.root = p;
    return 0;
  },

  getxattr: (t, a) => xattrGet(t, path(t, a[0]!), true, t.mem.readCString(a[1]!), a[2]!, a[3]!),
  lgetxattr: (t, a) => xattrGet(t, path(t, a[0]!), false, t.mem.readCString(a[1]!), a[2]!, a[3]!),
  fgetxattr: (t, a) => xattrGetInode(t, fdInode(t, a[0]! | 0), t.mem.readCString(a[1]!), a[2]!, a[3]!),
  setxattr: (t, a) => xattrSet(t, vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true).dentry.inode, t.mem.readCString(a[1]!), a[2]!, a[3]!, a[4]! | 0),
  lsetxattr: (t, a) => xattrSet(t, vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), false).dentry.inode, t.mem.readCString(a[1]!), a[2]!, a[3]!, a[4]! | 0),
  fsetxattr: (t, a) => xattrSet(t, fdInode(t, a[0]! | 0), t.mem.readCString(a[1]!), a[2]!, a[3]!, a[4]! | 0),
  listxattr: (t, a) => xattrList(t, vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true).dentry.inode, a[1]!, a[2]!),
  llistxattr: (t, a) => xattrList(t, vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), false).dentry.inode, a[1]!, a[2]!),
  flistxattr: (t, a) => xattrList(t, fdInode(t, a[0]! | 0), a[1]!, a[2]!),
  removexattr: (t, a) => xattrRemove(vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), true).dentry.inode, t.mem.readCString(a[1]!)),
  lremovexattr: (t, a) => xattrRemove(vfs.lookupAt(t, AT_FDCWD, path(t, a[0]!), false).dentry.inode, t.mem.readCString(a[1]!)),
  fremovexattr: (t, a) => xattrRemove(fdInode(t, a[0]! | 0), t.mem.readCString(a[1]!)),
};

function mknod(t: Task, dirfd: number, pathname: string, mode: number, dev: number): void {
  const type = mode & S_IFMT;
  if ((type === S_IFCHR || type === S_IFBLK) && !t.cred.fsRoot) throw new Errno(EPERM);
  vfs.mknodAt(t, dirfd, pathname, mode, dev);
}

function readlinkOut(t: Task, target: string, buf: number, size: number): number {
  if (size <= 0) throw new Errno(EINVAL);
  const b = Buffer.from(target).subarray(0, size);
  t.mem.write(buf, b);
  return b.length;
}

function fdInode(t: Task, fd: number) {
  const f = t.fds.get(fd);
  if (!f.path) throw new Errno(EBADF);
  return f.path.dentry.inode;
}
type AnyInode = import('../fs/inode.js').Inode;
function xattrGet(t: Task, p: string, follow: boolean, name: string, buf: number, size: number): number {
  return xattrGetInode(t, vfs.lookupAt(t, AT_FDCWD, p, follow).dentry.inode, name, buf, size);
}
function xattrGetInode(t: Task, ino: AnyInode, name: string, buf: number, size: number): number {
  if (!ino.getxattr) throw new Errno(EOPNOTSUPP);
  const v = ino.getxattr(name);
  if (!v) throw new Errno(ENODATA);
  if (size === 0) return v.length;
  if (size < v.length) throw new Errno(ERANGE);
  t.mem.write(buf, v);
  return v.length;
}
function xattrSet(t: Task, ino: AnyInode, name: string, val: number, size: number, flags: number): number {
  if (!ino.setxattr) throw new Errno(EOPNOTSUPP);
  if (size < 0 || size > 65536) throw new Errno(ERANGE);
  ino.setxattr(name, size ? t.mem.read(val, size) : Buffer.alloc(0), flags);
  return 0;
}
function xattrList(t: Task, ino: AnyInode, buf: number, size: number): number {
  const names = ino.listxattr ? ino.listxattr() : [];
  const b = Buffer.from(names.map((n) => n + '\0').join(''));
  if (size === 0) return b.length;
  if (size < b.length) throw new Errno(ERANGE);
  t.mem.write(buf, b);
  return b.length;
}
function xattrRemove(ino: AnyInode, name: string): number {
  if (!ino.removexattr) throw new Errno(EOPNOTSUPP);
  ino.removexattr(name);
  return 0;
}

/** sendfile / copy_file_range: through kernel buffers, at most 16 MiB per call. */
function copyBetween(t: Task, inFd: number, outFd: number, offAddr: number, outOffAddr: number | null, count: number): number {
  const inF = readable(t, inFd);
  const outF = writable(t, outFd);
  if (count < 0) throw new Errno(EINVAL);
  const n = Math.min(count, MAX_IO);
  let off = offAddr ? t.mem.i64(offAddr) : null;
  const data = off === null ? inF.read(t, n) : inF.pread(t, n, off);
  if (data.length === 0) return 0;
  let written: number;
  if (outOffAddr) {
    const o = t.mem.i64(outOffAddr);
    written = outF.pwrite(t, data, o);
    t.mem.writeI64(outOffAddr, o + written);
  } else written = outF.write(t, data);
  if (off !== null) { off += written; t.mem.writeI64(offAddr, off); }
  else if (written < data.length) inF.pos -= data.length - written;
  return written;
}

