// ext2/ext3/ext4 as a VFS file system: Ext4Volume (inode-number API) behind the Inode, File
// and FileSystem contracts.
//
// Page cache: ext4 files are not host files, so mmap gets a per-inode memfd, filled from
// the volume on first use and kept while the inode is cached. Writes through a File go to
// the volume and to the memfd, so both stay coherent. Pages dirtied through a MAP_SHARED
// writable mapping are copied back to the volume (only blocks that differ) at fsync, at the
// last close of the inode, at sync()/syncfs and at unmount/halt. Limit: msync and munmap
// run natively, so the kernel does not see them; a mapping still written after the last
// close reaches the disk at the next sync or at unmount, and mapped writes never extend a
// file (as on Linux, where they fault beyond EOF).
import * as hostFiles from '../../../host/files.js';
import { Errno } from '../../errno.js';
import { EBADF, EBUSY, EINVAL, EISDIR, ELOOP, ENODATA, ENOENT, ENXIO, EOPNOTSUPP, EROFS, EXDEV } from '../../abi/errno.js';
import {
  O_APPEND, O_PATH, RENAME_WHITEOUT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
  S_ISGID, S_ISUID, SEEK_DATA, SEEK_HOLE,
} from '../../abi/fcntl.js';
import { File, type MmapSource } from '../file.js';
import type { DirEntry, FileSystem, Inode, SetAttr, Stat, StatFs } from '../inode.js';
import type { Cred } from '../../task/cred.js';
import type { Task } from '../../task/task.js';
import type { DeviceOpener, FifoOpener } from '../tmpfs/tmpfs.js';
import type { BlockBackend } from './device.js';
import { Ext4Volume } from './volume.js';
import {
  COMPAT_HAS_JOURNAL, INCOMPAT_64BIT, INCOMPAT_EXTENTS, INCOMPAT_FLEX_BG, INCOMPAT_INLINE_DATA,
  INCOMPAT_CSUM_SEED, RO_COMPAT_HUGE_FILE, RO_COMPAT_METADATA_CSUM, RO_COMPAT_GDT_CSUM, RO_COMPAT_DIR_NLINK,
  RO_COMPAT_EXTRA_ISIZE,
} from './superblock.js';

export const EXT4_SUPER_MAGIC = 0xef53;
const ST_RDONLY = 1, ST_VALID = 0x20, ST_RELATIME = 0x1000;
const S_IXGRP = 0o10;
const CHUNK = 1 << 20;
/** ext4 directory-entry file types → DT_* for getdents. */
const FT_TO_DT = [0, 8, 4, 2, 6, 1, 12, 10];

export type ExtType = 'ext2' | 'ext3' | 'ext4';

/** The name Linux would mount a volume as: ext4 features → ext4, a journal → ext3, else ext2. */
export function detectExtType(v: Ext4Volume): ExtType {
  const sb = v.sb;
  const ext4Incompat = INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG | INCOMPAT_INLINE_DATA | INCOMPAT_CSUM_SEED;
  const ext4Ro = RO_COMPAT_HUGE_FILE | RO_COMPAT_METADATA_CSUM | RO_COMPAT_GDT_CSUM | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE;
  if ((sb.featureIncompat & ext4Incompat) || (sb.featureRoCompat & ext4Ro)) return 'ext4';
  return sb.hasCompat(COMPAT_HAS_JOURNAL) ? 'ext3' : 'ext2';
}

export interface Ext4FsParams {
  /** The device (a claimed block device range); closed at unmount. */
  store: BlockBackend;
  readOnly: boolean;
  /** st_dev of every file: the block device's number. */
  dev: number;
  /** The type it was mounted as; default: detected from the features. */
  type?: ExtType;
  deviceOpener?: DeviceOpener;
  fifoOpener?: FifoOpener;
  /** Opens the device again for a remount between ro and rw (else remount says EBUSY). */
  reopen?: (readOnly: boolean) => BlockBackend;
}

/** Every mounted ext file system, for sync at halt. */
const mounted = new Set<Ext4Fs>();

export class Ext4Fs implements FileSystem {
  readonly name: ExtType;
  readonly dev: number;
  readonly root: Ext4Inode;
  volume: Ext4Volume;
  readonly deviceOpener: DeviceOpener | undefined;
  readonly fifoOpener: FifoOpener | undefined;
  /** Open files on this file system (umount says EBUSY while there are any), and how many
   *  of them are open for writing (remount,ro says EBUSY while there are any). */
  openFiles = 0;
  writers = 0;
  /** umount -l left it mounted until its last open file goes. */
  lazyUnmount = false;
  private readonly reopen: ((readOnly: boolean) => BlockBackend) | undefined;
  private readonly inodes = new Map<number, Ext4Inode>();
  /** Inodes with a writable shared mapping handed out: written back at every sync. */
  readonly mappedWritable = new Set<Ext4Inode>();
  private unmounted = false;

  private constructor(p: Ext4FsParams, volume: Ext4Volume) {
    this.volume = volume;
    this.dev = p.dev;
    this.name = p.type ?? detectExtType(volume);
    this.deviceOpener = p.deviceOpener;
    this.fifoOpener = p.fifoOpener;
    this.reopen = p.reopen;
    this.root = this.iget(volume.rootIno);
  }

  /** Mounts the volume on `store` (journal replay, orphan cleanup happen here). */
  static mount(p: Ext4FsParams): Ext4Fs {
    const v = Ext4Volume.mount(p.store, { readOnly: p.readOnly });
    const fs = new Ext4Fs(p, v);
    mounted.add(fs);
    return fs;
  }

  get readOnly(): boolean {
    return this.volume.readOnly;
  }

  get isUnmounted(): boolean {
    return this.unmounted;
  }

  iget(ino: number): Ext4Inode {
    let i = this.inodes.get(ino);
    if (!i) {
      i = new Ext4Inode(this, ino);
      this.inodes.set(ino, i);
    }
    return i;
  }

  /** Drops the cached inode if the volume freed it (last name and last open gone). */
  maybeEvict(ino: number): void {
    const i = this.inodes.get(ino);
    if (!i || i.openCount > 0) return;
    try {
      if (this.volume.getInode(ino).nlink > 0) return;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
    }
    i.dropPageCache();
    this.mappedWritable.delete(i);
    this.inodes.delete(ino);
  }

  statfs(): StatFs {
    const s = this.volume.statfs();
    return {
      type: EXT4_SUPER_MAGIC, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
      files: s.files, ffree: s.ffree, namelen: s.namelen, frsize: s.bsize,
      flags: ST_VALID | ST_RELATIME | (this.readOnly ? ST_RDONLY : 0),
    };
  }

  mountOptions(): string {
    return this.readOnly ? 'ro' : 'rw';
  }

  sync(): void {
    if (this.unmounted || this.readOnly) return;
    for (const i of this.mappedWritable) i.writeback();
    this.volume.sync();
  }

  /** mount -o remount,ro / remount,rw: the volume is unmounted cleanly and mounted again. */
  remount(readOnly: boolean): void {
    if (readOnly === this.readOnly || this.unmounted) return;
    if (!this.reopen) throw new Errno(EBUSY);
    if (readOnly && this.writers > 0) throw new Errno(EBUSY);
    // The new claim is taken before the old one closes, so the device is never let go.
    const store = this.reopen(readOnly);
    if (!this.readOnly) for (const i of this.mappedWritable) i.writeback();
    this.volume.unmount();
    try {
      this.volume = Ext4Volume.mount(store, { readOnly });
    } catch (e) {
      // Back to where we were, so the file system stays usable.
      const back = this.reopen(!readOnly);
      store.close();
      this.volume = Ext4Volume.mount(back, { readOnly: !readOnly });
      throw e;
    }
    if (!readOnly) for (const i of this.inodes.values()) if (i.openCount > 0) this.volume.pin(i.ino);
  }

  /** Writes everything back and releases the device. */
  unmount(): void {
    if (this.unmounted) return;
    if (!this.readOnly) for (const i of this.mappedWritable) i.writeback();
    for (const i of this.inodes.values()) i.dropPageCache();
    this.inodes.clear();
    this.mappedWritable.clear();
    this.volume.unmount();
    this.unmounted = true;
    mounted.delete(this);
  }
}

/** Syncs and unmounts every ext file system (the machine is halting). */
export function unmountAllExt4(log?: (msg: string) => void): void {
  for (const fs of [...mounted]) {
    try {
      fs.unmount();
    } catch (e) {
      log?.(`EXT4-fs (${fs.name}): error while unmounting: ${(e as Error).message}`);
    }
  }
}

function ftToDt(t: number): number {
  return FT_TO_DT[t] ?? 0;
}

export class Ext4Inode implements Inode {
  /** Open files (Ext4File) on this inode. */
  openCount = 0;
  /** The page-cache memfd for mmap, or -1. */
  private memfd = -1;
  /** Whether the memfd may hold newer bytes than the volume (a writable shared map exists). */
  private mapDirty = false;

  constructor(readonly fs: Ext4Fs, readonly ino: number) {}

  private get vol(): Ext4Volume {
    return this.fs.volume;
  }

  private writableFs(): void {
    if (this.fs.readOnly) throw new Errno(EROFS);
  }

  getattr(): Stat {
    const a = this.vol.getInode(this.ino);
    return {
      dev: this.fs.dev, ino: this.ino, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid, rdev: a.rdev,
      size: a.size, blksize: this.vol.blockSize, blocks: a.blocks,
      atime: a.atime, mtime: a.mtime, ctime: a.ctime, btime: a.crtime,
    };
  }

  setattr(a: SetAttr): void {
    this.writableFs();
    let mode = a.mode;
    if ((a.uid !== undefined || a.gid !== undefined) && mode === undefined) {
      // chown drops set-id bits from non-directories (ATTR_KILL_SUID / ATTR_KILL_SGID).
      const cur = this.vol.getInode(this.ino).mode;
      if ((cur & S_IFMT) !== S_IFDIR && (cur & (S_ISUID | S_ISGID))) {
        mode = cur & ~S_ISUID;
        if (cur & S_IXGRP) mode &= ~S_ISGID;
        mode &= 0o7777;
      }
    }
    if (a.size !== undefined && this.mapDirty) this.writeback();
    this.vol.setattr(this.ino, { mode, uid: a.uid, gid: a.gid, size: a.size, atime: a.atime, mtime: a.mtime });
    if (a.size !== undefined && this.memfd >= 0) hostFiles.ftruncate(this.memfd, a.size);
  }

  // ---- directories ----

  lookup(name: string): Inode | null {
    try {
      return this.fs.iget(this.vol.lookup(this.ino, name));
    } catch (e) {
      if (e instanceof Errno && e.errno === ENOENT) return null;
      throw e;
    }
  }

  readdir(): DirEntry[] {
    return this.vol.readdir(this.ino)
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => ({ name: e.name, ino: e.ino, type: ftToDt(e.type) }));
  }

  /** Owner and group of a new child (inode_init_owner; a set-gid directory passes its group on). */
  private owner(mode: number, cred: Cred): { mode: number; uid: number; gid: number } {
    const dir = this.vol.getInode(this.ino);
    let gid = cred.fsgid;
    if (dir.mode & S_ISGID) {
      gid = dir.gid;
      if ((mode & S_IFMT) === S_IFDIR) mode |= S_ISGID;
    }
    return { mode, uid: cred.fsuid, gid };
  }

  create(name: string, mode: number, cred: Cred): Inode {
    this.writableFs();
    const o = this.owner((mode & 0o7777) | S_IFREG, cred);
    return this.fs.iget(this.vol.create(this.ino, name, o.mode, o.uid, o.gid));
  }

  mkdir(name: string, mode: number, cred: Cred): Inode {
    this.writableFs();
    const o = this.owner((mode & 0o7777) | S_IFDIR, cred);
    return this.fs.iget(this.vol.mkdir(this.ino, name, o.mode, o.uid, o.gid));
  }

  mknod(name: string, mode: number, rdev: number, cred: Cred): Inode {
    this.writableFs();
    const type = mode & S_IFMT;
    if (type === 0 || type === S_IFREG) return this.create(name, mode, cred);
    if (![S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(type)) throw new Errno(EINVAL);
    const o = this.owner(mode, cred);
    const dev = type === S_IFCHR || type === S_IFBLK ? rdev : 0;
    return this.fs.iget(this.vol.mknod(this.ino, name, o.mode, dev, o.uid, o.gid));
  }

  symlink(name: string, target: string, cred: Cred): Inode {
    this.writableFs();
    const o = this.owner(S_IFLNK | 0o777, cred);
    return this.fs.iget(this.vol.symlink(this.ino, name, target, o.uid, o.gid));
  }

  link(name: string, target: Inode): void {
    this.writableFs();
    if (!(target instanceof Ext4Inode) || target.fs !== this.fs) throw new Errno(EXDEV);
    this.vol.link(target.ino, this.ino, name);
  }

  private childIno(name: string): number | null {
    try {
      return this.vol.lookup(this.ino, name);
    } catch (e) {
      if (e instanceof Errno && e.errno === ENOENT) return null;
      throw e;
    }
  }

  unlink(name: string): void {
    this.writableFs();
    const victim = this.childIno(name);
    this.vol.unlink(this.ino, name);
    if (victim !== null) this.fs.maybeEvict(victim);
  }

  rmdir(name: string): void {
    this.writableFs();
    const victim = this.childIno(name);
    this.vol.rmdir(this.ino, name);
    if (victim !== null) this.fs.maybeEvict(victim);
  }

  rename(oldName: string, newDir: Inode, newName: string, flags: number): void {
    this.writableFs();
    if (flags & RENAME_WHITEOUT) throw new Errno(EINVAL);
    if (!(newDir instanceof Ext4Inode) || newDir.fs !== this.fs) throw new Errno(EXDEV);
    const victim = newDir.childIno(newName);
    this.vol.rename(this.ino, oldName, newDir.ino, newName, flags);
    if (victim !== null) this.fs.maybeEvict(victim);
  }

  // ---- symlinks ----

  readlink(): string {
    return this.vol.readlink(this.ino);
  }

  // ---- open ----

  open(flags: number, task: Task | null): File {
    const a = this.vol.getInode(this.ino);
    const type = a.mode & S_IFMT;
    if (!(flags & O_PATH)) {
      switch (type) {
        case S_IFLNK: throw new Errno(ELOOP);
        case S_IFCHR: case S_IFBLK:
          if (!this.fs.deviceOpener) throw new Errno(ENXIO);
          return this.fs.deviceOpener(a.rdev, flags, task, type);
        case S_IFIFO:
          if (!this.fs.fifoOpener) throw new Errno(ENXIO);
          return this.fs.fifoOpener(this, flags, task);
        case S_IFSOCK: throw new Errno(ENXIO);
        default: break;
      }
    }
    return new Ext4File(this, flags);
  }

  opened(): void {
    if (this.openCount++ === 0) this.vol.pin(this.ino);
    this.fs.openFiles++;
  }

  closed(): void {
    if (this.fs.isUnmounted) return;
    this.fs.openFiles--;
    if (--this.openCount === 0) {
      if (this.mapDirty && !this.fs.readOnly) this.writeback();
      this.vol.unpin(this.ino);
      this.fs.maybeEvict(this.ino);
    }
    if (this.fs.openFiles === 0 && this.fs.lazyUnmount) this.fs.unmount();
  }

  // ---- extended attributes ----

  getxattr(name: string): Buffer | null {
    try {
      return this.vol.getXattr(this.ino, name);
    } catch (e) {
      if (e instanceof Errno && e.errno === ENODATA) return null;
      throw e;
    }
  }

  setxattr(name: string, value: Buffer, flags: number): void {
    this.writableFs();
    this.vol.setXattr(this.ino, name, value, flags);
  }

  listxattr(): string[] {
    return this.vol.listXattr(this.ino);
  }

  removexattr(name: string): void {
    this.writableFs();
    this.vol.removeXattr(this.ino, name);
  }

  // ---- regular file data and the page cache ----

  get size(): number {
    return this.vol.getInode(this.ino).size;
  }

  readData(len: number, off: number): Buffer {
    if (this.memfd >= 0 && this.mapDirty) {
      const size = this.size;
      if (off >= size || len <= 0) return Buffer.alloc(0);
      const n = Math.min(len, size - off);
      const b = hostFiles.pread(this.memfd, n, off);
      return b.length === n ? b : Buffer.concat([b, Buffer.alloc(n - b.length)]);
    }
    return this.vol.read(this.ino, off, len);
  }

  writeData(data: Buffer, off: number): number {
    const n = this.vol.write(this.ino, off, data);
    if (this.memfd >= 0) pwriteAll(this.memfd, data.subarray(0, n), off);
    return n;
  }

  /** The memfd for mmap, filled from the volume the first time. */
  mapFd(writable: boolean): number {
    if (this.memfd < 0) {
      const size = this.size;
      const fd = hostFiles.memfd(`ext4:${this.ino}`);
      try {
        for (let off = 0; off < size; off += CHUNK) pwriteAll(fd, this.vol.read(this.ino, off, Math.min(CHUNK, size - off)), off);
        hostFiles.ftruncate(fd, size);
      } catch (e) {
        hostFiles.close(fd);
        throw e;
      }
      this.memfd = fd;
    }
    if (writable) {
      this.mapDirty = true;
      this.fs.mappedWritable.add(this);
    }
    return this.memfd;
  }

  /** Copies blocks changed through shared mappings back to the volume. */
  writeback(): void {
    if (!this.mapDirty || this.memfd < 0 || this.fs.readOnly) return;
    let size: number;
    try {
      size = this.size;
    } catch {
      return; // freed meanwhile
    }
    const bs = this.vol.blockSize;
    for (let off = 0; off < size; off += CHUNK) {
      const n = Math.min(CHUNK, size - off);
      const mem = hostFiles.pread(this.memfd, n, off);
      const disk = this.vol.read(this.ino, off, n);
      let runStart = -1;
      const flush = (end: number) => {
        if (runStart >= 0) this.vol.write(this.ino, off + runStart, Buffer.from(mem.subarray(runStart, end)));
        runStart = -1;
      };
      for (let b = 0; b < mem.length; b += bs) {
        const e = Math.min(b + bs, mem.length);
        if (mem.compare(disk, b, e, b, e) !== 0) { if (runStart < 0) runStart = b; } else flush(b);
      }
      flush(mem.length);
    }
  }

  dropPageCache(): void {
    if (this.memfd >= 0) hostFiles.close(this.memfd);
    this.memfd = -1;
    this.mapDirty = false;
  }
}

function pwriteAll(fd: number, data: Buffer, off: number): void {
  for (let done = 0; done < data.length;) done += hostFiles.pwrite(fd, data.subarray(done), off + done);
}

export class Ext4File extends File {
  private released = false;

  constructor(readonly node: Ext4Inode, flags: number) {
    super(flags);
    node.opened();
    if (this.writable) node.fs.writers++;
  }

  stat(): Stat {
    return this.node.getattr();
  }

  private regular(): Ext4Inode {
    if (this.flags & O_PATH) throw new Errno(EBADF);
    const type = this.node.getattr().mode & S_IFMT;
    if (type === S_IFDIR) throw new Errno(EISDIR);
    if (type !== S_IFREG) throw new Errno(EINVAL);
    return this.node;
  }

  override read(_t: Task, len: number): Buffer {
    if (!this.readable) throw new Errno(EBADF);
    const b = this.regular().readData(len, this.pos);
    this.pos += b.length;
    return b;
  }

  override pread(_t: Task, len: number, off: number): Buffer {
    if (!this.readable) throw new Errno(EBADF);
    if (off < 0) throw new Errno(EINVAL);
    return this.regular().readData(len, off);
  }

  override write(_t: Task, data: Buffer): number {
    if (!this.writable) throw new Errno(EBADF);
    const node = this.regular();
    if (this.flags & O_APPEND) this.pos = node.size;
    const n = node.writeData(data, this.pos);
    this.pos += n;
    return n;
  }

  override pwrite(_t: Task, data: Buffer, off: number): number {
    if (!this.writable) throw new Errno(EBADF);
    if (off < 0) throw new Errno(EINVAL);
    const node = this.regular();
    // Linux quirk kept: pwrite on an O_APPEND file appends.
    return node.writeData(data, this.flags & O_APPEND ? node.size : off);
  }

  override seek(off: number, whence: number): number {
    if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      const size = this.regular().size;
      if (off < 0 || off >= size) throw new Errno(ENXIO);
      // No hole map: the whole file counts as data (what generic_file_llseek does).
      this.pos = whence === SEEK_DATA ? off : size;
      return this.pos;
    }
    return super.seek(off, whence);
  }

  override readdir(): DirEntry[] {
    if (this.flags & O_PATH) throw new Errno(EBADF);
    if ((this.node.getattr().mode & S_IFMT) !== S_IFDIR) return super.readdir();
    return this.node.readdir();
  }

  override truncate(size: number): void {
    if (!this.writable) throw new Errno(EINVAL);
    this.node.setattr({ size });
  }

  override fsync(): void {
    if (this.node.fs.readOnly) return;
    this.node.writeback();
    this.node.fs.volume.sync();
  }

  override fallocate(mode: number, off: number, len: number): void {
    if (!this.writable) throw new Errno(EBADF);
    if (off < 0 || len <= 0) throw new Errno(EINVAL);
    const node = this.regular();
    // Only plain preallocation past EOF (zeros written, so the blocks are really there).
    if (mode !== 0) throw new Errno(EOPNOTSUPP);
    const size = node.size;
    const end = off + len;
    for (let at = Math.max(size, off); at < end; at += CHUNK) node.writeData(Buffer.alloc(Math.min(CHUNK, end - at)), at);
  }

  override mmapSource(writable: boolean): MmapSource {
    return { hostFd: this.regular().mapFd(writable), writable };
  }

  protected override release(): void {
    if (this.released) return;
    this.released = true;
    if (this.writable) this.node.fs.writers--;
    this.node.closed();
  }
}
