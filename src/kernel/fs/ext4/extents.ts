// The extent tree (EXT4_EXTENTS_FL): lookup walks the tree; changes rebuild it from the
// flat list of extents, reusing the tree's own blocks, so every tree written is packed,
// sorted and checksummed (which is all e2fsck asks of it).
import { EFBIG, EIO } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { Allocated, Ext4Context, FileMap, Mapping } from './context.js';
import { crc32c } from './crc32c.js';
import { Inode, addInodeBlocks } from './inode.js';

export const EXT4_EXT_MAGIC = 0xf30a;
const INIT_MAX_LEN = 32768;
const UNWRITTEN_MAX_LEN = 32767;
const MAX_LBLK = 2 ** 32 - 1;

export interface Extent { lblk: number; len: number; pblk: number; unwritten: boolean }

/** Fresh, empty extent root for a new inode's i_block. */
export function initExtentRoot(iblock: Buffer): void {
  iblock.fill(0);
  iblock.writeUInt16LE(EXT4_EXT_MAGIC, 0);
  iblock.writeUInt16LE(0, 2);
  iblock.writeUInt16LE(4, 4);
  iblock.writeUInt16LE(0, 6);
}

export class ExtentTree implements FileMap {
  constructor(private readonly ctx: Ext4Context, private readonly inode: Inode) {}

  private node(buf: Buffer, what: string): { entries: number; max: number; depth: number } {
    if (buf.readUInt16LE(0) !== EXT4_EXT_MAGIC) throw new Errno(EIO, `ext4: bad extent header in ${what} of inode ${this.inode.ino}`);
    return { entries: buf.readUInt16LE(2), max: buf.readUInt16LE(4), depth: buf.readUInt16LE(6) };
  }

  map(lblk: number, max: number): Mapping {
    let buf = this.inode.iblock;
    let h = this.node(buf, 'root');
    let nextStart = MAX_LBLK + 1; // first lblk beyond this subtree
    while (h.depth > 0) {
      let i = 0;
      while (i + 1 < h.entries && buf.readUInt32LE(12 + (i + 1) * 12) <= lblk) i++;
      if (i + 1 < h.entries) nextStart = Math.min(nextStart, buf.readUInt32LE(12 + (i + 1) * 12));
      const o = 12 + i * 12;
      const child = buf.readUInt32LE(o + 4) + buf.readUInt16LE(o + 8) * 2 ** 32;
      buf = this.ctx.cache.get(child);
      h = this.node(buf, `block ${child}`);
    }
    for (let i = 0; i < h.entries; i++) {
      const e = readExtent(buf, i);
      if (lblk < e.lblk) return { pblk: 0, len: Math.min(max, e.lblk - lblk), unwritten: false };
      if (lblk < e.lblk + e.len) {
        const d = lblk - e.lblk;
        return { pblk: e.pblk + d, len: Math.min(max, e.len - d), unwritten: e.unwritten };
      }
    }
    return { pblk: 0, len: Math.min(max, nextStart - lblk), unwritten: false };
  }

  /** All extents in order, and the blocks of the tree itself. */
  private load(): { extents: Extent[]; treeBlocks: number[] } {
    const extents: Extent[] = [];
    const treeBlocks: number[] = [];
    const walk = (buf: Buffer): void => {
      const h = this.node(buf, 'tree');
      for (let i = 0; i < h.entries; i++) {
        if (h.depth === 0) { extents.push(readExtent(buf, i)); continue; }
        const o = 12 + i * 12;
        const child = buf.readUInt32LE(o + 4) + buf.readUInt16LE(o + 8) * 2 ** 32;
        treeBlocks.push(child);
        walk(this.ctx.cache.get(child));
      }
    };
    walk(this.inode.iblock);
    return { extents, treeBlocks };
  }

  metaBlocks(): number[] { return this.load().treeBlocks; }

  allocate(lblk: number, count: number): Allocated[] {
    if (lblk + count > MAX_LBLK) throw new Errno(EFBIG);
    const { extents, treeBlocks } = this.load();
    const out: Allocated[] = [];
    const result: Extent[] = [];
    let cur = lblk;
    const end = lblk + count;
    let goal = this.goalFor(extents, lblk);
    let idx = 0;
    // Walk existing extents, keeping those outside [lblk, end), splitting unwritten ones
    // that overlap, and filling the holes with new blocks.
    const fill = (upto: number): void => {
      while (cur < upto) {
        const run = this.ctx.alloc.allocBlocks(goal, Math.min(upto - cur, INIT_MAX_LEN));
        addInodeBlocks(this.ctx, this.inode, run.len);
        result.push({ lblk: cur, len: run.len, pblk: run.start, unwritten: false });
        out.push({ lblk: cur, pblk: run.start, len: run.len, fresh: true });
        cur += run.len;
        goal = run.start + run.len;
      }
    };
    for (; idx < extents.length; idx++) {
      const e = extents[idx]!;
      if (e.lblk + e.len <= cur || e.lblk >= end) { result.push(e); continue; }
      fill(Math.min(e.lblk, end));
      // e overlaps [cur, end)
      const s = Math.max(e.lblk, cur);
      const t = Math.min(e.lblk + e.len, end);
      if (!e.unwritten) {
        result.push(e);
        out.push({ lblk: s, pblk: e.pblk + (s - e.lblk), len: t - s, fresh: false });
      } else {
        if (e.lblk < s) result.push({ lblk: e.lblk, len: s - e.lblk, pblk: e.pblk, unwritten: true });
        result.push({ lblk: s, len: t - s, pblk: e.pblk + (s - e.lblk), unwritten: false });
        if (t < e.lblk + e.len) result.push({ lblk: t, len: e.lblk + e.len - t, pblk: e.pblk + (t - e.lblk), unwritten: true });
        out.push({ lblk: s, pblk: e.pblk + (s - e.lblk), len: t - s, fresh: true });
      }
      cur = t;
      goal = e.pblk + (t - e.lblk);
    }
    fill(end);
    result.sort((a, b) => a.lblk - b.lblk);
    this.store(result, treeBlocks);
    return out;
  }

  truncate(lblk: number): void {
    const { extents, treeBlocks } = this.load();
    const keep: Extent[] = [];
    for (const e of extents) {
      if (e.lblk + e.len <= lblk) { keep.push(e); continue; }
      const cut = Math.max(lblk, e.lblk);
      const drop = e.lblk + e.len - cut;
      this.ctx.alloc.freeBlocks(e.pblk + (cut - e.lblk), drop);
      addInodeBlocks(this.ctx, this.inode, -drop);
      if (cut > e.lblk) keep.push({ ...e, len: cut - e.lblk });
    }
    this.store(keep, treeBlocks);
  }

  private goalFor(extents: Extent[], lblk: number): number {
    let best: Extent | undefined;
    for (const e of extents) if (e.lblk <= lblk) best = e;
    if (best) return best.pblk + (lblk - best.lblk);
    const g = this.ctx.alloc.groupOfInode(this.inode.ino);
    return this.ctx.alloc.groupFirstBlock(g);
  }

  /** Write a packed tree for `list`, reusing `oldBlocks` first. */
  private store(list: Extent[], oldBlocks: number[]): void {
    const merged: Extent[] = [];
    for (const e of list) {
      const p = merged[merged.length - 1];
      const maxLen = e.unwritten ? UNWRITTEN_MAX_LEN : INIT_MAX_LEN;
      if (p && p.unwritten === e.unwritten && p.lblk + p.len === e.lblk && p.pblk + p.len === e.pblk && p.len + e.len <= maxLen) {
        p.len += e.len;
      } else merged.push({ ...e });
    }
    const bs = this.ctx.blockSize;
    const perBlock = Math.floor((bs - 12) / 12);
    // Level 0 = leaves: lists of 12-byte entries; build upwards until the root fits in 4.
    type Entry = { first: number; bytes: Buffer };
    let level: Entry[] = merged.map((e) => ({ first: e.lblk, bytes: extentBytes(e) }));
    let depth = 0;
    const spare = [...oldBlocks];
    let goal = merged.length ? merged[0]!.pblk : this.ctx.alloc.groupFirstBlock(this.ctx.alloc.groupOfInode(this.inode.ino));
    while (level.length > 4) {
      const up: Entry[] = [];
      for (let i = 0; i < level.length; i += perBlock) {
        const chunk = level.slice(i, i + perBlock);
        let blk = spare.shift();
        if (blk === undefined) {
          blk = this.ctx.alloc.allocBlocks(goal, 1).start;
          addInodeBlocks(this.ctx, this.inode, 1);
        }
        goal = blk + 1;
        const buf = this.ctx.cache.fresh(blk);
        writeHeader(buf, chunk.length, perBlock, depth);
        chunk.forEach((c, j) => c.bytes.copy(buf, 12 + j * 12));
        this.sealBlock(buf, perBlock);
        const ib = Buffer.alloc(12);
        ib.writeUInt32LE(chunk[0]!.first, 0);
        ib.writeUInt32LE(blk % 2 ** 32, 4);
        ib.writeUInt16LE(Math.floor(blk / 2 ** 32), 8);
        up.push({ first: chunk[0]!.first, bytes: ib });
      }
      level = up;
      depth++;
    }
    for (const b of spare) {
      this.ctx.alloc.freeBlocks(b, 1);
      addInodeBlocks(this.ctx, this.inode, -1);
    }
    const root = this.inode.iblock;
    root.fill(0);
    writeHeader(root, level.length, 4, depth);
    level.forEach((c, j) => c.bytes.copy(root, 12 + j * 12));
  }

  private sealBlock(buf: Buffer, max: number): void {
    if (!this.ctx.metadataCsum) return;
    const off = 12 + max * 12;
    buf.writeUInt32LE(crc32c(this.inode.csumSeed(this.ctx.csumSeed), buf, 0, off), off);
  }
}

function writeHeader(buf: Buffer, entries: number, max: number, depth: number): void {
  buf.writeUInt16LE(EXT4_EXT_MAGIC, 0);
  buf.writeUInt16LE(entries, 2);
  buf.writeUInt16LE(max, 4);
  buf.writeUInt16LE(depth, 6);
  buf.writeUInt32LE(0, 8);
}

function readExtent(buf: Buffer, i: number): Extent {
  const o = 12 + i * 12;
  let len = buf.readUInt16LE(o + 4);
  const unwritten = len > INIT_MAX_LEN;
  if (unwritten) len -= INIT_MAX_LEN;
  return {
    lblk: buf.readUInt32LE(o),
    len,
    pblk: buf.readUInt32LE(o + 8) + buf.readUInt16LE(o + 6) * 2 ** 32,
    unwritten,
  };
}

function extentBytes(e: Extent): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(e.lblk, 0);
  b.writeUInt16LE(e.unwritten ? e.len + INIT_MAX_LEN : e.len, 4);
  b.writeUInt16LE(Math.floor(e.pblk / 2 ** 32), 6);
  b.writeUInt32LE(e.pblk % 2 ** 32, 8);
  return b;
}
