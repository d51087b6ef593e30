// Ext4Volume: a mounted ext2/ext3/ext4 filesystem, addressed by inode numbers so a VFS
// can wrap it. Metadata goes through a write-back block cache and leaves it at sync()
// (through the jbd2 journal when the volume has one); file data goes straight to the
// device before the metadata that points at it (ordered mode). Every mutating call ends
// with the in-memory state consistent, so any commit point yields an e2fsck-clean disk.
import {
  E2BIG, EEXIST, EFBIG, EINVAL, EIO, EISDIR, EMLINK, ENAMETOOLONG, ENODATA, ENOENT, ENOTDIR, ENOTEMPTY,
  EPERM, ERANGE, EROFS,
} from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import { BitmapAllocator } from './bitmap-alloc.js';
import { IndirectMap } from './block-map.js';
import { BlockCache } from './block-cache.js';
import type { Ext4Context, FileMap } from './context.js';
import type { BlockBackend } from './device.js';
import { Directory } from './dir.js';
import { ExtentTree, initExtentRoot } from './extents.js';
import { GroupDescTable } from './group-desc.js';
import {
  EXT4_EXTENTS_FL, EXT4_GOOD_OLD_INODE_SIZE, EXT4_INDEX_FL, EXT4_INLINE_DATA_FL, EXT4_ROOT_INO, Inode,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, Timespec, inodeSectors, modeToDirType,
} from './inode.js';
import { Journal, type JournalIo } from './journal.js';
import {
  COMPAT_EXT_ATTR, COMPAT_HAS_JOURNAL, EXT4_SUPER_MAGIC, INCOMPAT_EXTENTS,
  INCOMPAT_JOURNAL_DEV, INCOMPAT_MMP, INCOMPAT_RECOVER, INCOMPAT_SUPPORTED_READ, RO_COMPAT_DIR_NLINK,
  RO_COMPAT_LARGE_FILE, RO_COMPAT_SUPPORTED_WRITE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock,
} from './superblock.js';
import { XattrStore, type Xattr } from './xattr.js';

export { type Timespec } from './inode.js';

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
const EXT4_LINK_MAX = 65000;

export interface InodeAttrs {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  crtime: Timespec;
  /** 512-byte sectors allocated. */
  blocks: number;
  /** Device number (Linux dev_t encoding) of a device node, else 0. */
  rdev: number;
  flags: number;
  generation: number;
}

export interface SetAttrs {
  mode?: number; uid?: number; gid?: number; size?: number;
  atime?: Timespec; mtime?: Timespec; ctime?: Timespec;
}

export interface DirEntryInfo { name: string; ino: number; type: number }

export interface StatFs {
  bsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; namelen: number; fsid: [number, number];
}

export interface MountOptions { readOnly?: boolean }

type Name = string | Buffer;

function nameBuf(n: Name): Buffer {
  const b = typeof n === 'string' ? Buffer.from(n) : n;
  if (b.length === 0) throw new Errno(ENOENT);
  if (b.length > 255) throw new Errno(ENAMETOOLONG);
  if (b.includes(0x2f) || b.includes(0)) throw new Errno(EINVAL);
  return b;
}

function isDotName(b: Buffer): boolean {
  return (b.length === 1 && b[0] === 0x2e) || (b.length === 2 && b[0] === 0x2e && b[1] === 0x2e);
}

/** jbd2's default commit interval (JBD2_DEFAULT_MAX_COMMIT_AGE, the commit= mount option). */
const COMMIT_INTERVAL_MS = 5000;

function now(): Timespec {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

export class Ext4Volume implements Ext4Context {
  readonly sb: Superblock;
  gdt: GroupDescTable;
  readonly blockSize: number;
  readonly cache: BlockCache;
  alloc: BitmapAllocator;
  readonly csumSeed: number;
  readonly metadataCsum: boolean;
  readonly readOnly: boolean;
  private readonly xattrs: XattrStore;
  private journal: Journal | null = null;
  /** performance.now() of the last sync(), for the commit interval. */
  private lastCommit = performance.now();
  /** Blocks replayed from the journal on a read-only mount, served instead of the disk. */
  private readonly overlay = new Map<number, Buffer>();
  private readonly pinned = new Map<number, number>();
  private mounted = true;
  private overhead = 0;

  private constructor(private readonly dev: BlockBackend, sbRaw: Buffer, readOnly: boolean) {
    this.sb = new Superblock(sbRaw);
    this.blockSize = this.sb.blockSize;
    this.readOnly = readOnly;
    this.metadataCsum = this.sb.metadataCsum;
    this.csumSeed = this.metadataCsum ? this.sb.csumSeed() : 0;
    this.cache = new BlockCache(this.blockSize, (b) => this.readRaw(b));
    this.gdt = new GroupDescTable(this.sb, (b) => this.cache.get(b));
    this.alloc = new BitmapAllocator(this.sb, this.gdt, this.cache);
    this.xattrs = new XattrStore(this);
  }

  /** Mount a volume: validate, replay the journal if needed, and prepare for writing. */
  static mount(dev: BlockBackend, opts: MountOptions = {}): Ext4Volume {
    const readOnly = !!opts.readOnly || dev.readOnly;
    if (dev.size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) throw new Errno(EINVAL, 'ext4: device too small for a superblock');
    const raw = dev.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE);
    const sb = new Superblock(raw);
    if (sb.magic !== EXT4_SUPER_MAGIC) throw new Errno(EINVAL, 'ext4: no ext2/3/4 superblock (bad magic)');
    if (!sb.checksumValid()) throw new Errno(EIO, 'ext4: superblock checksum mismatch');
    if (sb.logBlockSize > 6) throw new Errno(EINVAL, 'ext4: unsupported block size');
    const unknown = sb.featureIncompat & ~INCOMPAT_SUPPORTED_READ;
    if (unknown) throw new Errno(EINVAL, `ext4: unsupported incompatible features 0x${unknown.toString(16)}`);
    if (sb.hasIncompat(INCOMPAT_JOURNAL_DEV)) throw new Errno(EINVAL, 'ext4: external journal devices are not supported');
    if (sb.blocksCount * sb.blockSize > dev.size) throw new Errno(EINVAL, `ext4: filesystem (${sb.blocksCount * sb.blockSize} bytes) is larger than the device (${dev.size} bytes)`);
    if (!readOnly) {
      const ro = sb.featureRoCompat & ~RO_COMPAT_SUPPORTED_WRITE;
      if (ro) throw new Errno(EROFS, `ext4: read-only compatible features 0x${ro.toString(16)} prevent a read-write mount`);
      if (sb.hasIncompat(INCOMPAT_MMP)) throw new Errno(EROFS, 'ext4: multi-mount protection is not supported for writing');
      if (sb.journalInum === 0 && sb.hasCompat(COMPAT_HAS_JOURNAL)) throw new Errno(EROFS, 'ext4: journal inode missing');
    }
    const v = new Ext4Volume(dev, raw, readOnly);
    // As ext4_fill_super: descriptors are checked before anything (the journal inode
    // first) is located through them, so a corrupt table is named rather than read from.
    v.verifyGroupDescs();
    v.setupJournal();
    v.countFree();
    v.computeOverhead();
    if (!readOnly) {
      v.processOrphans();
      v.sb.mntCount = v.sb.mntCount + 1;
      v.sb.mtime = now().sec;
      if (v.journal) v.sb.featureIncompat = v.sb.featureIncompat | INCOMPAT_RECOVER;
      v.writeSuperDirect();
    }
    return v;
  }

  // ---- block I/O ---------------------------------------------------------------------

  private readRaw(block: number): Buffer {
    const o = this.overlay.get(block);
    if (o) return Buffer.from(o);
    return this.dev.read(block * this.blockSize, this.blockSize);
  }

  readBlocks(block: number, count: number): Buffer {
    const buf = this.dev.read(block * this.blockSize, count * this.blockSize);
    if (this.overlay.size) {
      for (let i = 0; i < count; i++) this.overlay.get(block + i)?.copy(buf, i * this.blockSize);
    }
    return buf;
  }

  private writeHome(block: number, data: Buffer): void {
    this.dev.write(block * this.blockSize, data);
  }

  private sbLocation(): { block: number; off: number } {
    return this.blockSize === 1024 ? { block: 1, off: 0 } : { block: 0, off: SUPERBLOCK_OFFSET };
  }

  private writeSuperDirect(): void {
    this.sb.wtime = now().sec;
    this.sb.updateChecksum();
    this.dev.write(SUPERBLOCK_OFFSET, this.sb.raw);
    this.cache.invalidate(this.sbLocation().block);
    this.dev.flush();
  }

  // ---- journal -----------------------------------------------------------------------

  private setupJournal(): void {
    const sb = this.sb;
    if (!sb.hasCompat(COMPAT_HAS_JOURNAL) || sb.journalInum === 0) {
      if (sb.hasIncompat(INCOMPAT_RECOVER)) throw new Errno(EIO, 'ext4: needs_recovery set but no journal');
      return;
    }
    const jino = this.iget(sb.journalInum);
    const fmap = this.fileMap(jino);
    const nblk = Math.floor(jino.size / this.blockSize);
    const phys = new Array<number>(nblk);
    for (let l = 0; l < nblk;) {
      const m = fmap.map(l, nblk - l);
      if (m.pblk === 0) throw new Errno(EIO, 'ext4: hole in the journal');
      for (let i = 0; i < m.len; i++) phys[l + i] = m.pblk + i;
      l += m.len;
    }
    const io: JournalIo = {
      blockSize: this.blockSize,
      phys: (i) => { const p = phys[i]; if (p === undefined) throw new Errno(EIO, 'ext4: journal block out of range'); return p; },
      readBlock: (p) => this.dev.read(p * this.blockSize, this.blockSize),
      writeBlock: (p, d) => this.dev.write(p * this.blockSize, d),
      flush: () => this.dev.flush(),
    };
    const j = new Journal(io);
    if (j.needsRecovery || sb.hasIncompat(INCOMPAT_RECOVER)) {
      if (this.readOnly) {
        j.replay((b, d) => this.overlay.set(b, d));
      } else {
        j.replay((b, d) => this.dev.write(b * this.blockSize, d));
        this.dev.flush();
        j.markClean();
        this.dev.flush();
      }
      this.reloadAfterReplay();
      if (!this.readOnly) {
        this.sb.featureIncompat = this.sb.featureIncompat & ~INCOMPAT_RECOVER;
        this.writeSuperDirect();
      }
    }
    this.journal = j;
  }

  private reloadAfterReplay(): void {
    const { block, off } = this.sbLocation();
    const fresh = this.readRaw(block).subarray(off, off + SUPERBLOCK_SIZE);
    fresh.copy(this.sb.raw);
    // Everything cached before replay may be stale.
    (this as { cache: BlockCache }).cache = new BlockCache(this.blockSize, (b) => this.readRaw(b));
    this.gdt = new GroupDescTable(this.sb, (b) => this.cache.get(b));
    this.alloc = new BitmapAllocator(this.sb, this.gdt, this.cache);
  }

  /** ext4_check_descriptors: checksums, and bitmaps and inode tables inside the file system. */
  private verifyGroupDescs(): void {
    const sb = this.sb;
    const itb = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / this.blockSize);
    const inFs = (b: number, n = 1) => b > sb.firstDataBlock && b + n <= sb.blocksCount;
    for (let g = 0; g < sb.groupCount; g++) {
      const d = this.gdt.get(g);
      if (this.gdt.hasChecksums() && this.gdt.checksum(g) !== d.checksum)
        throw new Errno(EIO, `ext4: group descriptor ${g} checksum mismatch (group descriptors corrupted)`);
      const bad = !inFs(d.blockBitmap) ? `block bitmap (block ${d.blockBitmap})` : !inFs(d.inodeBitmap) ? `inode bitmap (block ${d.inodeBitmap})`
        : !inFs(d.inodeTable, itb) ? `inode table (block ${d.inodeTable})` : null;
      if (bad) throw new Errno(EIO, `ext4: ${bad} of group ${g} lies outside the file system (group descriptors corrupted)`);
    }
  }

  /**
   * The superblock's free counts are a hint (Linux only writes them back now and then, and
   * a replayed journal rarely carries fresh ones): like ext4_fill_super, start from the sums
   * of the group descriptors.
   */
  private countFree(): void {
    let blocks = 0, inodes = 0;
    for (let g = 0; g < this.sb.groupCount; g++) {
      const d = this.gdt.get(g);
      blocks += d.freeBlocks;
      inodes += d.freeInodes;
    }
    this.sb.freeBlocksCount = blocks;
    this.sb.freeInodesCount = inodes;
  }

  private computeOverhead(): void {
    const sb = this.sb;
    const itb = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / this.blockSize);
    let o = sb.firstDataBlock;
    for (let g = 0; g < sb.groupCount; g++) {
      const { sb: s, gdt } = this.gdt.groupOverhead(g);
      o += s + gdt + 2 + itb;
    }
    if (sb.journalInum && sb.hasCompat(COMPAT_HAS_JOURNAL)) o += Math.ceil(inodeSectors(this.blockSize, this.iget(sb.journalInum)) * 512 / this.blockSize);
    this.overhead = o;
  }

  // ---- inodes ------------------------------------------------------------------------

  private inodeLoc(ino: number): { block: number; off: number } {
    const sb = this.sb;
    if (ino < 1 || ino > sb.inodesCount) throw new Errno(EINVAL, `ext4: inode ${ino} out of range`);
    const g = Math.floor((ino - 1) / sb.inodesPerGroup);
    const idx = (ino - 1) % sb.inodesPerGroup;
    const byte = idx * sb.inodeSize;
    return { block: this.gdt.get(g).inodeTable + Math.floor(byte / this.blockSize), off: byte % this.blockSize };
  }

  /** A private copy of an inode; writeInode puts it back. */
  iget(ino: number): Inode {
    const { block, off } = this.inodeLoc(ino);
    const b = this.cache.get(block);
    return new Inode(ino, Buffer.from(b.subarray(off, off + this.sb.inodeSize)));
  }

  writeInode(inode: Inode): void {
    this.assertWritable();
    if (this.metadataCsum) inode.updateChecksum(this.csumSeed);
    const { block, off } = this.inodeLoc(inode.ino);
    const b = this.cache.get(block);
    inode.raw.copy(b, off);
    this.cache.markDirty(block);
  }

  private live(ino: number): Inode {
    const i = this.iget(ino);
    if (i.linksCount === 0 && !this.pinned.has(ino) && ino !== EXT4_ROOT_INO) throw new Errno(ENOENT, `ext4: inode ${ino} is not in use`);
    if (i.mode === 0) throw new Errno(ENOENT, `ext4: inode ${ino} is not in use`);
    if (this.metadataCsum && !i.checksumValid(this.csumSeed)) throw new Errno(EIO, `ext4: inode ${ino} checksum mismatch`);
    return i;
  }

  fileMap(inode: Inode): FileMap {
    return inode.hasFlag(EXT4_EXTENTS_FL) ? new ExtentTree(this, inode) : new IndirectMap(this, inode);
  }

  private hasDataBlocks(inode: Inode): boolean {
    if (inode.hasFlag(EXT4_INLINE_DATA_FL)) return false;
    const t = inode.fileType;
    if (t === S_IFREG || t === S_IFDIR) return true;
    if (t === S_IFLNK) return !this.isFastSymlink(inode);
    return false;
  }

  private isFastSymlink(inode: Inode): boolean {
    if (!inode.isSymlink || inode.hasFlag(EXT4_INLINE_DATA_FL)) return false;
    const ea = inode.fileAcl ? this.blockSize / 512 : 0;
    return inodeSectors(this.blockSize, inode) - ea === 0;
  }

  private inlineBody(inode: Inode): Buffer {
    const extra = this.xattrs.get(inode, 'system.data') ?? Buffer.alloc(0);
    return Buffer.concat([inode.iblock, extra]);
  }

  private dir(inode: Inode): Directory {
    if (!inode.isDir) throw new Errno(ENOTDIR);
    if (inode.hasFlag(EXT4_INLINE_DATA_FL)) return new Directory(this, inode, this.fileMap(inode), this.inlineBody(inode));
    return new Directory(this, inode, this.fileMap(inode));
  }

  /** A directory ready for changes (inline directories become block directories). */
  private wdir(inode: Inode): Directory {
    if (!inode.isDir) throw new Errno(ENOTDIR);
    if (inode.hasFlag(EXT4_INLINE_DATA_FL)) this.uninline(inode);
    return new Directory(this, inode, this.fileMap(inode));
  }

  getInode(ino: number): InodeAttrs {
    const i = this.live(ino);
    let rdev = 0;
    const t = i.fileType;
    if (t === S_IFCHR || t === S_IFBLK) {
      const old = i.iblock.readUInt32LE(0);
      rdev = old ? (((old >> 8) & 0xff) << 8) | (old & 0xff) : i.iblock.readUInt32LE(4);
    }
    return {
      ino, mode: i.mode, uid: i.uid, gid: i.gid, size: i.size, nlink: i.linksCount,
      atime: i.atime, mtime: i.mtime, ctime: i.ctime, crtime: i.crtime,
      blocks: inodeSectors(this.blockSize, i), rdev, flags: i.flags, generation: i.generation,
    };
  }

  statfs(): StatFs {
    const sb = this.sb;
    const bfree = sb.freeBlocksCount;
    const uuid = sb.uuid;
    return {
      bsize: this.blockSize,
      blocks: sb.blocksCount - this.overhead,
      bfree,
      bavail: Math.max(0, bfree - sb.rBlocksCount),
      files: sb.inodesCount,
      ffree: sb.freeInodesCount,
      namelen: 255,
      fsid: [uuid.readUInt32LE(0) ^ uuid.readUInt32LE(8), uuid.readUInt32LE(4) ^ uuid.readUInt32LE(12)],
    };
  }

  get label(): string { return this.sb.volumeName; }
  get rootIno(): number { return EXT4_ROOT_INO; }

  // ---- reading -----------------------------------------------------------------------

  lookup(dirIno: number, name: Name): number {
    const d = this.dir(this.live(dirIno));
    const e = d.lookup(typeof name === 'string' ? Buffer.from(name) : name);
    if (!e) throw new Errno(ENOENT);
    return e.ino;
  }

  readdir(dirIno: number): DirEntryInfo[] {
    return this.dir(this.live(dirIno)).list().map((e) => ({ name: e.name.toString(), ino: e.ino, type: e.type }));
  }

  read(ino: number, off: number, len: number): Buffer {
    const i = this.live(ino);
    if (i.isDir) throw new Errno(EISDIR);
    return this.readInode(i, off, len);
  }

  private readInode(i: Inode, off: number, len: number): Buffer {
    const size = i.size;
    if (off >= size || len <= 0) return Buffer.alloc(0);
    len = Math.min(len, size - off);
    if (i.hasFlag(EXT4_INLINE_DATA_FL)) return Buffer.from(this.inlineBody(i).subarray(off, off + len));
    const bs = this.blockSize;
    const out = Buffer.alloc(len);
    const fmap = this.fileMap(i);
    const first = Math.floor(off / bs);
    const last = Math.floor((off + len - 1) / bs);
    for (let l = first; l <= last;) {
      const m = fmap.map(l, last - l + 1);
      const runStart = l * bs;
      const runEnd = (l + m.len) * bs;
      if (m.pblk !== 0 && !m.unwritten) {
        const data = this.readBlocks(m.pblk, m.len);
        const s = Math.max(off, runStart);
        const e = Math.min(off + len, runEnd);
        data.copy(out, s - off, s - runStart, e - runStart);
      }
      l += m.len;
    }
    return out;
  }

  readlink(ino: number): string {
    const i = this.live(ino);
    if (!i.isSymlink) throw new Errno(EINVAL);
    if (this.isFastSymlink(i)) return i.iblock.subarray(0, i.size).toString();
    return this.readInode(i, 0, i.size).toString();
  }

  // ---- xattrs ------------------------------------------------------------------------

  listXattr(ino: number): string[] {
    return this.xattrs.list(this.live(ino)).map((x) => x.name).filter((n) => n !== 'system.data');
  }

  getXattr(ino: number, name: string): Buffer {
    const v = this.xattrs.get(this.live(ino), name);
    if (!v || name === 'system.data') throw new Errno(ENODATA);
    return v;
  }

  setXattr(ino: number, name: string, value: Buffer, flags = 0): void {
    this.assertWritable();
    if (name === 'system.data') throw new Errno(EPERM);
    if (name.length > 255 + 10) throw new Errno(ERANGE);
    if (value.length > this.blockSize) throw new Errno(E2BIG);
    const i = this.live(ino);
    const list = this.xattrs.list(i);
    const at = list.findIndex((x) => x.name === name);
    if (at >= 0 && flags & XATTR_CREATE) throw new Errno(EEXIST);
    if (at < 0 && flags & XATTR_REPLACE) throw new Errno(ENODATA);
    const next: Xattr[] = list.filter((x) => x.name !== name);
    next.push({ name, value: Buffer.from(value) });
    this.xattrs.store(i, next);
    i.ctime = now();
    this.writeInode(i);
    if (!this.sb.hasCompat(COMPAT_EXT_ATTR)) this.sb.raw.writeUInt32LE(this.sb.featureCompat | COMPAT_EXT_ATTR, 0x5c);
    this.endOp();
  }

  removeXattr(ino: number, name: string): void {
    this.assertWritable();
    const i = this.live(ino);
    const list = this.xattrs.list(i);
    if (!list.some((x) => x.name === name) || name === 'system.data') throw new Errno(ENODATA);
    this.xattrs.store(i, list.filter((x) => x.name !== name));
    i.ctime = now();
    this.writeInode(i);
    this.endOp();
  }

  // ---- writing -----------------------------------------------------------------------

  private assertWritable(): void {
    if (this.readOnly) throw new Errno(EROFS);
    if (!this.mounted) throw new Errno(EIO, 'ext4: volume is unmounted');
  }

  /**
   * Commit when enough metadata is dirty, or when the oldest uncommitted change is older
   * than jbd2's default commit interval (so a crash loses seconds, not everything since
   * mount); each API call ends consistent.
   */
  private endOp(): void {
    const limit = this.journal ? Math.max(16, Math.floor(this.journal.capacity() / 2)) : 4096;
    const dirty = this.cache.dirtyCount;
    if (dirty + 64 >= limit || (dirty > 0 && performance.now() - this.lastCommit >= COMMIT_INTERVAL_MS)) this.sync();
  }

  write(ino: number, off: number, data: Buffer): number {
    this.assertWritable();
    const i = this.live(ino);
    if (i.isDir) throw new Errno(EISDIR);
    if (!i.isReg) throw new Errno(EINVAL);
    if (data.length === 0) return 0;
    const end = off + data.length;
    if (end > this.maxFileSize(i)) throw new Errno(EFBIG);
    if (i.hasFlag(EXT4_INLINE_DATA_FL)) this.uninline(i);
    this.writeData(i, off, data);
    if (end > i.size) i.size = end;
    const t = now();
    i.mtime = t;
    i.ctime = t;
    this.writeInode(i);
    this.ensureLargeFile(end);
    this.endOp();
    return data.length;
  }

  private maxFileSize(i: Inode): number {
    if (i.hasFlag(EXT4_EXTENTS_FL)) return (2 ** 32 - 1) * this.blockSize;
    const p = this.blockSize / 4;
    return Math.min((12 + p + p * p + p * p * p) * this.blockSize, 2 ** 32 * 512 - this.blockSize);
  }

  private ensureLargeFile(size: number): void {
    if (size >= 2 ** 31 && !this.sb.hasRoCompat(RO_COMPAT_LARGE_FILE)) {
      this.sb.raw.writeUInt32LE(this.sb.featureRoCompat | RO_COMPAT_LARGE_FILE, 0x64);
    }
  }

  private writeData(i: Inode, off: number, data: Buffer): void {
    const bs = this.blockSize;
    const first = Math.floor(off / bs);
    const last = Math.floor((off + data.length - 1) / bs);
    const fmap = this.fileMap(i);
    const runs = fmap.allocate(first, last - first + 1);
    for (const r of runs) {
      const runStart = r.lblk * bs;
      const runEnd = (r.lblk + r.len) * bs;
      const s = Math.max(off, runStart);
      const e = Math.min(off + data.length, runEnd);
      let buf: Buffer;
      if (s === runStart && e === runEnd) buf = data.subarray(s - off, e - off);
      else {
        buf = Buffer.alloc(r.len * bs);
        if (!r.fresh) {
          // Only the partial edge blocks need their old contents.
          if (s > runStart) this.readBlocks(r.pblk, 1).copy(buf, 0);
          if (e < runEnd) this.readBlocks(r.pblk + r.len - 1, 1).copy(buf, (r.len - 1) * bs);
        }
        data.copy(buf, s - runStart, s - off, e - off);
      }
      for (let k = 0; k < r.len; k++) this.cache.invalidate(r.pblk + k);
      this.dev.write(r.pblk * bs, buf);
    }
  }

  truncate(ino: number, size: number): void {
    this.assertWritable();
    const i = this.live(ino);
    if (i.isDir) throw new Errno(EISDIR);
    if (!i.isReg) throw new Errno(EINVAL);
    if (size < 0) throw new Errno(EINVAL);
    if (size > this.maxFileSize(i)) throw new Errno(EFBIG);
    this.truncateInode(i, size);
    const t = now();
    i.mtime = t;
    i.ctime = t;
    this.writeInode(i);
    this.ensureLargeFile(size);
    this.endOp();
  }

  private truncateInode(i: Inode, size: number): void {
    if (i.hasFlag(EXT4_INLINE_DATA_FL)) this.uninline(i);
    const bs = this.blockSize;
    if (size < i.size) {
      this.fileMap(i).truncate(Math.ceil(size / bs));
      // Zero the tail of the last partial block so a later extension reads zeros.
      if (size % bs) {
        const m = this.fileMap(i).map(Math.floor(size / bs), 1);
        if (m.pblk && !m.unwritten) {
          const b = this.readBlocks(m.pblk, 1);
          b.fill(0, size % bs);
          this.dev.write(m.pblk * bs, b);
        }
      }
    }
    i.size = size;
  }

  private newInode(dir: Inode, mode: number, uid: number, gid: number): Inode {
    const isDir = (mode & S_IFMT) === S_IFDIR;
    const ino = this.alloc.allocInode(dir.ino, isDir);
    const i = new Inode(ino, Buffer.alloc(this.sb.inodeSize));
    i.mode = mode;
    i.uid = uid;
    i.gid = gid;
    i.linksCount = 1;
    if (this.sb.inodeSize > EXT4_GOOD_OLD_INODE_SIZE) {
      i.extraIsize = Math.min(Math.max(32, this.sb.wantExtraIsize, this.sb.minExtraIsize), this.sb.inodeSize - EXT4_GOOD_OLD_INODE_SIZE);
    }
    const t = now();
    i.atime = t; i.mtime = t; i.ctime = t; i.crtime = t;
    i.generation = (Math.random() * 2 ** 32) >>> 0;
    const t2 = mode & S_IFMT;
    if (this.sb.hasIncompat(INCOMPAT_EXTENTS) && (t2 === S_IFREG || t2 === S_IFDIR)) {
      i.flags = EXT4_EXTENTS_FL;
      initExtentRoot(i.iblock);
    }
    return i;
  }

  private checkNewName(dir: Inode, name: Buffer): Directory {
    if (isDotName(name)) throw new Errno(EEXIST);
    const d = this.wdir(dir);
    if (d.lookup(name)) throw new Errno(EEXIST);
    return d;
  }

  private linkInto(dir: Inode, d: Directory, name: Buffer, child: Inode): void {
    d.add(name, child.ino, modeToDirType(child.mode));
    const t = now();
    dir.mtime = t;
    dir.ctime = t;
  }

  create(dirIno: number, name: Name, mode: number, uid: number, gid: number): number {
    return this.mknod(dirIno, name, (mode & ~S_IFMT) | S_IFREG, 0, uid, gid);
  }

  mknod(dirIno: number, name: Name, mode: number, rdev: number, uid: number, gid: number): number {
    this.assertWritable();
    const n = nameBuf(name);
    const t = mode & S_IFMT;
    if (![S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(t)) throw new Errno(EINVAL);
    const dir = this.live(dirIno);
    const d = this.checkNewName(dir, n);
    const i = this.newInode(dir, mode, uid, gid);
    if (t === S_IFCHR || t === S_IFBLK) {
      const major = (rdev >>> 8) & 0xfff;
      const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
      if (major < 256 && minor < 256) i.iblock.writeUInt32LE((major << 8) | minor, 0);
      else i.iblock.writeUInt32LE(((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0, 4);
    }
    this.writeInode(i);
    this.linkInto(dir, d, n, i);
    this.writeInode(dir);
    this.endOp();
    return i.ino;
  }

  mkdir(dirIno: number, name: Name, mode: number, uid: number, gid: number): number {
    this.assertWritable();
    const n = nameBuf(name);
    const dir = this.live(dirIno);
    if (dir.linksCount >= EXT4_LINK_MAX && !this.sb.hasRoCompat(RO_COMPAT_DIR_NLINK)) throw new Errno(EMLINK);
    const d = this.checkNewName(dir, n);
    const i = this.newInode(dir, (mode & ~S_IFMT) | S_IFDIR, uid, gid);
    i.linksCount = 2;
    new Directory(this, i, this.fileMap(i)).initEmpty(dir.ino);
    this.writeInode(i);
    this.linkInto(dir, d, n, i);
    this.incLinks(dir);
    this.writeInode(dir);
    this.endOp();
    return i.ino;
  }

  private incLinks(dir: Inode): void {
    if (dir.linksCount === 1 && dir.isDir) return; // dir_nlink: already "many"
    if (dir.linksCount + 1 >= EXT4_LINK_MAX && dir.isDir) { dir.linksCount = 1; this.setDirNlink(); return; }
    dir.linksCount = dir.linksCount + 1;
  }

  private decLinks(dir: Inode): void {
    if (dir.isDir && dir.linksCount === 1) return;
    dir.linksCount = dir.linksCount - 1;
  }

  private setDirNlink(): void {
    if (!this.sb.hasRoCompat(RO_COMPAT_DIR_NLINK)) this.sb.raw.writeUInt32LE(this.sb.featureRoCompat | RO_COMPAT_DIR_NLINK, 0x64);
  }

  symlink(dirIno: number, name: Name, target: string | Buffer, uid = 0, gid = 0): number {
    this.assertWritable();
    const n = nameBuf(name);
    const tb = typeof target === 'string' ? Buffer.from(target) : target;
    if (tb.length === 0) throw new Errno(ENOENT);
    if (tb.length >= this.blockSize) throw new Errno(ENAMETOOLONG);
    const dir = this.live(dirIno);
    const d = this.checkNewName(dir, n);
    const i = this.newInode(dir, S_IFLNK | 0o777, uid, gid);
    if (tb.length < 60) {
      tb.copy(i.iblock);
      i.size = tb.length;
    } else {
      if (this.sb.hasIncompat(INCOMPAT_EXTENTS)) { i.flags = EXT4_EXTENTS_FL; initExtentRoot(i.iblock); }
      const blk = Buffer.alloc(this.blockSize);
      tb.copy(blk);
      this.writeData(i, 0, blk);
      i.size = tb.length;
    }
    this.writeInode(i);
    this.linkInto(dir, d, n, i);
    this.writeInode(dir);
    this.endOp();
    return i.ino;
  }

  link(ino: number, newDirIno: number, newName: Name): void {
    this.assertWritable();
    const n = nameBuf(newName);
    const i = this.live(ino);
    if (i.isDir) throw new Errno(EPERM);
    if (i.linksCount >= EXT4_LINK_MAX) throw new Errno(EMLINK);
    const dir = this.live(newDirIno);
    const d = this.checkNewName(dir, n);
    this.linkInto(dir, d, n, i);
    this.writeInode(dir);
    const again = this.iget(ino);
    again.linksCount = again.linksCount + 1;
    again.ctime = now();
    this.writeInode(again);
    this.endOp();
  }

  unlink(dirIno: number, name: Name): void {
    this.assertWritable();
    const n = nameBuf(name);
    const dir = this.live(dirIno);
    const d = this.wdir(dir);
    const e = d.lookup(n);
    if (!e) throw new Errno(ENOENT);
    const i = this.live(e.ino);
    if (i.isDir) throw new Errno(EISDIR);
    d.remove(n);
    const t = now();
    dir.mtime = t;
    dir.ctime = t;
    this.writeInode(dir);
    this.dropLink(e.ino);
    this.endOp();
  }

  private dropLink(ino: number): void {
    const i = this.iget(ino);
    i.linksCount = Math.max(0, i.linksCount - 1);
    i.ctime = now();
    if (i.linksCount === 0 && !this.pinned.has(ino)) this.freeInode(i);
    else this.writeInode(i);
  }

  private freeInode(i: Inode): void {
    if (this.hasDataBlocks(i)) this.fileMap(i).truncate(0);
    if (i.fileAcl) this.xattrs.releaseBlock(i, i.fileAcl);
    i.linksCount = 0;
    i.size = 0;
    i.dtime = now().sec;
    this.writeInode(i);
    this.alloc.freeInode(i.ino, i.isDir);
  }

  rmdir(dirIno: number, name: Name): void {
    this.assertWritable();
    const n = typeof name === 'string' ? Buffer.from(name) : name;
    if (n.length === 1 && n[0] === 0x2e) throw new Errno(EINVAL);
    if (isDotName(n)) throw new Errno(ENOTEMPTY);
    nameBuf(n);
    const dir = this.live(dirIno);
    const d = this.wdir(dir);
    const e = d.lookup(n);
    if (!e) throw new Errno(ENOENT);
    const victim = this.live(e.ino);
    if (!victim.isDir) throw new Errno(ENOTDIR);
    if (!this.dir(victim).isEmpty()) throw new Errno(ENOTEMPTY);
    d.remove(n);
    this.decLinks(dir);
    const t = now();
    dir.mtime = t;
    dir.ctime = t;
    this.writeInode(dir);
    this.killDir(victim);
    this.endOp();
  }

  private killDir(victim: Inode): void {
    victim.linksCount = 0;
    if (this.pinned.has(victim.ino)) { this.writeInode(victim); return; }
    this.freeInode(victim);
  }

  rename(oldDirIno: number, oldName: Name, newDirIno: number, newName: Name, flags = 0): void {
    this.assertWritable();
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new Errno(EINVAL);
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) throw new Errno(EINVAL);
    const on = nameBuf(oldName);
    const nn = nameBuf(newName);
    if (isDotName(on) || isDotName(nn)) throw new Errno(isDotName(nn) && !(flags & RENAME_EXCHANGE) ? EEXIST : EINVAL);
    const od = this.live(oldDirIno);
    const same = oldDirIno === newDirIno;
    const nd = same ? od : this.live(newDirIno);
    const odir = this.wdir(od);
    const ndir = same ? odir : this.wdir(nd);
    const src = odir.lookup(on);
    if (!src) throw new Errno(ENOENT);
    const dst = ndir.lookup(nn);
    const srcI = this.iget(src.ino);
    if (srcI.isDir && !same) this.checkNotAncestor(src.ino, newDirIno);
    const t = now();
    if (flags & RENAME_EXCHANGE) {
      if (!dst) throw new Errno(ENOENT);
      const dstI = this.iget(dst.ino);
      if (dstI.isDir && !same) this.checkNotAncestor(dst.ino, oldDirIno);
      odir.retarget(on, dst.ino, dst.type);
      ndir.retarget(nn, src.ino, src.type);
      if (!same) {
        if (srcI.isDir) { this.setDotDot(srcI, newDirIno); }
        if (dstI.isDir) { this.setDotDot(dstI, oldDirIno); }
        if (srcI.isDir !== dstI.isDir) {
          if (srcI.isDir) { this.decLinks(od); this.incLinks(nd); } else { this.incLinks(od); this.decLinks(nd); }
        }
      }
      srcI.ctime = t;
      dstI.ctime = t;
      this.writeInode(srcI);
      this.writeInode(dstI);
    } else {
      if (dst) {
        if (flags & RENAME_NOREPLACE) throw new Errno(EEXIST);
        if (dst.ino === src.ino) return;
        const dstI = this.iget(dst.ino);
        if (srcI.isDir && !dstI.isDir) throw new Errno(ENOTDIR);
        if (!srcI.isDir && dstI.isDir) throw new Errno(EISDIR);
        if (dstI.isDir && !this.dir(dstI).isEmpty()) throw new Errno(ENOTEMPTY);
        ndir.retarget(nn, src.ino, src.type);
        if (dstI.isDir) { this.decLinks(nd); this.killDir(dstI); } else this.dropLink(dst.ino);
      } else {
        if (srcI.isDir && !same && nd.linksCount >= EXT4_LINK_MAX && !this.sb.hasRoCompat(RO_COMPAT_DIR_NLINK)) throw new Errno(EMLINK);
        ndir.add(nn, src.ino, src.type);
      }
      odir.remove(on);
      if (srcI.isDir && !same) {
        this.setDotDot(srcI, newDirIno);
        this.decLinks(od);
        this.incLinks(nd);
      }
      srcI.ctime = t;
      this.writeInode(srcI);
    }
    od.mtime = t; od.ctime = t;
    this.writeInode(od);
    if (!same) { nd.mtime = t; nd.ctime = t; this.writeInode(nd); }
    this.endOp();
  }

  private setDotDot(dirI: Inode, parent: number): void {
    const d = this.wdir(dirI);
    d.retarget(Buffer.from('..'), parent, 2);
  }

  /** EINVAL if `ino` is `dirIno` or one of its ancestors (a directory into itself). */
  private checkNotAncestor(ino: number, dirIno: number): void {
    let cur = dirIno;
    for (let depth = 0; depth < 4096; depth++) {
      if (cur === ino) throw new Errno(EINVAL);
      if (cur === EXT4_ROOT_INO) return;
      const up = this.dir(this.iget(cur)).lookup(Buffer.from('..'));
      if (!up || up.ino === cur) return;
      cur = up.ino;
    }
  }

  setattr(ino: number, a: SetAttrs): void {
    this.assertWritable();
    const i = this.live(ino);
    if (a.size !== undefined) {
      if (i.isDir) throw new Errno(EISDIR);
      if (!i.isReg) throw new Errno(EINVAL);
      if (a.size > this.maxFileSize(i)) throw new Errno(EFBIG);
      if (a.size !== i.size) { this.truncateInode(i, a.size); i.mtime = now(); }
      this.ensureLargeFile(a.size);
    }
    if (a.mode !== undefined) i.mode = (i.mode & S_IFMT) | (a.mode & ~S_IFMT & 0xffff);
    if (a.uid !== undefined) i.uid = a.uid;
    if (a.gid !== undefined) i.gid = a.gid;
    if (a.atime) i.atime = a.atime;
    if (a.mtime) i.mtime = a.mtime;
    i.ctime = a.ctime ?? now();
    this.writeInode(i);
    this.endOp();
  }

  /**
   * Keep an inode alive while it is open: when its last name goes, it is freed at
   * unpin (or unmount) instead of at once.
   */
  pin(ino: number): void { this.pinned.set(ino, (this.pinned.get(ino) ?? 0) + 1); }

  unpin(ino: number): void {
    const n = (this.pinned.get(ino) ?? 0) - 1;
    if (n > 0) { this.pinned.set(ino, n); return; }
    this.pinned.delete(ino);
    if (this.readOnly || !this.mounted) return;
    const i = this.iget(ino);
    if (i.linksCount === 0 && i.mode !== 0 && i.dtime === 0) { this.freeInode(i); this.endOp(); }
  }

  /** Turn an inline-data inode into a block-mapped one (before any change to it). */
  private uninline(i: Inode): void {
    if (i.isDir) {
      const entries = this.dir(i).list();
      const parent = entries.find((e) => e.name.toString() === '..')!.ino;
      this.xattrs.store(i, this.xattrs.list(i).filter((x) => x.name !== 'system.data'));
      i.flags &= ~EXT4_INLINE_DATA_FL;
      i.size = 0;
      i.iblock.fill(0);
      if (this.sb.hasIncompat(INCOMPAT_EXTENTS)) { i.flags |= EXT4_EXTENTS_FL; initExtentRoot(i.iblock); }
      const d = new Directory(this, i, this.fileMap(i));
      d.initEmpty(parent);
      for (const e of entries) if (!isDotName(e.name)) d.add(e.name, e.ino, e.type);
    } else {
      const data = this.readInode(i, 0, i.size);
      const size = i.size;
      this.xattrs.store(i, this.xattrs.list(i).filter((x) => x.name !== 'system.data'));
      i.flags &= ~EXT4_INLINE_DATA_FL;
      i.iblock.fill(0);
      if (this.sb.hasIncompat(INCOMPAT_EXTENTS)) { i.flags |= EXT4_EXTENTS_FL; initExtentRoot(i.iblock); }
      if (data.length) this.writeData(i, 0, data);
      i.size = size;
    }
    i.flags &= ~EXT4_INDEX_FL;
    this.writeInode(i);
  }

  /** Free inodes left on the orphan list by a crash (deleted or truncated while open). */
  private processOrphans(): void {
    let ino = this.sb.lastOrphan;
    for (let n = 0; ino && n < 100000; n++) {
      const i = this.iget(ino);
      const next = i.dtime;
      i.dtime = 0;
      if (i.linksCount === 0) this.freeInode(i);
      else if (i.isReg) { this.truncateInode(i, i.size); this.writeInode(i); }
      ino = next;
    }
    if (this.sb.lastOrphan) { this.sb.raw.writeUInt32LE(0, 0xe8); this.sync(); }
  }

  // ---- sync / unmount ----------------------------------------------------------------

  /** Make everything written so far durable (one journal transaction when journalled). */
  sync(): void {
    if (this.readOnly || !this.mounted) return;
    this.lastCommit = performance.now();
    this.alloc.sealGroups(this.csumSeed);
    const blocks = [...this.cache.takeDirty(), ...this.gdt.takeDirty()];
    if (blocks.length === 0) { this.dev.flush(); return; }
    // The superblock (its free counts) rides along in the same transaction.
    const { block, off } = this.sbLocation();
    const sbBlock = Buffer.from(this.readRaw(block));
    this.sb.wtime = now().sec;
    this.sb.updateChecksum();
    this.sb.raw.copy(sbBlock, off);
    const all = [...blocks.filter((b) => b.block !== block), { block, data: sbBlock }].sort((a, b) => a.block - b.block);
    if (this.journal) {
      const cap = this.journal.capacity();
      for (let k = 0; k < all.length; k += cap) this.journal.commit(all.slice(k, k + cap), (b, d) => this.writeHome(b, d));
    } else {
      for (const { block: b, data } of all) this.writeHome(b, data);
    }
    this.dev.flush();
  }

  unmount(): void {
    if (!this.mounted) return;
    if (!this.readOnly) {
      for (const ino of [...this.pinned.keys()]) { this.pinned.set(ino, 1); this.unpin(ino); }
      this.sync();
      if (this.journal) this.sb.featureIncompat = this.sb.featureIncompat & ~INCOMPAT_RECOVER;
      this.writeSuperDirect();
    }
    this.mounted = false;
    this.dev.close();
  }
}
