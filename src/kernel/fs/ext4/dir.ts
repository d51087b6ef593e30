// Directories: linear blocks of ext4_dir_entry_2 records (with the metadata_csum tail),
// htree (dir_index) lookup and insertion with leaf and index-node splits, and read-only
// inline-data directories. The caller writes the directory inode back afterwards.
import { EEXIST, EIO, ENAMETOOLONG, ENOENT } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { Ext4Context, FileMap } from './context.js';
import { crc32c } from './crc32c.js';
import { dirHash } from './dirhash.js';
import { EXT4_INDEX_FL, EXT4_INLINE_DATA_FL, Inode } from './inode.js';
import {
  COMPAT_DIR_INDEX, EXT2_FLAGS_UNSIGNED_HASH, INCOMPAT_FILETYPE, INCOMPAT_LARGEDIR,
} from './superblock.js';

export const EXT4_NAME_LEN = 255;
const TAIL_SIZE = 12;
const TAIL_FT = 0xde;

export interface DirEntry { name: Buffer; ino: number; type: number }

/** Bytes a record with this name length needs. */
export function recSize(nameLen: number): number { return (8 + nameLen + 3) & ~3; }

interface Frame { lblk: number; pblk: number; buf: Buffer; countOff: number; idx: number }

export class Directory {
  private readonly bs: number;
  private readonly csum: boolean;
  private readonly filetype: boolean;

  constructor(
    private readonly ctx: Ext4Context,
    readonly inode: Inode,
    private readonly fmap: FileMap,
    /** Inline-data directory body (i_block + system.data), when the dir is inline. */
    private readonly inlineBody?: Buffer,
  ) {
    this.bs = ctx.blockSize;
    this.csum = ctx.metadataCsum;
    this.filetype = ctx.sb.hasIncompat(INCOMPAT_FILETYPE);
  }

  private get nblocks(): number { return Math.floor(this.inode.size / this.bs); }
  private get usable(): number { return this.bs - (this.csum ? TAIL_SIZE : 0); }
  private get indexed(): boolean {
    return this.inode.hasFlag(EXT4_INDEX_FL) && this.ctx.sb.hasCompat(COMPAT_DIR_INDEX);
  }

  private pblk(lblk: number): number {
    const m = this.fmap.map(lblk, 1);
    if (m.pblk === 0) throw new Errno(EIO, `ext4: hole in directory ${this.inode.ino} at block ${lblk}`);
    return m.pblk;
  }

  private recLen(buf: Buffer, off: number): number {
    const v = buf.readUInt16LE(off + 4);
    if (this.bs < 65536) return v;
    return v === 65535 || v === 0 ? 65536 : (v & 65532) | ((v & 3) << 16);
  }
  private setRecLen(buf: Buffer, off: number, len: number): void {
    if (this.bs < 65536 || len < 65536) buf.writeUInt16LE(len === 65536 ? 65535 : len, off + 4);
    else buf.writeUInt16LE(65535, off + 4);
  }
  private nameLen(buf: Buffer, off: number): number {
    return this.filetype ? buf[off + 6]! : buf.readUInt16LE(off + 6);
  }

  private writeEntry(buf: Buffer, off: number, recLen: number, e: DirEntry): void {
    buf.writeUInt32LE(e.ino, off);
    this.setRecLen(buf, off, recLen);
    if (this.filetype) { buf[off + 6] = e.name.length; buf[off + 7] = e.type; }
    else buf.writeUInt16LE(e.name.length, off + 6);
    e.name.copy(buf, off + 8);
  }

  /** Entries of one leaf-format block (inode 0 records skipped). */
  private *blockEntries(buf: Buffer, start = 0, end = buf.length): Generator<DirEntry & { off: number; prev: number; rec: number }> {
    let off = start;
    let prev = -1;
    while (off + 8 <= end) {
      const rec = this.recLen(buf, off);
      if (rec < 8 || off + rec > end || rec % 4) throw new Errno(EIO, `ext4: corrupt directory ${this.inode.ino}`);
      const ino = buf.readUInt32LE(off);
      const nl = this.nameLen(buf, off);
      if (ino !== 0 && !(this.csum && rec === TAIL_SIZE && nl === 0)) {
        yield { name: buf.subarray(off + 8, off + 8 + nl), ino, type: this.filetype ? buf[off + 7]! : 0, off, prev, rec };
      }
      prev = off;
      off += rec;
    }
  }

  /** Every entry, "." and ".." included, in on-disk order. */
  list(): DirEntry[] {
    const out: DirEntry[] = [];
    if (this.inlineBody) {
      out.push({ name: Buffer.from('.'), ino: this.inode.ino, type: 2 });
      out.push({ name: Buffer.from('..'), ino: this.inlineBody.readUInt32LE(0), type: 2 });
      const ib = this.inlineBody.subarray(4, 60);
      for (const e of this.blockEntries(ib)) out.push(copyEntry(e));
      if (this.inlineBody.length > 60) for (const e of this.blockEntries(this.inlineBody.subarray(60))) out.push(copyEntry(e));
      return out;
    }
    for (let l = 0; l < this.nblocks; l++) {
      const m = this.fmap.map(l, 1);
      if (m.pblk === 0) continue;
      for (const e of this.blockEntries(this.ctx.cache.get(m.pblk))) out.push(copyEntry(e));
    }
    return out;
  }

  lookup(name: Buffer): DirEntry | undefined {
    if (this.inlineBody) return this.list().find((e) => e.name.equals(name));
    if (this.indexed) {
      const r = this.dxFind(name);
      if (r !== null) return r;
    }
    for (let l = 0; l < this.nblocks; l++) {
      const m = this.fmap.map(l, 1);
      if (m.pblk === 0) continue;
      for (const e of this.blockEntries(this.ctx.cache.get(m.pblk))) if (e.name.equals(name)) return copyEntry(e);
    }
    return undefined;
  }

  isEmpty(): boolean {
    return this.list().every((e) => isDot(e.name));
  }

  // ---- htree -----------------------------------------------------------------------

  private hashVersion(root: Buffer): number {
    const v = root[28]!;
    return v <= 2 && this.ctx.sb.flags & EXT2_FLAGS_UNSIGNED_HASH ? v + 3 : v;
  }

  private hashOf(name: Buffer, root: Buffer): number {
    return dirHash(name, this.hashVersion(root), this.ctx.sb.hashSeed).hash;
  }

  private maxLevels(): number { return this.ctx.sb.hasIncompat(INCOMPAT_LARGEDIR) ? 3 : 2; }

  private count(f: { buf: Buffer; countOff: number }): number { return f.buf.readUInt16LE(f.countOff + 2); }
  private limit(f: { buf: Buffer; countOff: number }): number { return f.buf.readUInt16LE(f.countOff); }
  private entHash(f: { buf: Buffer; countOff: number }, i: number): number { return i === 0 ? 0 : f.buf.readUInt32LE(f.countOff + 8 * i); }
  private entBlock(f: { buf: Buffer; countOff: number }, i: number): number { return f.buf.readUInt32LE(f.countOff + 8 * i + 4) & 0x0fffffff; }

  /** Index path for a hash, root first; null when the index looks unusable. */
  private dxPath(hash: number): Frame[] | null {
    const rootP = this.pblk(0);
    const root = this.ctx.cache.get(rootP);
    const infoLen = root[29]!;
    const levels = root[30]!;
    if (root.readUInt32LE(24) !== 0 || infoLen !== 8 || levels >= this.maxLevels() || root[28]! > 5) return null;
    const frames: Frame[] = [];
    let f: Frame = { lblk: 0, pblk: rootP, buf: root, countOff: 24 + infoLen, idx: 0 };
    for (let level = 0; ; level++) {
      const n = this.count(f);
      if (n === 0 || n > this.limit(f)) return null;
      let lo = 1;
      let hi = n - 1;
      let idx = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (this.entHash(f, mid) <= hash) { idx = mid; lo = mid + 1; } else hi = mid - 1;
      }
      f.idx = idx;
      frames.push(f);
      if (level === levels) break;
      const lblk = this.entBlock(f, idx);
      const p = this.pblk(lblk);
      f = { lblk, pblk: p, buf: this.ctx.cache.get(p), countOff: 8, idx: 0 };
    }
    return frames;
  }

  /** Advance the path to the next leaf if it may continue the same hash (collisions). */
  private dxNext(frames: Frame[], hash: number): boolean {
    let d = frames.length - 1;
    while (d >= 0 && frames[d]!.idx + 1 >= this.count(frames[d]!)) d--;
    if (d < 0) return false;
    frames[d]!.idx++;
    const h = this.entHash(frames[d]!, frames[d]!.idx);
    if ((h & ~1) >>> 0 !== hash || !(h & 1)) return false;
    for (let k = d + 1; k < frames.length; k++) {
      const lblk = this.entBlock(frames[k - 1]!, frames[k - 1]!.idx);
      const p = this.pblk(lblk);
      frames[k] = { lblk, pblk: p, buf: this.ctx.cache.get(p), countOff: 8, idx: 0 };
    }
    return true;
  }

  /** htree lookup: the entry, undefined if absent, null if the index is unusable. */
  private dxFind(name: Buffer): DirEntry | undefined | null {
    const root = this.ctx.cache.get(this.pblk(0));
    const hash = this.hashOf(name, root);
    const frames = this.dxPath(hash);
    if (!frames) return null;
    for (;;) {
      const f = frames[frames.length - 1]!;
      const leaf = this.ctx.cache.get(this.pblk(this.entBlock(f, f.idx)));
      for (const e of this.blockEntries(leaf, 0, this.usable)) if (e.name.equals(name)) return copyEntry(e);
      if (!this.dxNext(frames, hash)) return undefined;
    }
  }

  // ---- modification ---------------------------------------------------------------

  /** Initialize a new directory's first block with "." and "..". */
  initEmpty(parentIno: number): void {
    const { pblk } = this.grow();
    const buf = this.ctx.cache.get(pblk);
    this.writeEntry(buf, 0, 12, { name: Buffer.from('.'), ino: this.inode.ino, type: 2 });
    this.writeEntry(buf, 12, this.usable - 12, { name: Buffer.from('..'), ino: parentIno, type: 2 });
    this.sealLeaf(buf, pblk);
  }

  private grow(): { lblk: number; pblk: number } {
    const lblk = this.nblocks;
    const [a] = this.fmap.allocate(lblk, 1);
    this.ctx.cache.fresh(a!.pblk);
    this.inode.size = (lblk + 1) * this.bs;
    return { lblk, pblk: a!.pblk };
  }

  private sealLeaf(buf: Buffer, pblk: number): void {
    if (this.csum) {
      const t = this.bs - TAIL_SIZE;
      buf.fill(0, t, t + 8);
      buf.writeUInt16LE(TAIL_SIZE, t + 4);
      buf[t + 7] = TAIL_FT;
      buf.writeUInt32LE(crc32c(this.inode.csumSeed(this.ctx.csumSeed), buf, 0, t), t + 8);
    }
    this.ctx.cache.markDirty(pblk);
  }

  private sealDx(f: { buf: Buffer; countOff: number; pblk: number }): void {
    if (this.csum) {
      const lim = this.limit(f);
      const tail = f.countOff + lim * 8;
      let c = crc32c(this.inode.csumSeed(this.ctx.csumSeed), f.buf, 0, f.countOff + this.count(f) * 8);
      f.buf.writeUInt32LE(0, tail);
      c = crc32c(c, f.buf, tail, tail + 4);
      c = crc32c(c, Buffer.alloc(4));
      f.buf.writeUInt32LE(c, tail + 4);
    }
    this.ctx.cache.markDirty(f.pblk);
  }

  private dxLimit(countOff: number): number { return Math.floor((this.bs - countOff) / 8) - (this.csum ? 1 : 0); }

  /** Try to place an entry in one leaf block; true on success. */
  private insertInBlock(pblk: number, e: DirEntry): boolean {
    const buf = this.ctx.cache.get(pblk);
    const need = recSize(e.name.length);
    let off = 0;
    const end = this.usable;
    while (off + 8 <= end) {
      const rec = this.recLen(buf, off);
      if (rec < 8 || off + rec > end) throw new Errno(EIO, `ext4: corrupt directory ${this.inode.ino}`);
      const ino = buf.readUInt32LE(off);
      const used = ino ? recSize(this.nameLen(buf, off)) : 0;
      if (rec - used >= need) {
        if (ino) {
          this.setRecLen(buf, off, used);
          this.writeEntry(buf, off + used, rec - used, e);
        } else this.writeEntry(buf, off, rec, e);
        this.sealLeaf(buf, pblk);
        return true;
      }
      off += rec;
    }
    return false;
  }

  add(name: Buffer, ino: number, type: number): void {
    if (name.length === 0 || name.length > EXT4_NAME_LEN) throw new Errno(ENAMETOOLONG);
    if (this.inlineBody) throw new Errno(EIO, 'ext4: inline directory must be converted first');
    if (this.lookup(name)) throw new Errno(EEXIST);
    const e: DirEntry = { name, ino, type };
    if (this.indexed) {
      for (let tries = 0; tries < 8 && this.indexed; tries++) if (this.dxAdd(e)) return;
      if (this.indexed) this.dropIndex();
    }
    const n = this.nblocks;
    for (let l = 0; l < n; l++) if (this.insertInBlock(this.pblk(l), e)) return;
    if (n === 1 && this.ctx.sb.hasCompat(COMPAT_DIR_INDEX) && !this.inode.hasFlag(EXT4_INDEX_FL)) {
      this.makeIndexed();
      for (let tries = 0; tries < 8 && this.indexed; tries++) if (this.dxAdd(e)) return;
      if (this.indexed) this.dropIndex();
      for (let l = 0; l < this.nblocks; l++) if (this.insertInBlock(this.pblk(l), e)) return;
    }
    const { pblk } = this.grow();
    const buf = this.ctx.cache.get(pblk);
    this.writeEntry(buf, 0, this.usable, e);
    this.sealLeaf(buf, pblk);
  }

  /** One attempt at an htree insert: true if placed; false after making room (retry). */
  private dxAdd(e: DirEntry): boolean {
    const root = this.ctx.cache.get(this.pblk(0));
    const hash = this.hashOf(e.name, root);
    const frames = this.dxPath(hash);
    if (!frames) { this.dropIndex(); return false; }
    const leafF = frames[frames.length - 1]!;
    const leafLblk = this.entBlock(leafF, leafF.idx);
    const leafP = this.pblk(leafLblk);
    if (this.insertInBlock(leafP, e)) return true;
    // The leaf is full: make sure its index node can take one more entry, then split it.
    const d = frames.length - 1;
    if (this.count(frames[d]!) >= this.limit(frames[d]!)) {
      if (!this.makeIndexRoom(frames, d)) this.dropIndex();
      return false;
    }
    this.splitLeaf(frames[d]!, leafP, root);
    return false;
  }

  /** Index node frames[d] is full: split it or add a level under the root. */
  private makeIndexRoom(frames: Frame[], d: number): boolean {
    const levels = frames.length - 1;
    if (d === 0) {
      if (levels + 1 >= this.maxLevels()) return false;
      // Move the root's entries into a new node; the root points at it alone.
      const root = frames[0]!;
      const { lblk, pblk } = this.grow();
      const nb = this.ctx.cache.get(pblk);
      nb.writeUInt32LE(0, 0);
      this.setRecLen(nb, 0, this.bs);
      const n = this.count(root);
      root.buf.copy(nb, 8, root.countOff, root.countOff + n * 8);
      nb.writeUInt16LE(this.dxLimit(8), 8);
      nb.writeUInt16LE(n, 10);
      this.sealDx({ buf: nb, countOff: 8, pblk });
      root.buf.writeUInt16LE(1, root.countOff + 2);
      root.buf.writeUInt32LE(lblk, root.countOff + 4);
      root.buf[30] = levels + 1;
      this.sealDx(root);
      return true;
    }
    const parent = frames[d - 1]!;
    if (this.count(parent) >= this.limit(parent)) return this.makeIndexRoom(frames, d - 1);
    const node = frames[d]!;
    const n = this.count(node);
    const keep = n >> 1;
    const { lblk, pblk } = this.grow();
    const nb = this.ctx.cache.get(pblk);
    nb.writeUInt32LE(0, 0);
    this.setRecLen(nb, 0, this.bs);
    // Entries [keep, n) move; the first moved hash becomes the new node's key.
    const splitHash = this.entHash(node, keep);
    node.buf.copy(nb, 8, node.countOff + keep * 8, node.countOff + n * 8);
    nb.writeUInt16LE(this.dxLimit(8), 8);
    nb.writeUInt16LE(n - keep, 10);
    node.buf.writeUInt16LE(keep, node.countOff + 2);
    this.sealDx({ buf: nb, countOff: 8, pblk });
    this.sealDx(node);
    this.dxInsert(parent, parent.idx + 1, splitHash, lblk);
    return true;
  }

  private dxInsert(f: Frame, at: number, hash: number, lblk: number): void {
    const n = this.count(f);
    const o = f.countOff + at * 8;
    f.buf.copy(f.buf, o + 8, o, f.countOff + n * 8);
    f.buf.writeUInt32LE(hash >>> 0, o);
    f.buf.writeUInt32LE(lblk, o + 4);
    f.buf.writeUInt16LE(n + 1, f.countOff + 2);
    this.sealDx(f);
  }

  private splitLeaf(parent: Frame, leafP: number, root: Buffer): void {
    const buf = this.ctx.cache.get(leafP);
    const ents = [...this.blockEntries(buf, 0, this.usable)].map((x) => ({ ...copyEntry(x), hash: this.hashOf(x.name, root) }));
    ents.sort((a, b) => a.hash - b.hash);
    const total = ents.reduce((s, x) => s + recSize(x.name.length), 0);
    let moved = 0;
    let cut = ents.length;
    while (cut > 1 && moved < total / 2) { cut--; moved += recSize(ents[cut]!.name.length); }
    // Keep equal hashes on one side where possible (left, then right); only when a run of
    // one hash must be cut does the new leaf's key carry the continuation bit.
    const h = (i: number): number => ents[i]!.hash;
    let c = cut;
    while (c > 1 && h(c - 1) === h(c)) c--;
    if (h(c - 1) === h(c)) {
      c = cut;
      while (c < ents.length && h(c - 1) === h(c)) c++;
      if (c === ents.length) c = cut;
    }
    cut = c;
    const splitHash = h(cut - 1) === h(cut) ? (h(cut) | 1) >>> 0 : h(cut);
    const { lblk, pblk } = this.grow();
    this.fillLeaf(this.ctx.cache.get(pblk), pblk, ents.slice(cut));
    this.fillLeaf(buf, leafP, ents.slice(0, cut));
    this.dxInsert(parent, parent.idx + 1, splitHash, lblk);
  }

  private fillLeaf(buf: Buffer, pblk: number, ents: DirEntry[]): void {
    buf.fill(0);
    let off = 0;
    ents.forEach((x, i) => {
      const rec = i === ents.length - 1 ? this.usable - off : recSize(x.name.length);
      this.writeEntry(buf, off, rec, x);
      off += rec;
    });
    if (ents.length === 0) { buf.writeUInt32LE(0, 0); this.setRecLen(buf, 0, this.usable); }
    this.sealLeaf(buf, pblk);
  }

  /** Turn a full one-block linear directory into an htree with one leaf. */
  private makeIndexed(): void {
    const p0 = this.pblk(0);
    const b0 = this.ctx.cache.get(p0);
    const all = [...this.blockEntries(b0, 0, this.usable)].map(copyEntry);
    const dot = all.find((x) => x.name.toString() === '.')!;
    const dotdot = all.find((x) => x.name.toString() === '..')!;
    const rest = all.filter((x) => !isDot(x.name));
    const { pblk } = this.grow();
    this.fillLeaf(this.ctx.cache.get(pblk), pblk, rest);
    b0.fill(0);
    this.writeEntry(b0, 0, 12, { ...dot, ino: this.inode.ino, type: 2 });
    this.writeEntry(b0, 12, this.bs - 12, { ...dotdot, type: 2 });
    b0.writeUInt32LE(0, 24);
    b0[28] = this.ctx.sb.defHashVersion;
    b0[29] = 8;
    b0[30] = 0;
    b0[31] = 0;
    b0.writeUInt16LE(this.dxLimit(32), 32);
    b0.writeUInt16LE(1, 34);
    b0.writeUInt32LE(1, 36);
    this.sealDx({ buf: b0, countOff: 32, pblk: p0 });
    this.inode.flags |= EXT4_INDEX_FL;
  }

  /** Stop using the index: root and index nodes become plain (empty) leaf blocks. */
  dropIndex(): void {
    const p0 = this.pblk(0);
    const root = this.ctx.cache.get(p0);
    const levels = root[30]!;
    const nodes: number[] = [];
    if (root[29] === 8 && levels > 0 && levels < this.maxLevels()) {
      const walk = (f: { buf: Buffer; countOff: number }, lv: number): void => {
        const n = Math.min(this.count(f), this.limit(f));
        for (let i = 0; i < n; i++) {
          const lblk = this.entBlock(f, i);
          nodes.push(lblk);
          if (lv + 1 < levels) walk({ buf: this.ctx.cache.get(this.pblk(lblk)), countOff: 8 }, lv + 1);
        }
      };
      walk({ buf: root, countOff: 32 }, 0);
    }
    for (const lblk of nodes) {
      const p = this.pblk(lblk);
      const b = this.ctx.cache.get(p);
      b.fill(0);
      this.setRecLen(b, 0, this.usable);
      this.sealLeaf(b, p);
    }
    const dotdotIno = root.readUInt32LE(12);
    root.fill(0);
    this.writeEntry(root, 0, 12, { name: Buffer.from('.'), ino: this.inode.ino, type: 2 });
    this.writeEntry(root, 12, this.usable - 12, { name: Buffer.from('..'), ino: dotdotIno, type: 2 });
    this.sealLeaf(root, p0);
    this.inode.flags &= ~EXT4_INDEX_FL;
  }

  /** Remove a name; returns the entry removed. */
  remove(name: Buffer): DirEntry {
    const hit = this.locate(name);
    if (!hit) throw new Errno(ENOENT);
    const { buf, pblk, e } = hit;
    if (e.prev >= 0) this.setRecLen(buf, e.prev, this.recLen(buf, e.prev) + e.rec);
    else buf.writeUInt32LE(0, e.off);
    this.seal(hit);
    return copyEntry(e);
  }

  /** Point an existing name at another inode (rename over, "..", exchange). */
  retarget(name: Buffer, ino: number, type: number): void {
    const hit = this.locate(name);
    if (!hit) throw new Errno(ENOENT);
    hit.buf.writeUInt32LE(ino, hit.e.off);
    if (this.filetype) hit.buf[hit.e.off + 7] = type;
    this.seal(hit);
  }

  private seal(hit: { buf: Buffer; pblk: number; root: boolean }): void {
    if (hit.root) this.sealDx({ buf: hit.buf, countOff: 24 + hit.buf[29]!, pblk: hit.pblk });
    else this.sealLeaf(hit.buf, hit.pblk);
  }

  private locate(name: Buffer): { buf: Buffer; pblk: number; root: boolean; e: DirEntry & { off: number; prev: number; rec: number } } | undefined {
    if (this.inlineBody) throw new Errno(EIO, 'ext4: inline directory must be converted first');
    if (this.indexed && !isDot(name)) {
      const root = this.ctx.cache.get(this.pblk(0));
      const hash = this.hashOf(name, root);
      const frames = this.dxPath(hash);
      if (frames) {
        for (;;) {
          const f = frames[frames.length - 1]!;
          const pblk = this.pblk(this.entBlock(f, f.idx));
          const buf = this.ctx.cache.get(pblk);
          for (const e of this.blockEntries(buf, 0, this.usable)) if (e.name.equals(name)) return { buf, pblk, root: false, e };
          if (!this.dxNext(frames, hash)) return undefined;
        }
      }
    }
    for (let l = 0; l < this.nblocks; l++) {
      const m = this.fmap.map(l, 1);
      if (m.pblk === 0) continue;
      const buf = this.ctx.cache.get(m.pblk);
      const root = l === 0 && this.indexed;
      for (const e of this.blockEntries(buf)) {
        if (e.name.equals(name)) return { buf, pblk: m.pblk, root, e };
      }
    }
    return undefined;
  }
}

function copyEntry(e: DirEntry): DirEntry {
  return { name: Buffer.from(e.name), ino: e.ino, type: e.type };
}

function isDot(n: Buffer): boolean {
  return (n.length === 1 && n[0] === 0x2e) || (n.length === 2 && n[0] === 0x2e && n[1] === 0x2e);
}
