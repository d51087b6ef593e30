// Netlink message building and parsing: nlmsghdr, 4-byte aligned attributes (struct nlattr).
import { NLMSG_HDRLEN, NLA_HDRLEN } from '../../abi/netlink.js';

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export interface NlMsg { type: number; flags: number; seq: number; pid: number; body: Buffer }

/** Splits a buffer into netlink messages (stops at the first malformed header). */
export function parseMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length;) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), pid: buf.readUInt32LE(off + 12), body: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

export function message(type: number, flags: number, seq: number, pid: number, body: Buffer): Buffer {
  const len = NLMSG_HDRLEN + body.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(pid >>> 0, 12);
  body.copy(b, NLMSG_HDRLEN);
  return b;
}

/** Attributes of a message body after its fixed header, by type (the last one wins). */
export function parseAttrs(buf: Buffer, start: number): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (let off = start; off + NLA_HDRLEN <= buf.length;) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    m.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return m;
}

/** Builds a message body: a fixed header followed by attributes. */
export class AttrWriter {
  private parts: Buffer[] = [];
  constructor(head: Buffer) {
    this.parts.push(head);
  }
  raw(type: number, data: Buffer): this {
    const len = NLA_HDRLEN + data.length;
    const b = Buffer.alloc(align4(len));
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    data.copy(b, NLA_HDRLEN);
    this.parts.push(b);
    return this;
  }
  u8(type: number, v: number): this { return this.raw(type, Buffer.from([v & 0xff])); }
  u32(type: number, v: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return this.raw(type, b); }
  ip4(type: number, a: number): this { const b = Buffer.alloc(4); b.writeUInt32BE(a >>> 0); return this.raw(type, b); }
  str(type: number, s: string): this { return this.raw(type, Buffer.from(s + '\0', 'latin1')); }
  build(): Buffer { return Buffer.concat(this.parts); }
}

export function attrString(b: Buffer | undefined): string | undefined {
  return b ? b.toString('latin1').replace(/\0.*$/s, '') : undefined;
}
