// TCP segments (RFC 9293 §3.1): header fields, the options tuml speaks (MSS, window scale,
// SACK-permitted is parsed and ignored, timestamps are parsed), checksums, and sequence-space
// arithmetic modulo 2^32.
import { IPPROTO_TCP } from '../../abi/inet.js';
import { sum16, finish, pseudoSum4 } from './checksum.js';

export const TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10, TH_URG = 0x20;
export const TCP_HLEN = 20;
const OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_PERM = 4, OPT_TIMESTAMP = 8;

export interface Segment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** The window field as sent (not yet scaled). */
  wnd: number;
  data: Buffer;
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
}

/** a - b in sequence space, as a signed 32-bit number. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
export function seqLt(a: number, b: number): boolean { return seqDiff(a, b) < 0; }
export function seqLe(a: number, b: number): boolean { return seqDiff(a, b) <= 0; }
export function seqGt(a: number, b: number): boolean { return seqDiff(a, b) > 0; }
export function seqGe(a: number, b: number): boolean { return seqDiff(a, b) >= 0; }
export function seqAdd(a: number, n: number): number { return (a + n) >>> 0; }

/** Sequence space a segment occupies: its data plus one for SYN and one for FIN. */
export function segLen(s: Segment): number {
  return s.data.length + (s.flags & TH_SYN ? 1 : 0) + (s.flags & TH_FIN ? 1 : 0);
}

export function parseSegment(src: number, dst: number, b: Buffer, verify: boolean): Segment | null {
  if (b.length < TCP_HLEN) return null;
  const off = (b[12]! >> 4) * 4;
  if (off < TCP_HLEN || off > b.length) return null;
  if (verify && finish(sum16(b, 0, b.length, pseudoSum4(src, dst, IPPROTO_TCP, b.length))) !== 0) return null;
  const s: Segment = {
    src, dst, sport: b.readUInt16BE(0), dport: b.readUInt16BE(2), seq: b.readUInt32BE(4), ack: b.readUInt32BE(8),
    flags: b[13]! & 0x3f, wnd: b.readUInt16BE(14), data: b.subarray(off),
  };
  for (let i = TCP_HLEN; i < off;) {
    const kind = b[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) { i++; continue; }
    const len = b[i + 1] ?? 0;
    if (len < 2 || i + len > off) break;
    if (kind === OPT_MSS && len === 4) s.mss = b.readUInt16BE(i + 2);
    else if (kind === OPT_WSCALE && len === 3) s.wscale = Math.min(14, b[i + 2]!);
    else if (kind === OPT_SACK_PERM && len === 2) s.sackOk = true;
    else if (kind === OPT_TIMESTAMP && len === 10) { /* not used: RTT comes from Karn sampling */ }
    i += len;
  }
  return s;
}

export interface SegmentOut {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  wnd: number;
  data?: Buffer;
  mss?: number;
  wscale?: number;
}

export function buildSegment(src: number, dst: number, o: SegmentOut): Buffer {
  const opts: number[] = [];
  if (o.mss !== undefined) opts.push(OPT_MSS, 4, o.mss >> 8, o.mss & 0xff);
  if (o.wscale !== undefined) opts.push(OPT_NOP, OPT_WSCALE, 3, o.wscale);
  while (opts.length % 4) opts.push(OPT_NOP);
  const hl = TCP_HLEN + opts.length;
  const data = o.data ?? Buffer.alloc(0);
  const b = Buffer.allocUnsafe(hl + data.length);
  b.writeUInt16BE(o.sport, 0);
  b.writeUInt16BE(o.dport, 2);
  b.writeUInt32BE(o.seq >>> 0, 4);
  b.writeUInt32BE(o.ack >>> 0, 8);
  b[12] = (hl / 4) << 4;
  b[13] = o.flags;
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, o.wnd)), 14);
  b.writeUInt32BE(0, 16);
  for (let i = 0; i < opts.length; i++) b[TCP_HLEN + i] = opts[i]!;
  data.copy(b, hl);
  b.writeUInt16BE(finish(sum16(b, 0, b.length, pseudoSum4(src, dst, IPPROTO_TCP, b.length))), 16);
  return b;
}
