// Extended attributes: the in-inode area after i_extra_isize and one external block
// (h_refcount shared blocks are copied on write). get/set work on the whole list; the
// layout is rebuilt on every change, in-inode first, with entry and block hashes and the
// block checksum that e2fsck verifies.
import { E2BIG, EIO, ENOSPC, EOPNOTSUPP } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { Ext4Context } from './context.js';
import { crc32c } from './crc32c.js';
import { EXT4_GOOD_OLD_INODE_SIZE, Inode, addInodeBlocks } from './inode.js';

export const XATTR_MAGIC = 0xea020000;

export interface Xattr { name: string; value: Buffer }

const PREFIXES: Array<[number, string]> = [
  [2, 'system.posix_acl_access'],
  [3, 'system.posix_acl_default'],
  [8, 'system.richacl'],
  [1, 'user.'],
  [4, 'trusted.'],
  [6, 'security.'],
  [7, 'system.'],
];

function splitName(name: string): { index: number; suffix: Buffer } {
  for (const [index, p] of PREFIXES) {
    if (index === 2 || index === 3 || index === 8) { if (name === p) return { index, suffix: Buffer.alloc(0) }; continue; }
    if (name.startsWith(p) && name.length > p.length) return { index, suffix: Buffer.from(name.slice(p.length)) };
  }
  throw new Errno(EOPNOTSUPP, `ext4: no xattr namespace for ${name}`);
}

function joinName(index: number, suffix: Buffer): string {
  const p = PREFIXES.find(([i]) => i === index);
  return (p ? p[1] : `unknown${index}.`) + suffix.toString('latin1');
}

const entryLen = (nameLen: number): number => (nameLen + 16 + 3) & ~3;
const valueLen = (size: number): number => (size + 3) & ~3;

/** Parse entries from buf[start..], values relative to `base` within buf. */
function parseEntries(buf: Buffer, start: number, base: number, end: number, out: Xattr[]): void {
  let o = start;
  while (o + 4 <= end && buf.readUInt32LE(o) !== 0) {
    if (o + 16 > end) throw new Errno(EIO, 'ext4: corrupt xattr entry');
    const nl = buf[o]!;
    const index = buf[o + 1]!;
    const voff = buf.readUInt16LE(o + 2);
    const inum = buf.readUInt32LE(o + 4);
    const size = buf.readUInt32LE(o + 8);
    if (inum !== 0) throw new Errno(EIO, 'ext4: xattr value in an EA inode is not supported');
    const name = joinName(index, buf.subarray(o + 16, o + 16 + nl));
    if (base + voff + size > buf.length) throw new Errno(EIO, 'ext4: corrupt xattr value');
    out.push({ name, value: Buffer.from(buf.subarray(base + voff, base + voff + size)) });
    o += entryLen(nl);
  }
}

export function entryHash(suffix: Buffer, value: Buffer): number {
  let h = 0;
  for (const c of suffix) {
    const sc = c < 128 ? c : c - 256; // e2fsprogs hashes the name as signed chars
    h = ((h << 5) ^ (h >>> 27) ^ sc) >>> 0;
  }
  const padded = Buffer.alloc(valueLen(value.length));
  value.copy(padded);
  for (let i = 0; i < padded.length; i += 4) h = ((h << 16) ^ (h >>> 16) ^ padded.readUInt32LE(i)) >>> 0;
  return h;
}

export class XattrStore {
  constructor(private readonly ctx: Ext4Context) {}

  private inodeArea(inode: Inode): { start: number; end: number } | null {
    const r = inode.raw;
    if (r.length <= EXT4_GOOD_OLD_INODE_SIZE) return null;
    const start = EXT4_GOOD_OLD_INODE_SIZE + inode.extraIsize;
    if (start + 4 > r.length) return null;
    return { start, end: r.length };
  }

  list(inode: Inode): Xattr[] {
    const out: Xattr[] = [];
    const a = this.inodeArea(inode);
    if (a && inode.raw.readUInt32LE(a.start) === XATTR_MAGIC) parseEntries(inode.raw, a.start + 4, a.start + 4, a.end, out);
    const blk = inode.fileAcl;
    if (blk) {
      const b = this.ctx.cache.get(blk);
      if (b.readUInt32LE(0) !== XATTR_MAGIC) throw new Errno(EIO, `ext4: bad xattr block ${blk}`);
      parseEntries(b, 32, 0, b.length, out);
    }
    return out;
  }

  get(inode: Inode, name: string): Buffer | undefined {
    return this.list(inode).find((x) => x.name === name)?.value;
  }

  /** Replace the whole attribute list of an inode (caller writes the inode). */
  store(inode: Inode, attrs: Xattr[]): void {
    const items = attrs.map((x) => ({ ...splitName(x.name), value: x.value, name: x.name }));
    // system.data (inline data) must stay in the inode; the rest in name order.
    items.sort((a, b) => (a.name === 'system.data' ? -1 : b.name === 'system.data' ? 1 : a.index - b.index || a.suffix.length - b.suffix.length || Buffer.compare(a.suffix, b.suffix)));
    const area = this.inodeArea(inode);
    const inIno: typeof items = [];
    const inBlk: typeof items = [];
    let room = area ? area.end - area.start - 4 - 4 : -1; // magic + terminator
    for (const it of items) {
      const need = entryLen(it.suffix.length) + valueLen(it.value.length);
      if (room >= need) { inIno.push(it); room -= need; } else inBlk.push(it);
    }
    if (area) {
      const r = inode.raw;
      r.fill(0, area.start, area.end);
      if (inIno.length) {
        r.writeUInt32LE(XATTR_MAGIC, area.start);
        this.layout(r, area.start + 4, area.start + 4, area.end, inIno);
      }
    }
    const old = inode.fileAcl;
    if (inBlk.length === 0) {
      if (old) this.releaseBlock(inode, old);
      return;
    }
    const bs = this.ctx.blockSize;
    const total = 32 + 4 + inBlk.reduce((s, it) => s + entryLen(it.suffix.length) + valueLen(it.value.length), 0);
    if (total > bs) throw new Errno(inBlk.length === 1 ? E2BIG : ENOSPC);
    let blk = old;
    if (blk && this.ctx.cache.get(blk).readUInt32LE(4) > 1) { this.releaseBlock(inode, blk); blk = 0; }
    if (!blk) {
      const g = this.ctx.alloc.groupOfInode(inode.ino);
      blk = this.ctx.alloc.allocBlocks(this.ctx.alloc.groupFirstBlock(g), 1).start;
      addInodeBlocks(this.ctx, inode, 1);
      inode.fileAcl = blk;
    }
    const b = this.ctx.cache.fresh(blk);
    b.writeUInt32LE(XATTR_MAGIC, 0);
    b.writeUInt32LE(1, 4); // h_refcount
    b.writeUInt32LE(1, 8); // h_blocks
    const hashes = this.layout(b, 32, 0, bs, inBlk);
    let h = 0;
    for (const eh of hashes) h = ((h << 16) ^ (h >>> 16) ^ eh) >>> 0;
    b.writeUInt32LE(h, 12);
    if (this.ctx.metadataCsum) {
      const le = Buffer.alloc(8);
      le.writeBigUInt64LE(BigInt(blk));
      b.writeUInt32LE(0, 16);
      b.writeUInt32LE(crc32c(crc32c(this.ctx.csumSeed, le), b), 16);
    }
    this.ctx.cache.markDirty(blk);
  }

  /** Entries from `start`, values packed down from `end`; offsets relative to `base`. */
  private layout(buf: Buffer, start: number, base: number, end: number, items: Array<{ index: number; suffix: Buffer; value: Buffer }>): number[] {
    let eo = start;
    let vo = end;
    const hashes: number[] = [];
    for (const it of items) {
      vo -= valueLen(it.value.length);
      const h = entryHash(it.suffix, it.value);
      hashes.push(h);
      buf[eo] = it.suffix.length;
      buf[eo + 1] = it.index;
      buf.writeUInt16LE(it.value.length ? vo - base : 0, eo + 2);
      buf.writeUInt32LE(0, eo + 4);
      buf.writeUInt32LE(it.value.length, eo + 8);
      buf.writeUInt32LE(h, eo + 12);
      it.suffix.copy(buf, eo + 16);
      it.value.copy(buf, vo);
      eo += entryLen(it.suffix.length);
    }
    return hashes;
  }

  /** Drop this inode's reference to its xattr block. */
  releaseBlock(inode: Inode, blk: number): void {
    const b = this.ctx.cache.get(blk);
    const refs = b.readUInt32LE(4);
    if (refs > 1) {
      b.writeUInt32LE(refs - 1, 4);
      if (this.ctx.metadataCsum) {
        const le = Buffer.alloc(8);
        le.writeBigUInt64LE(BigInt(blk));
        b.writeUInt32LE(0, 16);
        b.writeUInt32LE(crc32c(crc32c(this.ctx.csumSeed, le), b), 16);
      }
      this.ctx.cache.markDirty(blk);
    } else this.ctx.alloc.freeBlocks(blk, 1);
    addInodeBlocks(this.ctx, inode, -1);
    inode.fileAcl = 0;
  }
}
