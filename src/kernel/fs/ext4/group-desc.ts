// Block group descriptors: where each group's bitmaps and inode table live, and its free
// counts. Each descriptor is kept as raw bytes (32, or s_desc_size under 64bit) with typed
// accessors; the table knows which disk block holds which descriptor (classic layout
// or meta_bg) so a dirty descriptor can be written back with its checksum.
import { crc16, crc32c, crc32cU32 } from './crc32c.js';
import { INCOMPAT_META_BG, RO_COMPAT_GDT_CSUM, Superblock } from './superblock.js';

export const EXT4_BG_INODE_UNINIT = 0x1;
export const EXT4_BG_BLOCK_UNINIT = 0x2;
export const EXT4_BG_INODE_ZEROED = 0x4;

export class GroupDesc {
  constructor(readonly raw: Buffer, private readonly wide: boolean) {}

  private lohi(lo: number, hi: number, w: 2 | 4): number {
    const l = w === 4 ? this.raw.readUInt32LE(lo) : this.raw.readUInt16LE(lo);
    if (!this.wide) return l;
    const h = w === 4 ? this.raw.readUInt32LE(hi) : this.raw.readUInt16LE(hi);
    return l + h * (w === 4 ? 2 ** 32 : 2 ** 16);
  }
  private setLohi(lo: number, hi: number, w: 2 | 4, v: number): void {
    const m = w === 4 ? 2 ** 32 : 2 ** 16;
    if (w === 4) this.raw.writeUInt32LE(v % m, lo); else this.raw.writeUInt16LE(v % m, lo);
    if (!this.wide) return;
    const h = Math.floor(v / m);
    if (w === 4) this.raw.writeUInt32LE(h, hi); else this.raw.writeUInt16LE(h, hi);
  }

  get blockBitmap(): number { return this.lohi(0x0, 0x20, 4); }
  get inodeBitmap(): number { return this.lohi(0x4, 0x24, 4); }
  get inodeTable(): number { return this.lohi(0x8, 0x28, 4); }
  get freeBlocks(): number { return this.lohi(0xc, 0x2c, 2); }
  set freeBlocks(v: number) { this.setLohi(0xc, 0x2c, 2, v); }
  get freeInodes(): number { return this.lohi(0xe, 0x2e, 2); }
  set freeInodes(v: number) { this.setLohi(0xe, 0x2e, 2, v); }
  get usedDirs(): number { return this.lohi(0x10, 0x30, 2); }
  set usedDirs(v: number) { this.setLohi(0x10, 0x30, 2, v); }
  get flags(): number { return this.raw.readUInt16LE(0x12); }
  set flags(v: number) { this.raw.writeUInt16LE(v, 0x12); }
  get itableUnused(): number { return this.lohi(0x1c, 0x32, 2); }
  set itableUnused(v: number) { this.setLohi(0x1c, 0x32, 2, v); }
  get checksum(): number { return this.raw.readUInt16LE(0x1e); }
  set checksum(v: number) { this.raw.writeUInt16LE(v, 0x1e); }
  get blockBitmapCsum(): number { return this.lohi(0x18, 0x38, 2); }
  set blockBitmapCsum(v: number) { this.setLohi(0x18, 0x38, 2, v); }
  get inodeBitmapCsum(): number { return this.lohi(0x1a, 0x3a, 2); }
  set inodeBitmapCsum(v: number) { this.setLohi(0x1a, 0x3a, 2, v); }
}

export class GroupDescTable {
  readonly descs: GroupDesc[] = [];
  readonly descSize: number;
  readonly perBlock: number;
  private readonly dirtyBlocks = new Set<number>();

  constructor(private readonly sb: Superblock, readBlock: (b: number) => Buffer) {
    this.descSize = sb.descSize;
    this.perBlock = sb.blockSize / this.descSize;
    const n = sb.groupCount;
    for (let g = 0; g < n; g += this.perBlock) {
      const blk = readBlock(this.descBlock(g));
      for (let i = 0; i < this.perBlock && g + i < n; i++) {
        const raw = Buffer.from(blk.subarray(i * this.descSize, (i + 1) * this.descSize));
        this.descs.push(new GroupDesc(raw, this.descSize >= 64));
      }
    }
  }

  get(g: number): GroupDesc { return this.descs[g]!; }

  /** The disk block holding descriptor g (primary copy). */
  descBlock(g: number): number {
    const sb = this.sb;
    const idx = Math.floor(g / this.perBlock);
    const first = sb.firstDataBlock;
    if (!sb.hasIncompat(INCOMPAT_META_BG) || idx < sb.firstMetaBg) return first + 1 + idx;
    // meta_bg: the descriptors of meta group m live in the first group of m, after its
    // superblock backup if it has one.
    const grp = idx * this.perBlock;
    return first + grp * sb.blocksPerGroup + (sb.groupHasSuper(grp) ? 1 : 0);
  }

  /** Number of blocks group g spends on superblock + descriptors (+ reserved GDT). */
  groupOverhead(g: number): { sb: number; gdt: number } {
    const sb = this.sb;
    const hasSuper = sb.groupHasSuper(g) ? 1 : 0;
    const ndescBlocks = Math.ceil(sb.groupCount / this.perBlock);
    if (!sb.hasIncompat(INCOMPAT_META_BG)) {
      return hasSuper ? { sb: 1, gdt: ndescBlocks + sb.reservedGdtBlocks } : { sb: 0, gdt: 0 };
    }
    const metaGroup = Math.floor(g / this.perBlock);
    let gdt = 0;
    if (metaGroup < sb.firstMetaBg) gdt = hasSuper ? sb.firstMetaBg + sb.reservedGdtBlocks : 0;
    else {
      const r = g % this.perBlock;
      if (r === 0 || r === 1 || r === this.perBlock - 1) gdt = 1;
    }
    return { sb: hasSuper, gdt };
  }

  markDirty(g: number): void { this.dirtyBlocks.add(Math.floor(g / this.perBlock)); }

  checksum(g: number): number {
    const sb = this.sb;
    const d = this.descs[g]!.raw;
    if (sb.metadataCsum) {
      let c = crc32cU32(sb.csumSeed(), g);
      c = crc32c(c, d, 0, 0x1e);
      c = crc32c(c, Buffer.alloc(2));
      if (this.descSize > 0x20) c = crc32c(c, d, 0x20, this.descSize);
      return c & 0xffff;
    }
    if (sb.hasRoCompat(RO_COMPAT_GDT_CSUM)) {
      let c = crc16(0xffff, sb.uuid);
      const le = Buffer.alloc(4);
      le.writeUInt32LE(g);
      c = crc16(c, le);
      c = crc16(c, d, 0, 0x1e);
      if (this.descSize > 0x20) c = crc16(c, d, 0x20, this.descSize);
      return c;
    }
    return 0;
  }

  hasChecksums(): boolean {
    return this.sb.metadataCsum || this.sb.hasRoCompat(RO_COMPAT_GDT_CSUM);
  }

  /** Serialize dirty descriptor blocks (checksums refreshed) for writing back. */
  takeDirty(): Array<{ block: number; data: Buffer }> {
    const out: Array<{ block: number; data: Buffer }> = [];
    for (const idx of [...this.dirtyBlocks].sort((a, b) => a - b)) {
      const data = Buffer.alloc(this.sb.blockSize);
      for (let i = 0; i < this.perBlock; i++) {
        const g = idx * this.perBlock + i;
        const d = this.descs[g];
        if (!d) break;
        if (this.hasChecksums()) d.checksum = this.checksum(g);
        d.raw.copy(data, i * this.descSize);
      }
      out.push({ block: this.descBlock(idx * this.perBlock), data });
    }
    this.dirtyBlocks.clear();
    return out;
  }
}
