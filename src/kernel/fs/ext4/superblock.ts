// The ext2/3/4 superblock: 1024 bytes at byte 1024 of the volume. Kept as its raw bytes
// with typed accessors, so fields this code does not know survive a rewrite unchanged.
import { crc32c } from './crc32c.js';

export const EXT4_SUPER_MAGIC = 0xef53;
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;

// s_feature_compat
export const COMPAT_DIR_PREALLOC = 0x1;
export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_EXT_ATTR = 0x8;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_DIR_INDEX = 0x20;
export const COMPAT_SPARSE_SUPER2 = 0x200;
export const COMPAT_FAST_COMMIT = 0x400;
export const COMPAT_ORPHAN_FILE = 0x1000;
// s_feature_incompat
export const INCOMPAT_COMPRESSION = 0x1;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_RECOVER = 0x4;
export const INCOMPAT_JOURNAL_DEV = 0x8;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_MMP = 0x100;
export const INCOMPAT_FLEX_BG = 0x200;
export const INCOMPAT_EA_INODE = 0x400;
export const INCOMPAT_DIRDATA = 0x1000;
export const INCOMPAT_CSUM_SEED = 0x2000;
export const INCOMPAT_LARGEDIR = 0x4000;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
export const INCOMPAT_CASEFOLD = 0x20000;
// s_feature_ro_compat
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_LARGE_FILE = 0x2;
export const RO_COMPAT_BTREE_DIR = 0x4;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_GDT_CSUM = 0x10;
export const RO_COMPAT_DIR_NLINK = 0x20;
export const RO_COMPAT_EXTRA_ISIZE = 0x40;
export const RO_COMPAT_QUOTA = 0x100;
export const RO_COMPAT_BIGALLOC = 0x200;
export const RO_COMPAT_METADATA_CSUM = 0x400;
export const RO_COMPAT_READONLY = 0x1000;
export const RO_COMPAT_PROJECT = 0x2000;
export const RO_COMPAT_SHARED_BLOCKS = 0x4000;
export const RO_COMPAT_VERITY = 0x8000;
export const RO_COMPAT_ORPHAN_PRESENT = 0x10000;

/** Features this implementation reads. */
export const INCOMPAT_SUPPORTED_READ =
  INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG | INCOMPAT_EXTENTS | INCOMPAT_64BIT |
  INCOMPAT_FLEX_BG | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA | INCOMPAT_MMP;
/** ro_compat features whose on-disk rules the write path keeps. */
export const RO_COMPAT_SUPPORTED_WRITE =
  RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR | RO_COMPAT_HUGE_FILE |
  RO_COMPAT_GDT_CSUM | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM;

// s_flags
export const EXT2_FLAGS_SIGNED_HASH = 0x1;
export const EXT2_FLAGS_UNSIGNED_HASH = 0x2;

// s_state
export const EXT2_VALID_FS = 0x1;
export const EXT2_ERROR_FS = 0x2;

export class Superblock {
  constructor(readonly raw: Buffer) {}

  private u16(o: number): number { return this.raw.readUInt16LE(o); }
  private u32(o: number): number { return this.raw.readUInt32LE(o); }
  private s16(o: number, v: number): void { this.raw.writeUInt16LE(v & 0xffff, o); }
  private s32(o: number, v: number): void { this.raw.writeUInt32LE(v >>> 0, o); }
  private lohi(lo: number, hi: number): number { return this.u32(lo) + (this.is64bit ? this.u32(hi) * 2 ** 32 : 0); }
  private setLohi(lo: number, hi: number, v: number): void {
    this.s32(lo, v % 2 ** 32);
    if (this.is64bit) this.s32(hi, Math.floor(v / 2 ** 32));
  }

  get inodesCount(): number { return this.u32(0x0); }
  get blocksCount(): number { return this.lohi(0x4, 0x150); }
  get rBlocksCount(): number { return this.lohi(0x8, 0x154); }
  get freeBlocksCount(): number { return this.lohi(0xc, 0x158); }
  set freeBlocksCount(v: number) { this.setLohi(0xc, 0x158, v); }
  get freeInodesCount(): number { return this.u32(0x10); }
  set freeInodesCount(v: number) { this.s32(0x10, v); }
  get firstDataBlock(): number { return this.u32(0x14); }
  get logBlockSize(): number { return this.u32(0x18); }
  get blockSize(): number { return 1024 << this.logBlockSize; }
  get logClusterSize(): number { return this.u32(0x1c); }
  get blocksPerGroup(): number { return this.u32(0x20); }
  get clustersPerGroup(): number { return this.u32(0x24); }
  get inodesPerGroup(): number { return this.u32(0x28); }
  set mtime(v: number) { this.s32(0x2c, v); }
  set wtime(v: number) { this.s32(0x30, v); }
  get mntCount(): number { return this.u16(0x34); }
  set mntCount(v: number) { this.s16(0x34, v); }
  get magic(): number { return this.u16(0x38); }
  get state(): number { return this.u16(0x3a); }
  set state(v: number) { this.s16(0x3a, v); }
  get revLevel(): number { return this.u32(0x4c); }
  get firstIno(): number { return this.revLevel === 0 ? 11 : this.u32(0x54); }
  get inodeSize(): number { return this.revLevel === 0 ? 128 : this.u16(0x58); }
  get featureCompat(): number { return this.u32(0x5c); }
  get featureIncompat(): number { return this.u32(0x60); }
  set featureIncompat(v: number) { this.s32(0x60, v); }
  get featureRoCompat(): number { return this.u32(0x64); }
  get uuid(): Buffer { return this.raw.subarray(0x68, 0x78); }
  get volumeName(): string { return cstr(this.raw.subarray(0x78, 0x88)); }
  get reservedGdtBlocks(): number { return this.u16(0xce); }
  get journalInum(): number { return this.u32(0xe0); }
  get journalDev(): number { return this.u32(0xe4); }
  get lastOrphan(): number { return this.u32(0xe8); }
  /** s_hash_seed as four u32 words. */
  get hashSeed(): number[] { return [0, 1, 2, 3].map((i) => this.u32(0xec + 4 * i)); }
  get defHashVersion(): number { return this.raw[0xfc]!; }
  get descSize(): number { return this.is64bit ? this.u16(0xfe) || 64 : 32; }
  get firstMetaBg(): number { return this.u32(0x104); }
  get minExtraIsize(): number { return this.u16(0x15c); }
  get wantExtraIsize(): number { return this.u16(0x15e); }
  get flags(): number { return this.u32(0x160); }
  get logGroupsPerFlex(): number { return this.raw[0x174]!; }
  get checksumType(): number { return this.raw[0x175]!; }
  get backupBgs(): [number, number] { return [this.u32(0x24c), this.u32(0x250)]; }
  get checksumSeed(): number { return this.u32(0x270); }
  get checksum(): number { return this.u32(0x3fc); }

  get is64bit(): boolean { return (this.u32(0x60) & INCOMPAT_64BIT) !== 0; }
  hasCompat(f: number): boolean { return (this.featureCompat & f) !== 0; }
  hasIncompat(f: number): boolean { return (this.featureIncompat & f) !== 0; }
  hasRoCompat(f: number): boolean { return (this.featureRoCompat & f) !== 0; }
  get metadataCsum(): boolean { return this.hasRoCompat(RO_COMPAT_METADATA_CSUM); }
  get groupCount(): number {
    return Math.ceil((this.blocksCount - this.firstDataBlock) / this.blocksPerGroup);
  }

  /** The seed every metadata checksum starts from. */
  csumSeed(): number {
    if (this.hasIncompat(INCOMPAT_CSUM_SEED)) return this.checksumSeed;
    return crc32c(0xffffffff, this.uuid);
  }

  computeChecksum(): number { return crc32c(0xffffffff, this.raw, 0, 0x3fc); }
  updateChecksum(): void { if (this.metadataCsum) this.s32(0x3fc, this.computeChecksum()); }
  checksumValid(): boolean { return !this.metadataCsum || this.computeChecksum() === this.checksum; }

  /** Does block group g hold a superblock backup (sparse_super / sparse_super2 rules)? */
  groupHasSuper(g: number): boolean {
    if (g === 0) return true;
    if (this.hasCompat(COMPAT_SPARSE_SUPER2)) {
      const [a, b] = this.backupBgs;
      return g === a || g === b;
    }
    if (g <= 1 || !this.hasRoCompat(RO_COMPAT_SPARSE_SUPER)) return true;
    if (!(g & 1)) return false;
    return isPower(g, 3) || isPower(g, 5) || isPower(g, 7);
  }
}

function isPower(n: number, b: number): boolean {
  let x = b;
  while (x < n) x *= b;
  return x === n;
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}
