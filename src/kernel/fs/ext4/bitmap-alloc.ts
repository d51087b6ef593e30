// Block and inode allocation over the per-group bitmaps, keeping every count that
// e2fsck cross-checks (group free counts, used dirs, itable_unused, superblock totals)
// and initializing groups that mke2fs left BLOCK_UNINIT / INODE_UNINIT.
import { ENOSPC } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { BlockCache } from './block-cache.js';
import { crc32c } from './crc32c.js';
import { EXT4_BG_BLOCK_UNINIT, EXT4_BG_INODE_UNINIT, GroupDescTable } from './group-desc.js';
import type { Superblock } from './superblock.js';

export class BitmapAllocator {
  private readonly changedGroups = new Set<number>();
  private readonly bs: number;

  constructor(private readonly sb: Superblock, private readonly gdt: GroupDescTable, private readonly cache: BlockCache) {
    this.bs = sb.blockSize;
  }

  groupOfBlock(b: number): number { return Math.floor((b - this.sb.firstDataBlock) / this.sb.blocksPerGroup); }
  groupFirstBlock(g: number): number { return this.sb.firstDataBlock + g * this.sb.blocksPerGroup; }
  groupBlockCount(g: number): number {
    return Math.min(this.sb.blocksPerGroup, this.sb.blocksCount - this.groupFirstBlock(g));
  }
  groupOfInode(ino: number): number { return Math.floor((ino - 1) / this.sb.inodesPerGroup); }

  private blockBitmap(g: number): Buffer {
    const d = this.gdt.get(g);
    if (d.flags & EXT4_BG_BLOCK_UNINIT) {
      const buf = this.cache.fresh(d.blockBitmap);
      for (const b of this.groupMetaBlocks(g)) setBit(buf, b - this.groupFirstBlock(g));
      for (let i = this.groupBlockCount(g); i < this.bs * 8; i++) setBit(buf, i);
      d.flags &= ~EXT4_BG_BLOCK_UNINIT;
      this.touch(g);
      return buf;
    }
    return this.cache.get(d.blockBitmap);
  }

  private inodeBitmap(g: number): Buffer {
    const d = this.gdt.get(g);
    if (d.flags & EXT4_BG_INODE_UNINIT) {
      const buf = this.cache.fresh(d.inodeBitmap);
      for (let i = this.sb.inodesPerGroup; i < this.bs * 8; i++) setBit(buf, i);
      d.flags &= ~EXT4_BG_INODE_UNINIT;
      this.touch(g);
      return buf;
    }
    return this.cache.get(d.inodeBitmap);
  }

  /** Blocks of group g used by superblock/GDT copies and by any group's bitmaps/table. */
  private groupMetaBlocks(g: number): number[] {
    const out: number[] = [];
    const first = this.groupFirstBlock(g);
    const { sb, gdt } = this.gdt.groupOverhead(g);
    for (let i = 0; i < sb + gdt; i++) out.push(first + i);
    const end = first + this.groupBlockCount(g);
    const itBlocks = Math.ceil((this.sb.inodesPerGroup * this.sb.inodeSize) / this.bs);
    for (const d of this.gdt.descs) {
      for (const b of [d.blockBitmap, d.inodeBitmap]) if (b >= first && b < end) out.push(b);
      for (let i = 0; i < itBlocks; i++) {
        const b = d.inodeTable + i;
        if (b >= first && b < end) out.push(b);
      }
    }
    return out;
  }

  private touch(g: number): void {
    this.changedGroups.add(g);
    this.gdt.markDirty(g);
  }

  isBlockUsed(b: number): boolean {
    const g = this.groupOfBlock(b);
    return testBit(this.blockBitmap(g), b - this.groupFirstBlock(g));
  }

  /**
   * Allocate up to `count` contiguous blocks, preferring `goal`. Returns the run found
   * (len >= 1); throws ENOSPC when the volume is full.
   */
  allocBlocks(goal: number, count: number): { start: number; len: number } {
    if (this.sb.freeBlocksCount === 0) throw new Errno(ENOSPC);
    const ng = this.sb.groupCount;
    if (goal < this.sb.firstDataBlock || goal >= this.sb.blocksCount) goal = this.sb.firstDataBlock;
    const g0 = this.groupOfBlock(goal);
    for (let k = 0; k <= ng; k++) {
      const g = (g0 + k) % ng;
      const d = this.gdt.get(g);
      if (d.freeBlocks === 0) continue;
      const bm = this.blockBitmap(g);
      const n = this.groupBlockCount(g);
      const startBit = k === 0 ? goal - this.groupFirstBlock(g) : 0;
      let bit = findZero(bm, startBit, n);
      if (bit < 0 && k === 0 && startBit > 0) bit = findZero(bm, 0, n);
      if (bit < 0) continue;
      let len = 1;
      while (len < count && bit + len < n && !testBit(bm, bit + len)) len++;
      for (let i = 0; i < len; i++) setBit(bm, bit + i);
      this.cache.markDirty(d.blockBitmap);
      d.freeBlocks -= len;
      this.sb.freeBlocksCount -= len;
      this.touch(g);
      return { start: this.groupFirstBlock(g) + bit, len };
    }
    throw new Errno(ENOSPC);
  }

  freeBlocks(start: number, len: number): void {
    while (len > 0) {
      const g = this.groupOfBlock(start);
      const d = this.gdt.get(g);
      const bm = this.blockBitmap(g);
      const off = start - this.groupFirstBlock(g);
      const n = Math.min(len, this.groupBlockCount(g) - off);
      for (let i = 0; i < n; i++) {
        if (!testBit(bm, off + i)) throw new Error(`ext4: freeing free block ${start + i}`);
        clearBit(bm, off + i);
        this.cache.forget(start + i);
      }
      this.cache.markDirty(d.blockBitmap);
      d.freeBlocks += n;
      this.sb.freeBlocksCount += n;
      this.touch(g);
      start += n;
      len -= n;
    }
  }

  /** Allocate an inode, near the parent's group for files, spread out for directories. */
  allocInode(parentIno: number, isDir: boolean): number {
    if (this.sb.freeInodesCount === 0) throw new Errno(ENOSPC);
    const ng = this.sb.groupCount;
    let g0 = this.groupOfInode(parentIno);
    if (isDir) {
      // Spread directories: the group with the most free inodes among those with an
      // above-average count of free blocks (a cheap Orlov).
      const avgBlocks = this.sb.freeBlocksCount / ng;
      let best = -1;
      for (let g = 0; g < ng; g++) {
        const d = this.gdt.get(g);
        if (d.freeInodes === 0) continue;
        if (best < 0 || (d.freeBlocks >= avgBlocks && d.freeInodes > this.gdt.get(best).freeInodes)) best = g;
      }
      if (best >= 0) g0 = best;
    }
    const ipg = this.sb.inodesPerGroup;
    for (let k = 0; k < ng; k++) {
      const g = (g0 + k) % ng;
      const d = this.gdt.get(g);
      if (d.freeInodes === 0) continue;
      const bm = this.inodeBitmap(g);
      const minBit = g === 0 ? this.sb.firstIno - 1 : 0;
      const bit = findZero(bm, minBit, ipg);
      if (bit < 0) continue;
      setBit(bm, bit);
      this.cache.markDirty(d.inodeBitmap);
      d.freeInodes -= 1;
      if (isDir) d.usedDirs += 1;
      if (this.gdt.hasChecksums() && bit >= ipg - d.itableUnused) d.itableUnused = ipg - bit - 1;
      this.sb.freeInodesCount -= 1;
      this.touch(g);
      return g * ipg + bit + 1;
    }
    throw new Errno(ENOSPC);
  }

  freeInode(ino: number, isDir: boolean): void {
    const g = this.groupOfInode(ino);
    const d = this.gdt.get(g);
    const bm = this.inodeBitmap(g);
    const bit = (ino - 1) % this.sb.inodesPerGroup;
    if (!testBit(bm, bit)) throw new Error(`ext4: freeing free inode ${ino}`);
    clearBit(bm, bit);
    this.cache.markDirty(d.inodeBitmap);
    d.freeInodes += 1;
    if (isDir) d.usedDirs -= 1;
    this.sb.freeInodesCount += 1;
    this.touch(g);
  }

  /** Refresh bitmap checksums of every group changed since the last call. */
  sealGroups(csumSeed: number): void {
    if (!this.sb.metadataCsum) { this.changedGroups.clear(); return; }
    for (const g of this.changedGroups) {
      const d = this.gdt.get(g);
      if (!(d.flags & EXT4_BG_BLOCK_UNINIT)) {
        d.blockBitmapCsum = fitCsum(crc32c(csumSeed, this.cache.get(d.blockBitmap), 0, this.sb.clustersPerGroup / 8), this.gdt.descSize);
      }
      if (!(d.flags & EXT4_BG_INODE_UNINIT)) {
        d.inodeBitmapCsum = fitCsum(crc32c(csumSeed, this.cache.get(d.inodeBitmap), 0, this.sb.inodesPerGroup / 8), this.gdt.descSize);
      }
      this.gdt.markDirty(g);
    }
    this.changedGroups.clear();
  }
}

/** Only the low 16 bits of a bitmap checksum fit in a 32-byte descriptor. */
function fitCsum(c: number, descSize: number): number { return descSize >= 64 ? c : c & 0xffff; }

export function testBit(b: Buffer, i: number): boolean { return (b[i >> 3]! & (1 << (i & 7))) !== 0; }
export function setBit(b: Buffer, i: number): void { b[i >> 3]! |= 1 << (i & 7); }
export function clearBit(b: Buffer, i: number): void { b[i >> 3]! &= ~(1 << (i & 7)); }

/** First clear bit in [from, to), or -1. */
export function findZero(b: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    if ((i & 7) === 0 && b[i >> 3] === 0xff) { i += 8; continue; }
    if (!testBit(b, i)) return i;
    i++;
  }
  return -1;
}
