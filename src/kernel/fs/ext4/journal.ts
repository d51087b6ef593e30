// The jbd2 journal (ext3/ext4 internal journal inode): replay of committed transactions
// at mount (needs_recovery), and commits of metadata block sets, each one written to the
// log, made durable, written in place and then checkpointed, so that a crash at any
// point leaves either the old or the new metadata after replay.
import { EIO, EROFS } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import { crc32c } from './crc32c.js';

export const JBD2_MAGIC = 0xc03b3998;
const DESCRIPTOR = 1;
const COMMIT = 2;
const SB_V1 = 3;
const SB_V2 = 4;
const REVOKE = 5;

const TAG_ESCAPE = 1;
const TAG_SAME_UUID = 2;
const TAG_LAST = 8;

const INCOMPAT_REVOKE = 0x1;
const INCOMPAT_64BIT = 0x2;
const INCOMPAT_ASYNC_COMMIT = 0x4;
const INCOMPAT_CSUM_V2 = 0x8;
const INCOMPAT_CSUM_V3 = 0x10;
const INCOMPAT_FAST_COMMIT = 0x20;
const INCOMPAT_KNOWN = INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3 | INCOMPAT_FAST_COMMIT;

export interface JournalIo {
  blockSize: number;
  /** Physical block of journal block i. */
  phys(i: number): number;
  readBlock(pblk: number): Buffer;
  writeBlock(pblk: number, data: Buffer): void;
  flush(): void;
}

export class Journal {
  private readonly sb: Buffer;
  private readonly bs: number;

  constructor(private readonly io: JournalIo) {
    this.bs = io.blockSize;
    this.sb = io.readBlock(io.phys(0));
    if (this.sb.readUInt32BE(0) !== JBD2_MAGIC) throw new Errno(EIO, 'ext4: journal superblock has a bad magic');
    const type = this.sb.readUInt32BE(4);
    if (type !== SB_V1 && type !== SB_V2) throw new Errno(EIO, 'ext4: unknown journal superblock type');
    if (this.sb.readUInt32BE(12) !== this.bs) throw new Errno(EIO, 'ext4: journal block size differs from the filesystem');
    if (this.v2 && this.incompat & ~INCOMPAT_KNOWN) throw new Errno(EROFS, 'ext4: journal has unknown incompatible features');
  }

  private get v2(): boolean { return this.sb.readUInt32BE(4) === SB_V2; }
  private get incompat(): number { return this.v2 ? this.sb.readUInt32BE(0x28) : 0; }
  private has(f: number): boolean { return (this.incompat & f) !== 0; }
  private get maxlen(): number {
    const m = this.sb.readUInt32BE(16);
    if (!this.has(INCOMPAT_FAST_COMMIT)) return m;
    const fc = this.sb.readUInt32BE(0x54) || 256;
    return m - fc;
  }
  private get first(): number { return this.sb.readUInt32BE(20); }
  private get sequence(): number { return this.sb.readUInt32BE(24); }
  private get start(): number { return this.sb.readUInt32BE(28); }
  private get csum(): boolean { return this.has(INCOMPAT_CSUM_V2) || this.has(INCOMPAT_CSUM_V3); }
  private get seed(): number { return crc32c(0xffffffff, this.sb.subarray(0x30, 0x40)); }

  get needsRecovery(): boolean { return this.start !== 0; }

  private tagBytes(): number {
    if (this.has(INCOMPAT_CSUM_V3)) return 16;
    const sz = 12 + (this.has(INCOMPAT_CSUM_V2) ? 2 : 0);
    return this.has(INCOMPAT_64BIT) ? sz : sz - 4;
  }

  private wrap(i: number): number { return i >= this.maxlen ? i - this.maxlen + this.first : i; }
  private readLog(i: number): Buffer { return this.io.readBlock(this.io.phys(i)); }

  /** Parse a descriptor block's tags. */
  private tags(buf: Buffer): Array<{ block: number; flags: number }> {
    const out: Array<{ block: number; flags: number }> = [];
    const tb = this.tagBytes();
    const end = this.bs - (this.csum ? 4 : 0);
    let o = 12;
    while (o + tb <= end) {
      const lo = buf.readUInt32BE(o);
      let flags: number;
      let hi = 0;
      if (this.has(INCOMPAT_CSUM_V3)) { flags = buf.readUInt32BE(o + 4); if (this.has(INCOMPAT_64BIT)) hi = buf.readUInt32BE(o + 8); }
      else { flags = buf.readUInt16BE(o + 6); if (this.has(INCOMPAT_64BIT)) hi = buf.readUInt32BE(o + 8); }
      out.push({ block: lo + hi * 2 ** 32, flags });
      o += tb;
      if (!(flags & TAG_SAME_UUID)) o += 16;
      if (flags & TAG_LAST) break;
    }
    return out;
  }

  /**
   * Replay committed transactions through `write` (the device, or an in-memory overlay
   * for a read-only mount). Returns the number of transactions replayed.
   */
  replay(write: (block: number, data: Buffer) => void): number {
    if (!this.needsRecovery) return 0;
    // Pass 1: find the end of the log; collect revokes as we go.
    type Tx = { seq: number; tags: Array<{ block: number; flags: number; at: number }> };
    const txs: Tx[] = [];
    const revoked = new Map<number, number>();
    let seq = this.sequence;
    let pos = this.start;
    let cur: Tx = { seq, tags: [] };
    for (let steps = 0; steps < this.maxlen; steps++) {
      const b = this.readLog(pos);
      if (b.readUInt32BE(0) !== JBD2_MAGIC || b.readUInt32BE(8) !== seq) break;
      const type = b.readUInt32BE(4);
      if (type === DESCRIPTOR) {
        const tags = this.tags(b);
        for (const t of tags) { pos = this.wrap(pos + 1); cur.tags.push({ ...t, at: pos }); }
        pos = this.wrap(pos + 1);
      } else if (type === REVOKE) {
        const count = b.readUInt32BE(12);
        const w = this.has(INCOMPAT_64BIT) ? 8 : 4;
        for (let o = 16; o + w <= count; o += w) {
          const blk = w === 8 ? Number(b.readBigUInt64BE(o)) : b.readUInt32BE(o);
          revoked.set(blk, Math.max(revoked.get(blk) ?? 0, seq));
        }
        pos = this.wrap(pos + 1);
      } else if (type === COMMIT) {
        txs.push(cur);
        seq = (seq + 1) >>> 0;
        cur = { seq, tags: [] };
        pos = this.wrap(pos + 1);
      } else break;
    }
    // Pass 2: write every block of committed transactions unless a revoke at or after
    // its transaction cancels it (uncommitted revokes were in `cur` and do not count,
    // but they are harmless only if ignored: recompute from committed ones).
    const committedSeqs = new Set(txs.map((t) => t.seq));
    for (const [blk, s] of revoked) if (!committedSeqs.has(s)) revoked.delete(blk);
    for (const tx of txs) {
      for (const t of tx.tags) {
        const r = revoked.get(t.block);
        if (r !== undefined && r >= tx.seq) continue;
        const data = Buffer.from(this.readLog(t.at));
        if (t.flags & TAG_ESCAPE) data.writeUInt32BE(JBD2_MAGIC, 0);
        write(t.block, data);
      }
    }
    this.nextSeq = seq;
    return txs.length;
  }

  private nextSeq = 0;

  /** After a replay on a writable device: mark the log empty. */
  markClean(): void {
    const seq = this.nextSeq || this.sequence;
    this.sb.writeUInt32BE(seq >>> 0, 24);
    this.sb.writeUInt32BE(0, 28);
    this.writeSuper();
  }

  private writeSuper(): void {
    if (this.v2 && this.csum) {
      this.sb.writeUInt32BE(0, 0xfc);
      this.sb.writeUInt32BE(crc32c(0xffffffff, this.sb, 0, 1024), 0xfc);
    }
    this.io.writeBlock(this.io.phys(0), this.sb);
  }

  /** Largest number of blocks one commit can carry. */
  capacity(): number {
    const perDesc = Math.floor((this.bs - 12 - (this.csum ? 4 : 0) - 16) / this.tagBytes());
    const usable = this.maxlen - this.first - 2;
    return Math.floor(usable * perDesc / (perDesc + 1)) - 1;
  }

  /**
   * Commit `blocks` atomically: log them, make the log durable, write them home, make
   * that durable, then mark the log empty again.
   */
  commit(blocks: Array<{ block: number; data: Buffer }>, writeHome: (block: number, data: Buffer) => void): void {
    if (blocks.length === 0) return;
    const seq = this.sequence;
    const tb = this.tagBytes();
    const end = this.bs - (this.csum ? 4 : 0);
    let pos = this.first;
    let i = 0;
    while (i < blocks.length) {
      const desc = Buffer.alloc(this.bs);
      desc.writeUInt32BE(JBD2_MAGIC, 0);
      desc.writeUInt32BE(DESCRIPTOR, 4);
      desc.writeUInt32BE(seq, 8);
      const descPos = pos++;
      let o = 12;
      let first = true;
      const batch: Buffer[] = [];
      while (i < blocks.length && o + tb + (first ? 16 : 0) <= end) {
        const { block, data } = blocks[i]!;
        const copy = Buffer.from(data);
        let flags = first ? 0 : TAG_SAME_UUID;
        if (copy.readUInt32BE(0) === JBD2_MAGIC) { copy.writeUInt32BE(0, 0); flags |= TAG_ESCAPE; }
        const isLast = i === blocks.length - 1 || o + tb + tb > end;
        if (isLast) flags |= TAG_LAST;
        desc.writeUInt32BE(block % 2 ** 32, o);
        const csum = this.csum ? crc32c(crc32c(this.seed, be32(seq)), data) : 0;
        if (this.has(INCOMPAT_CSUM_V3)) {
          desc.writeUInt32BE(flags, o + 4);
          desc.writeUInt32BE(Math.floor(block / 2 ** 32), o + 8);
          desc.writeUInt32BE(csum, o + 12);
        } else {
          desc.writeUInt16BE(csum & 0xffff, o + 4);
          desc.writeUInt16BE(flags, o + 6);
          if (this.has(INCOMPAT_64BIT)) desc.writeUInt32BE(Math.floor(block / 2 ** 32), o + 8);
        }
        o += tb;
        if (first) { this.sb.copy(desc, o, 0x30, 0x40); o += 16; first = false; }
        batch.push(copy);
        i++;
        if (isLast) break;
      }
      if (this.csum) desc.writeUInt32BE(crc32c(this.seed, desc, 0, this.bs - 4) >>> 0, this.bs - 4);
      if (pos + batch.length + 1 > this.maxlen) throw new Errno(EIO, 'ext4: transaction larger than the journal');
      this.io.writeBlock(this.io.phys(descPos), desc);
      for (const b of batch) this.io.writeBlock(this.io.phys(pos++), b);
    }
    const commit = Buffer.alloc(this.bs);
    commit.writeUInt32BE(JBD2_MAGIC, 0);
    commit.writeUInt32BE(COMMIT, 4);
    commit.writeUInt32BE(seq, 8);
    const now = Date.now();
    commit.writeBigUInt64BE(BigInt(Math.floor(now / 1000)), 48);
    commit.writeUInt32BE((now % 1000) * 1e6, 56);
    if (this.csum) {
      commit[12] = 4; // JBD2_CRC32C_CHKSUM
      commit[13] = 4;
      commit.writeUInt32BE(crc32c(this.seed, commit) >>> 0, 16);
    }
    this.io.writeBlock(this.io.phys(pos), commit);
    // The log is complete once the journal superblock points at it.
    this.sb.writeUInt32BE(this.first, 28);
    this.io.flush();
    this.writeSuper();
    this.io.flush();
    for (const { block, data } of blocks) writeHome(block, data);
    this.io.flush();
    this.sb.writeUInt32BE((seq + 1) >>> 0, 24);
    this.sb.writeUInt32BE(0, 28);
    this.writeSuper();
  }
}

function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
