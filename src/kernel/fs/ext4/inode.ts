// The on-disk inode (s_inode_size bytes, usually 256): kept as raw bytes with typed
// accessors so unknown fields survive; plus its metadata_csum checksum and the ns time
// encoding of the extra fields.
import { crc32c, crc32cU32 } from './crc32c.js';

export const EXT4_ROOT_INO = 2;
export const EXT4_RESIZE_INO = 7;
export const EXT4_JOURNAL_INO = 8;
export const EXT4_GOOD_OLD_INODE_SIZE = 128;

// i_flags
export const EXT4_SECRM_FL = 0x1;
export const EXT4_IMMUTABLE_FL = 0x10;
export const EXT4_APPEND_FL = 0x20;
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_HUGE_FILE_FL = 0x40000;
export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_EA_INODE_FL = 0x200000;
export const EXT4_INLINE_DATA_FL = 0x10000000;
export const EXT4_CASEFOLD_FL = 0x40000000;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface Timespec { sec: number; nsec: number }

export class Inode {
  /** i_extra_isize field offsets (relative to the inode start). */
  static readonly EXTRA_ISIZE = 0x80;

  constructor(readonly ino: number, readonly raw: Buffer) {}

  private u16(o: number): number { return this.raw.readUInt16LE(o); }
  private u32(o: number): number { return this.raw.readUInt32LE(o); }
  private s16(o: number, v: number): void { this.raw.writeUInt16LE(v & 0xffff, o); }
  private s32(o: number, v: number): void { this.raw.writeUInt32LE(v >>> 0, o); }

  get mode(): number { return this.u16(0x0); }
  set mode(v: number) { this.s16(0x0, v); }
  get uid(): number { return this.u16(0x2) | (this.u16(0x78) << 16); }
  set uid(v: number) { this.s16(0x2, v); this.s16(0x78, v >>> 16); }
  get gid(): number { return this.u16(0x18) | (this.u16(0x7a) << 16); }
  set gid(v: number) { this.s16(0x18, v); this.s16(0x7a, v >>> 16); }
  get size(): number { return this.u32(0x4) + this.u32(0x6c) * 2 ** 32; }
  set size(v: number) { this.s32(0x4, v % 2 ** 32); this.s32(0x6c, Math.floor(v / 2 ** 32)); }
  get dtime(): number { return this.u32(0x14); }
  set dtime(v: number) { this.s32(0x14, v); }
  get linksCount(): number { return this.u16(0x1a); }
  set linksCount(v: number) { this.s16(0x1a, v); }
  /** i_blocks as stored (units depend on huge_file / EXT4_HUGE_FILE_FL). */
  get blocksRaw(): number { return this.u32(0x1c) + this.u16(0x74) * 2 ** 32; }
  set blocksRaw(v: number) { this.s32(0x1c, v % 2 ** 32); this.s16(0x74, Math.floor(v / 2 ** 32)); }
  get flags(): number { return this.u32(0x20); }
  set flags(v: number) { this.s32(0x20, v); }
  /** The 60-byte i_block area: block map, extent root, fast symlink or inline data. */
  get iblock(): Buffer { return this.raw.subarray(0x28, 0x28 + 60); }
  get generation(): number { return this.u32(0x64); }
  set generation(v: number) { this.s32(0x64, v); }
  get fileAcl(): number { return this.u32(0x68) + this.u16(0x76) * 2 ** 32; }
  set fileAcl(v: number) { this.s32(0x68, v % 2 ** 32); this.s16(0x76, Math.floor(v / 2 ** 32)); }
  get extraIsize(): number { return this.raw.length > EXT4_GOOD_OLD_INODE_SIZE ? this.u16(0x80) : 0; }
  set extraIsize(v: number) { if (this.raw.length > EXT4_GOOD_OLD_INODE_SIZE) this.s16(0x80, v); }

  get fileType(): number { return this.mode & S_IFMT; }
  get isDir(): boolean { return this.fileType === S_IFDIR; }
  get isReg(): boolean { return this.fileType === S_IFREG; }
  get isSymlink(): boolean { return this.fileType === S_IFLNK; }
  hasFlag(f: number): boolean { return (this.flags & f) !== 0; }

  /** Does the extra area reach the field that ends at byte `end` (offset from 0)? */
  private extraHas(end: number): boolean {
    return this.raw.length > EXT4_GOOD_OLD_INODE_SIZE && EXT4_GOOD_OLD_INODE_SIZE + this.extraIsize >= end;
  }

  private getTime(base: number, extra: number): Timespec {
    const lo = this.raw.readInt32LE(base);
    if (!this.extraHas(extra + 4)) return { sec: lo, nsec: 0 };
    const x = this.u32(extra);
    const epoch = x & 3;
    return { sec: lo + epoch * 2 ** 32, nsec: x >>> 2 };
  }
  private setTime(base: number, extra: number, t: Timespec): void {
    const sec = Math.floor(t.sec);
    const lo = ((sec % 2 ** 32) + 2 ** 32) % 2 ** 32;
    this.s32(base, lo);
    if (!this.extraHas(extra + 4)) return;
    // The epoch bits extend the signed 32-bit seconds: (sec - (int32)lo) >> 32.
    const signedLo = lo >= 2 ** 31 ? lo - 2 ** 32 : lo;
    const epoch = ((sec - signedLo) / 2 ** 32) & 3;
    this.s32(extra, ((t.nsec & 0x3fffffff) << 2 | epoch) >>> 0);
  }
  get atime(): Timespec { return this.getTime(0x8, 0x8c); }
  set atime(t: Timespec) { this.setTime(0x8, 0x8c, t); }
  get ctime(): Timespec { return this.getTime(0xc, 0x84); }
  set ctime(t: Timespec) { this.setTime(0xc, 0x84, t); }
  get mtime(): Timespec { return this.getTime(0x10, 0x88); }
  set mtime(t: Timespec) { this.setTime(0x10, 0x88, t); }
  get crtime(): Timespec { return this.extraHas(0x94) ? this.getTime(0x90, 0x94) : { sec: 0, nsec: 0 }; }
  set crtime(t: Timespec) { if (this.extraHas(0x94)) this.setTime(0x90, 0x94, t); }

  /** Seed for checksums of blocks owned by this inode (extent tree, dir blocks). */
  csumSeed(fsSeed: number): number {
    return crc32cU32(crc32cU32(fsSeed, this.ino), this.generation);
  }

  computeChecksum(fsSeed: number): number {
    const r = this.raw;
    let c = this.csumSeed(fsSeed);
    const zero = Buffer.alloc(2);
    c = crc32c(c, r, 0, 0x7c);
    c = crc32c(c, zero);
    c = crc32c(c, r, 0x7e, EXT4_GOOD_OLD_INODE_SIZE);
    if (r.length > EXT4_GOOD_OLD_INODE_SIZE) {
      c = crc32c(c, r, 0x80, 0x82);
      if (this.extraHas(0x84)) {
        c = crc32c(c, zero);
        c = crc32c(c, r, 0x84, r.length);
      } else c = crc32c(c, r, 0x82, r.length);
    }
    return c;
  }

  updateChecksum(fsSeed: number): void {
    const c = this.computeChecksum(fsSeed);
    this.s16(0x7c, c & 0xffff);
    if (this.extraHas(0x84)) this.s16(0x82, c >>> 16);
  }

  checksumValid(fsSeed: number): boolean {
    const c = this.computeChecksum(fsSeed);
    if ((c & 0xffff) !== this.u16(0x7c)) return false;
    return !this.extraHas(0x84) || (c >>> 16) === this.u16(0x82);
  }
}

/** DT_* directory entry type for a mode. */
export function modeToDirType(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return 1;
    case S_IFDIR: return 2;
    case S_IFCHR: return 3;
    case S_IFBLK: return 4;
    case S_IFIFO: return 5;
    case S_IFSOCK: return 6;
    case S_IFLNK: return 7;
    default: return 0;
  }
}

/** Account n filesystem blocks (negative to release) in i_blocks. */
export function addInodeBlocks(ctx: { blockSize: number }, inode: Inode, n: number): void {
  const unit = inode.hasFlag(EXT4_HUGE_FILE_FL) ? 1 : ctx.blockSize / 512;
  inode.blocksRaw = inode.blocksRaw + n * unit;
}

/** i_blocks in 512-byte sectors, whatever the stored unit. */
export function inodeSectors(blockSize: number, inode: Inode): number {
  return inode.hasFlag(EXT4_HUGE_FILE_FL) ? inode.blocksRaw * (blockSize / 512) : inode.blocksRaw;
}
