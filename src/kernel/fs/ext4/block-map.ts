// ext2/ext3 block maps: 12 direct pointers in i_block, then single, double and triple
// indirect blocks of 32-bit block numbers.
import { EFBIG } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { Allocated, Ext4Context, FileMap, Mapping } from './context.js';
import { Inode, addInodeBlocks } from './inode.js';

const NDIR = 12;

export class IndirectMap implements FileMap {
  private readonly per: number;

  constructor(private readonly ctx: Ext4Context, private readonly inode: Inode) {
    this.per = ctx.blockSize / 4;
  }

  /** Path of (slot index) from i_block down to the data pointer, or null past the end. */
  private path(lblk: number): number[] {
    const p = this.per;
    if (lblk < NDIR) return [lblk];
    lblk -= NDIR;
    if (lblk < p) return [12, lblk];
    lblk -= p;
    if (lblk < p * p) return [13, Math.floor(lblk / p), lblk % p];
    lblk -= p * p;
    if (lblk < p * p * p) return [14, Math.floor(lblk / (p * p)), Math.floor(lblk / p) % p, lblk % p];
    throw new Errno(EFBIG);
  }

  private lookup(lblk: number): number {
    const path = this.path(lblk);
    let ptr = this.inode.iblock.readUInt32LE(path[0]! * 4);
    for (let i = 1; i < path.length && ptr !== 0; i++) ptr = this.ctx.cache.get(ptr).readUInt32LE(path[i]! * 4);
    return ptr;
  }

  map(lblk: number, max: number): Mapping {
    const first = this.lookup(lblk);
    let len = 1;
    const cap = Math.min(max, 1024);
    while (len < cap) {
      const next = this.lookup(lblk + len);
      if (first === 0 ? next !== 0 : next !== first + len) break;
      len++;
    }
    return { pblk: first, len, unwritten: false };
  }

  allocate(lblk: number, count: number): Allocated[] {
    const out: Allocated[] = [];
    let goal = this.goalFor(lblk);
    let run: { start: number; len: number } | null = null;
    for (let l = lblk; l < lblk + count; l++) {
      const path = this.path(l);
      // Walk/create the indirect chain, the last slot holding the data block.
      let holder = this.inode.iblock;
      let holderBlock = -1;
      for (let i = 0; i < path.length; i++) {
        const slot = path[i]! * 4;
        let ptr = holder.readUInt32LE(slot);
        const isData = i === path.length - 1;
        if (ptr === 0) {
          if (isData) {
            if (!run || run.len === 0) {
              run = this.ctx.alloc.allocBlocks(goal, lblk + count - l);
              addInodeBlocks(this.ctx, this.inode, run.len);
            }
            ptr = run.start;
            run.start++;
            run.len--;
          } else {
            ptr = this.ctx.alloc.allocBlocks(goal, 1).start;
            addInodeBlocks(this.ctx, this.inode, 1);
            this.ctx.cache.fresh(ptr);
          }
          holder.writeUInt32LE(ptr, slot);
          if (holderBlock >= 0) this.ctx.cache.markDirty(holderBlock);
          if (isData) {
            pushRun(out, l, ptr, true);
          }
        } else if (isData) pushRun(out, l, ptr, false);
        goal = ptr + 1;
        if (!isData) { holder = this.ctx.cache.get(ptr); holderBlock = ptr; }
      }
    }
    // Blocks of a run allocated past what was needed go back.
    if (run && run.len > 0) {
      this.ctx.alloc.freeBlocks(run.start, run.len);
      addInodeBlocks(this.ctx, this.inode, -run.len);
    }
    return out;
  }

  private goalFor(lblk: number): number {
    for (let l = lblk - 1; l >= 0 && l >= lblk - 16; l--) {
      const p = this.lookup(l);
      if (p) return p + (lblk - l);
    }
    return this.ctx.alloc.groupFirstBlock(this.ctx.alloc.groupOfInode(this.inode.ino));
  }

  truncate(lblk: number): void {
    const p = this.per;
    const ib = this.inode.iblock;
    for (let i = Math.max(lblk, 0); i < NDIR; i++) {
      const b = ib.readUInt32LE(i * 4);
      if (b) { this.free(b); ib.writeUInt32LE(0, i * 4); }
    }
    const spans = [p, p * p, p * p * p];
    let base = NDIR;
    for (let level = 1; level <= 3; level++) {
      const slot = (11 + level) * 4;
      const b = ib.readUInt32LE(slot);
      if (b && this.truncTree(b, level, base, lblk)) ib.writeUInt32LE(0, slot);
      base += spans[level - 1]!;
    }
  }

  /** Free everything at or past lblk under an indirect block; true if the block went too. */
  private truncTree(block: number, level: number, base: number, lblk: number): boolean {
    const p = this.per;
    const span = p ** (level - 1);
    if (base + p * span <= lblk) return false;
    const buf = this.ctx.cache.get(block);
    let changed = false;
    for (let i = 0; i < p; i++) {
      const child = buf.readUInt32LE(i * 4);
      if (!child) continue;
      const cbase = base + i * span;
      if (cbase + span <= lblk) continue;
      if (level === 1) { this.free(child); buf.writeUInt32LE(0, i * 4); changed = true; continue; }
      if (this.truncTree(child, level - 1, cbase, lblk)) { buf.writeUInt32LE(0, i * 4); changed = true; }
    }
    if (base >= lblk) { this.free(block); return true; }
    if (changed) this.ctx.cache.markDirty(block);
    return false;
  }

  private free(b: number): void {
    this.ctx.alloc.freeBlocks(b, 1);
    addInodeBlocks(this.ctx, this.inode, -1);
  }

  metaBlocks(): number[] {
    const out: number[] = [];
    const walk = (b: number, level: number): void => {
      out.push(b);
      if (level === 1) return;
      const buf = this.ctx.cache.get(b);
      for (let i = 0; i < this.per; i++) { const c = buf.readUInt32LE(i * 4); if (c) walk(c, level - 1); }
    };
    for (let level = 1; level <= 3; level++) {
      const b = this.inode.iblock.readUInt32LE((11 + level) * 4);
      if (b) walk(b, level);
    }
    return out;
  }
}

function pushRun(out: Allocated[], lblk: number, pblk: number, fresh: boolean): void {
  const p = out[out.length - 1];
  if (p && p.fresh === fresh && p.lblk + p.len === lblk && p.pblk + p.len === pblk) p.len++;
  else out.push({ lblk, pblk, len: 1, fresh });
}
