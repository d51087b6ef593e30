// Capture of a device's frames to a pcap file (the classic libpcap format, which tcpdump
// and wireshark read): a writer, and a transport wrapper that records every frame sent and
// received through any transport. UML's own `pcap` transport (reading a host interface
// through libpcap) is gone from Linux 6.12; this is the capture half users wanted from it.
import * as fs from 'node:fs';
import type { FrameHandler, NetTransport, TransportStats } from './transport.js';

const PCAP_MAGIC_USEC = 0xa1b2c3d4;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_SNAPLEN = 262144;

/** Appends records to a pcap file; writes are synchronous so records keep frame order. */
export class PcapWriter {
  private fd: number | null;
  private readonly snaplen: number;

  constructor(readonly path: string, snaplen = PCAP_SNAPLEN) {
    this.fd = fs.openSync(path, 'w', 0o644);
    const h = Buffer.alloc(24);
    h.writeUInt32LE(PCAP_MAGIC_USEC, 0);
    h.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
    h.writeUInt16LE(PCAP_VERSION_MINOR, 6);
    h.writeInt32LE(0, 8); // thiszone: UTC
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    fs.writeSync(this.fd, h);
    this.snaplen = snaplen;
  }

  /** One record; `whenUs` is microseconds since the epoch (default: now). */
  write(frame: Buffer, whenUs = Math.floor((performance.timeOrigin + performance.now()) * 1000)): void {
    if (this.fd === null) return;
    const caplen = Math.min(frame.length, this.snaplen);
    const rec = Buffer.alloc(16 + caplen);
    rec.writeUInt32LE(Math.floor(whenUs / 1_000_000), 0);
    rec.writeUInt32LE(whenUs % 1_000_000, 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(frame.length, 12);
    frame.copy(rec, 16, 0, caplen);
    fs.writeSync(this.fd, rec);
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

export interface PcapRecord {
  tsSec: number;
  tsUsec: number;
  origLen: number;
  data: Buffer;
}

/** Parse a pcap file (either byte order, microsecond or nanosecond magic). */
export function readPcap(buf: Buffer): { linktype: number; snaplen: number; records: PcapRecord[] } {
  if (buf.length < 24) throw new Error('pcap: file too short');
  const m = buf.readUInt32LE(0);
  let le: boolean;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true;
  else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: bad magic ${m.toString(16)}`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const caplen = u32(off + 8);
    if (off + 16 + caplen > buf.length) break; // a record cut short by a crash
    records.push({ tsSec: u32(off), tsUsec: u32(off + 4), origLen: u32(off + 12), data: Buffer.from(buf.subarray(off + 16, off + 16 + caplen)) });
    off += 16 + caplen;
  }
  return { linktype: u32(20), snaplen: u32(16), records };
}

/** A transport that records, in order, every frame the device sends and receives. */
export class CaptureTransport implements NetTransport {
  constructor(private readonly inner: NetTransport, private readonly writer: PcapWriter) {}

  get name(): string {
    return this.inner.name;
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  send(frame: Buffer): void {
    this.writer.write(frame);
    this.inner.send(frame);
  }

  onFrame(cb: FrameHandler): void {
    this.inner.onFrame((frame) => {
      this.writer.write(frame);
      cb(frame);
    });
  }

  onDisconnect(cb: () => void): void {
    this.inner.onDisconnect(cb);
  }

  close(): void {
    this.inner.close();
    this.writer.close();
  }

  describe(): string {
    return this.inner.describe();
  }

  info(): string {
    return `${this.inner.info()} (captured to ${this.writer.path})`;
  }
}
