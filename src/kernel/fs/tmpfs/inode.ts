// A tmpfs inode (shmem_inode_info): metadata in JavaScript, regular-file bytes in a host memfd
// created on first use. Timestamps, link counts and directory sizes follow mm/shmem.c.
import * as hostFiles from '../../../host/files.js';
import { Errno } from '../../errno.js';
import {
  EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ENXIO, EPERM, EROFS, EXDEV,
  EFBIG, EOPNOTSUPP, ELOOP, EBADF,
} from '../../abi/errno.js';
import {
  S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, S_ISUID, S_ISGID,
  O_PATH, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, dtypeOfMode, SEEK_DATA, SEEK_HOLE,
} from '../../abi/fcntl.js';
import type { DirEntry, Inode, SetAttr, Stat, Timespec } from '../inode.js';
import type { File } from '../file.js';
import type { Cred } from '../../task/cred.js';
import type { Task } from '../../task/task.js';
import type { TmpFs } from './tmpfs.js';
import { PAGE_SIZE } from './options.js';
import { XattrStore } from './xattr.js';
import { currentTime, cmpTime } from './time.js';
import { TmpFile } from './file.js';

/** shmem's fake directory-entry size: an empty directory is 40 bytes, each entry adds 20. */
const BOGO_DIRENT_SIZE = 20;
/** Symlink targets up to this length are kept in the inode and use no page. */
const SHORT_SYMLINK_LEN = 128;
const S_IXGRP = 0o10;
const MAX_LFS_FILESIZE = Number.MAX_SAFE_INTEGER;
export const FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
const DAY_SEC = 24 * 3600;

export class TmpInode implements Inode {
  readonly ino: number;
  mode: number;
  uid: number;
  gid: number;
  readonly rdev: number;
  nlink: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  readonly btime: Timespec;
  /** Directory entries, in creation order (readdir order), for directories only. */
  private readonly entries: Map<string, TmpInode> | null;
  /** The directory holding this one (directories only: they have exactly one name). */
  parentDir: TmpInode | null;
  private target = '';
  /** The host memfd holding a regular file's bytes, or -1 until it first has any. */
  private memfd = -1;
  private size = 0;
  /** Pages charged to the fs for this inode, and st_blocks (512-byte units). */
  private pages = 0;
  private blocks512 = 0;
  /** Open files (and O_PATH handles) on this inode; an unlinked inode lives until it is 0. */
  private openCount = 0;
  private freed = false;
  private xattrStore: XattrStore | null = null;

  private constructor(readonly fs: TmpFs, mode: number, rdev: number, uid: number, gid: number, parent: TmpInode | null) {
    this.ino = fs.allocIno();
    this.mode = mode;
    this.rdev = rdev;
    this.uid = uid;
    this.gid = gid;
    const isDir = (mode & S_IFMT) === S_IFDIR;
    this.nlink = isDir ? 2 : 1;
    this.entries = isDir ? new Map() : null;
    this.parentDir = isDir ? parent : null;
    const now = currentTime();
    this.atime = now; this.mtime = now; this.ctime = now; this.btime = now;
  }

  /** Allocates an inode, charging the file system's inode limit. */
  static make(fs: TmpFs, mode: number, rdev: number, uid: number, gid: number, parent: TmpInode | null): TmpInode {
    if (fs.options.maxInodes && fs.usedInodes >= fs.options.maxInodes) throw new Errno(ENOSPC);
    fs.usedInodes++;
    return new TmpInode(fs, mode, rdev, uid, gid, parent);
  }

  get type(): number {
    return this.mode & S_IFMT;
  }
  private get isDir(): boolean {
    return this.type === S_IFDIR;
  }

  getattr(): Stat {
    let size = this.size;
    if (this.entries) size = 2 * BOGO_DIRENT_SIZE + BOGO_DIRENT_SIZE * this.entries.size;
    else if (this.type === S_IFLNK) size = Buffer.byteLength(this.target);
    return {
      dev: this.fs.dev, ino: this.ino, mode: this.mode, nlink: this.nlink, uid: this.uid, gid: this.gid,
      rdev: this.rdev, size, blksize: PAGE_SIZE, blocks: this.blocks512,
      atime: { ...this.atime }, mtime: { ...this.mtime }, ctime: { ...this.ctime }, btime: { ...this.btime },
    };
  }

  private writableFs(): void {
    if (this.fs.readOnly) throw new Errno(EROFS);
  }

  setattr(a: SetAttr): void {
    this.writableFs();
    let changed = false;
    if (a.size !== undefined) {
      if (this.isDir) throw new Errno(EISDIR);
      if (this.type !== S_IFREG) throw new Errno(EINVAL);
      changed = this.truncateData(a.size) || changed;
    }
    if (a.mode !== undefined) {
      this.mode = (this.mode & S_IFMT) | (a.mode & 0o7777);
      changed = true;
    }
    if (a.uid !== undefined || a.gid !== undefined) {
      if (a.uid !== undefined) this.uid = a.uid;
      if (a.gid !== undefined) this.gid = a.gid;
      // chown drops set-id bits from non-directories (ATTR_KILL_SUID / ATTR_KILL_SGID).
      if (!this.isDir && a.mode === undefined) this.killSetid();
      changed = true;
    }
    if (a.atime) { this.atime = { ...a.atime }; changed = true; }
    if (a.mtime) { this.mtime = { ...a.mtime }; changed = true; }
    if (changed) this.ctime = currentTime();
  }

  private killSetid(): void {
    this.mode &= ~S_ISUID;
    if (this.mode & S_IXGRP) this.mode &= ~S_ISGID;
  }

  // ---- directories ----

  private dir(): Map<string, TmpInode> {
    if (!this.entries) throw new Errno(ENOTDIR);
    return this.entries;
  }

  lookup(name: string): Inode | null {
    return this.dir().get(name) ?? null;
  }

  /** The child by name, for the overlay and tests (typed). */
  child(name: string): TmpInode | null {
    return this.dir().get(name) ?? null;
  }

  readdir(): DirEntry[] {
    const out: DirEntry[] = [];
    for (const [name, c] of this.dir()) out.push({ name, ino: c.ino, type: dtypeOfMode(c.mode) });
    return out;
  }

  /** Checks common to every new name in this directory. */
  private checkNewName(name: string): Map<string, TmpInode> {
    const d = this.dir();
    this.writableFs();
    if (this.nlink === 0) throw new Errno(ENOENT); // a removed directory takes no new entries
    if (Buffer.byteLength(name) > 255) throw new Errno(ENAMETOOLONG);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Errno(EINVAL);
    if (d.has(name)) throw new Errno(EEXIST);
    return d;
  }

  /** inode_init_owner: owner from the cred, group (and a directory's set-gid) from a set-gid parent. */
  private newChild(name: string, mode: number, rdev: number, cred: Cred): TmpInode {
    const d = this.checkNewName(name);
    const type = mode & S_IFMT;
    let gid = cred.fsgid;
    if (this.mode & S_ISGID) {
      gid = this.gid;
      if (type === S_IFDIR) mode |= S_ISGID;
    }
    if (type !== S_IFDIR && (mode & S_ISGID) && (mode & S_IXGRP) && !cred.inGroup(gid) && !cred.fsRoot) mode &= ~S_ISGID;
    const c = TmpInode.make(this.fs, mode, rdev, cred.fsuid, gid, this);
    this.attach(d, name, c);
    return c;
  }

  private attach(d: Map<string, TmpInode>, name: string, c: TmpInode): void {
    d.set(name, c);
    if (c.isDir) { this.nlink++; c.parentDir = this; }
    this.touchDir();
  }

  private touchDir(): void {
    const now = currentTime();
    this.mtime = now;
    this.ctime = now;
  }

  create(name: string, mode: number, cred: Cred): Inode {
    return this.newChild(name, (mode & 0o7777) | S_IFREG, 0, cred);
  }

  mkdir(name: string, mode: number, cred: Cred): Inode {
    return this.newChild(name, (mode & 0o7777) | S_IFDIR, 0, cred);
  }

  mknod(name: string, mode: number, rdev: number, cred: Cred): Inode {
    const type = mode & S_IFMT;
    switch (type) {
      case 0: case S_IFREG: return this.create(name, mode, cred);
      case S_IFCHR: case S_IFBLK: return this.newChild(name, mode, rdev, cred);
      case S_IFIFO: case S_IFSOCK: return this.newChild(name, mode, 0, cred);
      default: throw new Errno(EINVAL);
    }
  }

  symlink(name: string, target: string, cred: Cred): Inode {
    const len = Buffer.byteLength(target);
    if (len >= PAGE_SIZE) throw new Errno(ENAMETOOLONG);
    if (len === 0) throw new Errno(ENOENT);
    this.checkNewName(name);
    // A long target takes a page, as shmem puts it in the page cache.
    const pages = len >= SHORT_SYMLINK_LEN ? 1 : 0;
    const max = this.fs.options.maxBlocks;
    if (max && this.fs.usedBlocks + pages > max) throw new Errno(ENOSPC);
    const c = this.newChild(name, S_IFLNK | 0o777, 0, cred);
    c.target = target;
    c.pages = pages;
    c.blocks512 = pages * (PAGE_SIZE / 512);
    this.fs.usedBlocks += pages;
    return c;
  }

  link(name: string, target: Inode): void {
    if (!(target instanceof TmpInode) || target.fs !== this.fs) throw new Errno(EXDEV);
    if (target.isDir) throw new Errno(EPERM);
    if (target.nlink === 0) throw new Errno(ENOENT);
    const d = this.checkNewName(name);
    target.nlink++;
    target.ctime = currentTime();
    d.set(name, target);
    this.touchDir();
  }

  /** Takes `name` out of this directory (the victim's link count drops; it may be freed). */
  private detach(name: string): TmpInode {
    const d = this.dir();
    const c = d.get(name);
    if (!c) throw new Errno(ENOENT);
    d.delete(name);
    if (c.isDir) {
      this.nlink--;
      c.nlink = 0;
      c.parentDir = null;
    } else c.nlink--;
    c.ctime = currentTime();
    this.touchDir();
    c.maybeFree();
    return c;
  }

  unlink(name: string): void {
    this.writableFs();
    const c = this.dir().get(name);
    if (!c) throw new Errno(ENOENT);
    if (c.isDir) throw new Errno(EISDIR);
    this.detach(name);
  }

  rmdir(name: string): void {
    this.writableFs();
    const c = this.dir().get(name);
    if (!c) throw new Errno(ENOENT);
    if (!c.isDir) throw new Errno(ENOTDIR);
    if (c.entries!.size) throw new Errno(ENOTEMPTY);
    this.detach(name);
  }

  /** Whether `this` is `d` or one of its ancestors. */
  private isAncestorOf(d: TmpInode): boolean {
    for (let p: TmpInode | null = d; p; p = p.parentDir) if (p === this) return true;
    return false;
  }

  rename(oldName: string, newDir: Inode, newName: string, flags: number): void {
    this.writableFs();
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) throw new Errno(EINVAL);
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))) throw new Errno(EINVAL);
    if (!(newDir instanceof TmpInode) || newDir.fs !== this.fs) throw new Errno(EXDEV);
    const from = this.dir();
    const to = newDir.dir();
    const src = from.get(oldName);
    if (!src) throw new Errno(ENOENT);
    if (Buffer.byteLength(newName) > 255) throw new Errno(ENAMETOOLONG);
    if (newDir.nlink === 0) throw new Errno(ENOENT);
    const dst = to.get(newName) ?? null;
    if (src === dst) return; // two names of one inode: nothing to do (POSIX)
    if (src.isDir && src.isAncestorOf(newDir)) throw new Errno(EINVAL);
    const now = currentTime();
    if (flags & RENAME_EXCHANGE) {
      if (!dst) throw new Errno(ENOENT);
      if (dst.isDir && dst.isAncestorOf(this)) throw new Errno(EINVAL);
      from.set(oldName, dst);
      to.set(newName, src);
      if (this !== newDir && src.isDir !== dst.isDir) {
        // The directory of the pair changes parents: move its ".." link.
        if (src.isDir) { this.nlink--; newDir.nlink++; } else { newDir.nlink--; this.nlink++; }
      }
      if (src.isDir) src.parentDir = newDir;
      if (dst.isDir) dst.parentDir = this;
      src.ctime = now; dst.ctime = now;
      this.mtime = this.ctime = now;
      newDir.mtime = newDir.ctime = now;
      return;
    }
    if (dst) {
      if (flags & RENAME_NOREPLACE) throw new Errno(EEXIST);
      if (src.isDir && !dst.isDir) throw new Errno(ENOTDIR);
      if (!src.isDir && dst.isDir) throw new Errno(EISDIR);
      if (dst.isDir && dst.entries!.size) throw new Errno(ENOTEMPTY);
    }
    let whiteout: TmpInode | null = null;
    if (flags & RENAME_WHITEOUT) whiteout = TmpInode.make(this.fs, S_IFCHR, 0, 0, 0, this);
    if (dst) newDir.detach(newName);
    from.delete(oldName);
    if (src.isDir) { this.nlink--; newDir.nlink++; src.parentDir = newDir; }
    to.set(newName, src);
    if (whiteout) from.set(oldName, whiteout);
    src.ctime = now;
    this.mtime = this.ctime = now;
    newDir.mtime = newDir.ctime = now;
  }

  // ---- symlinks ----

  readlink(): string {
    if (this.type !== S_IFLNK) throw new Errno(EINVAL);
    this.accessed();
    return this.target;
  }

  // ---- open ----

  open(flags: number, task: Task | null): File {
    if (this.freed) throw new Errno(ENOENT);
    const type = this.type;
    if (!(flags & O_PATH)) {
      switch (type) {
        case S_IFLNK: throw new Errno(ELOOP);
        case S_IFCHR: case S_IFBLK:
          if (!this.fs.deviceOpener) throw new Errno(ENXIO);
          return this.fs.deviceOpener(this.rdev, flags, task, type);
        case S_IFIFO:
          if (!this.fs.fifoOpener) throw new Errno(ENXIO);
          return this.fs.fifoOpener(this, flags, task);
        case S_IFSOCK: throw new Errno(ENXIO);
        default: break;
      }
    }
    this.openCount++;
    return new TmpFile(this, flags);
  }

  /** Called by TmpFile when its last reference goes. */
  closed(): void {
    this.openCount--;
    this.maybeFree();
  }

  /** An inode with no names and no open files goes: its memfd is closed, its pages freed. */
  private maybeFree(): void {
    if (this.nlink > 0 || this.openCount > 0 || this.freed || this === this.fs.root) return;
    this.freed = true;
    if (this.memfd >= 0) hostFiles.close(this.memfd);
    this.memfd = -1;
    this.fs.usedBlocks -= this.pages;
    this.pages = 0;
    this.fs.usedInodes--;
    if (this.entries) this.entries.clear();
  }

  // ---- regular file data ----

  private ensureMemfd(): number {
    if (this.memfd < 0) this.memfd = hostFiles.memfd(`tmpfs:${this.ino}`);
    return this.memfd;
  }

  /** Re-reads st_blocks from the memfd and charges the difference to the fs. */
  private refreshBlocks(): void {
    if (this.memfd < 0) return;
    const blocks = hostFiles.fstat(this.memfd).blocks;
    const pages = Math.ceil((blocks * 512) / PAGE_SIZE);
    this.fs.usedBlocks += pages - this.pages;
    this.pages = pages;
    this.blocks512 = blocks;
  }

  /** Pages in [first, last) that already hold data (SEEK_DATA/SEEK_HOLE on the memfd). */
  private allocatedPages(first: number, last: number): number {
    if (this.memfd < 0) return 0;
    const end = Math.min(last * PAGE_SIZE, this.size);
    let pos = first * PAGE_SIZE;
    let n = 0;
    while (pos < end) {
      let data: number;
      try {
        data = hostFiles.lseek(this.memfd, pos, SEEK_DATA);
      } catch (e) {
        if (e instanceof Errno && e.errno === ENXIO) break;
        throw e;
      }
      if (data >= end) break;
      const hole = Math.min(hostFiles.lseek(this.memfd, data, SEEK_HOLE), end);
      n += Math.ceil(hole / PAGE_SIZE) - Math.floor(data / PAGE_SIZE);
      pos = hole;
    }
    return n;
  }

  /** How far a write of [off, end) may go within size=; ENOSPC when not a byte fits. */
  private room(off: number, end: number, partial: boolean): number {
    const max = this.fs.options.maxBlocks;
    if (!max) return end;
    const first = Math.floor(off / PAGE_SIZE), last = Math.ceil(end / PAGE_SIZE);
    const free = max - this.fs.usedBlocks;
    let need = last - first;
    if (need <= free) return end;
    need -= this.allocatedPages(first, last);
    if (need <= free) return end;
    if (!partial || free <= 0) throw new Errno(ENOSPC);
    // As shmem does page by page: write as far as the free pages reach.
    const stop = Math.min(end, (first + free) * PAGE_SIZE);
    if (stop <= off) throw new Errno(ENOSPC);
    return stop;
  }

  get dataSize(): number {
    return this.size;
  }

  readData(len: number, off: number, noatime: boolean): Buffer {
    if (this.type !== S_IFREG) throw new Errno(EINVAL);
    if (!noatime) this.accessed();
    if (off >= this.size || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, this.size - off);
    if (this.memfd < 0) return Buffer.alloc(n);
    const b = hostFiles.pread(this.memfd, n, off);
    return b.length === n ? b : Buffer.concat([b, Buffer.alloc(n - b.length)]);
  }

  writeData(data: Buffer, off: number, task: Task | null): number {
    if (this.type !== S_IFREG) throw new Errno(EINVAL);
    if (off < 0) throw new Errno(EINVAL);
    if (data.length === 0) return 0;
    if (off + data.length > MAX_LFS_FILESIZE) throw new Errno(EFBIG);
    const end = this.room(off, off + data.length, true);
    const fd = this.ensureMemfd();
    const n = hostFiles.pwrite(fd, end === off + data.length ? data : data.subarray(0, end - off), off);
    if (off + n > this.size) this.size = off + n;
    this.refreshBlocks();
    this.touchDir(); // mtime and ctime, as file_update_time
    // file_remove_privs: a write by someone without CAP_FSETID drops set-id bits.
    if ((this.mode & (S_ISUID | S_ISGID)) && task && !task.cred.fsRoot) this.killSetid();
    return n;
  }

  /** Sets the size; returns whether it changed (then mtime and ctime are updated). */
  truncateData(size: number): boolean {
    if (this.type !== S_IFREG) throw new Errno(EINVAL);
    if (size < 0 || !Number.isSafeInteger(size)) throw new Errno(EINVAL);
    if (size > MAX_LFS_FILESIZE) throw new Errno(EFBIG);
    if (size === this.size) return false;
    if (size > 0 || this.memfd >= 0) hostFiles.ftruncate(this.ensureMemfd(), size);
    this.size = size;
    this.refreshBlocks();
    this.touchDir();
    return true;
  }

  fallocateData(mode: number, off: number, len: number): void {
    if (this.type !== S_IFREG) throw new Errno(EINVAL);
    if (off < 0 || len <= 0) throw new Errno(EINVAL);
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) throw new Errno(EOPNOTSUPP);
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) throw new Errno(EOPNOTSUPP);
    if (off + len > MAX_LFS_FILESIZE) throw new Errno(EFBIG);
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (this.memfd >= 0) hostFiles.fallocate(this.memfd, mode, off, len);
    } else {
      this.room(off, off + len, false);
      hostFiles.fallocate(this.ensureMemfd(), mode, off, len);
      if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > this.size) this.size = off + len;
    }
    this.refreshBlocks();
    this.touchDir();
  }

  /** SEEK_DATA / SEEK_HOLE. */
  seekData(off: number, whence: number): number {
    if (off < 0 || off >= this.size) throw new Errno(ENXIO);
    if (this.memfd < 0) {
      if (whence === SEEK_DATA) throw new Errno(ENXIO);
      return this.size;
    }
    return Math.min(hostFiles.lseek(this.memfd, off, whence), this.size);
  }

  /** The memfd, for mmap: the same pages read and write use. */
  mapFd(): number {
    if (this.type !== S_IFREG) throw new Errno(EBADF);
    return this.ensureMemfd();
  }

  /** relatime: atime moves if it is not newer than mtime/ctime, or a day old. */
  accessed(): void {
    if (this.fs.readOnly) return;
    const now = currentTime();
    if (cmpTime(this.atime, this.mtime) <= 0 || cmpTime(this.atime, this.ctime) <= 0 || now.sec - this.atime.sec >= DAY_SEC) {
      this.atime = now;
    }
  }

  // ---- extended attributes ----

  private xattrs(): XattrStore {
    return (this.xattrStore ??= new XattrStore());
  }
  getxattr(name: string): Buffer | null {
    return this.xattrs().get(name, this.mode);
  }
  setxattr(name: string, value: Buffer, flags: number): void {
    this.writableFs();
    this.xattrs().set(name, value, flags, this.mode);
    this.ctime = currentTime();
  }
  listxattr(): string[] {
    return this.xattrs().list();
  }
  removexattr(name: string): void {
    this.writableFs();
    this.xattrs().remove(name, this.mode);
    this.ctime = currentTime();
  }
}
