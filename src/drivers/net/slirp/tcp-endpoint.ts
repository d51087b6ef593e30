// One proxied TCP connection: a small TCP endpoint that speaks to the guest on the virtual
// LAN (as the remote peer it thinks it is talking to) and relays the byte stream to and from
// a host socket (node:net). The virtual link does not lose frames unless the guest's queues
// overflow, so this endpoint stays simple — in-order receive only (the guest retransmits what
// it sent out of order), go-back-N retransmission on a doubling timer, no congestion control
// — but it honours the guest's window (with window scaling) and pushes back on both sides:
// the window it advertises shrinks while the host socket is slow, and reading from the host
// pauses while the guest has not acknowledged enough.
import { ByteQueue } from '../../../kernel/lib/byte-queue.js';
import type * as net from 'node:net';
import { IPPROTO_TCP } from './packet.js';
import type { VirtualLan } from './gateway.js';

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;

const TCP_HLEN = 20;
/** The link is Ethernet with a 1500-byte MTU. */
const OUR_MSS = 1460;
const OUR_WSCALE = 7;
/** Bytes accepted from the guest and not yet taken by the host socket. */
const RCV_BUF = 1 << 20;
/** Bytes read from the host and not yet acknowledged by the guest before reading pauses. */
const SND_HIGH = 1 << 20;
const RTO_MIN_MS = 200;
const RTO_MAX_MS = 6000;
const MAX_RETRIES = 12;
/** How long a fully closed connection still answers a retransmitted FIN. */
const LINGER_MS = 2000;

const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;

interface SynOptions { mss?: number; wscale?: number }

export function parseSynOptions(seg: Buffer): SynOptions {
  const o: SynOptions = {};
  const end = Math.min(seg.length, (seg[12]! >> 4) * 4);
  for (let i = TCP_HLEN; i < end;) {
    const kind = seg[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = seg[i + 1] ?? 0;
    if (len < 2 || i + len > end) break;
    if (kind === 2 && len === 4) o.mss = seg.readUInt16BE(i + 2);
    else if (kind === 3 && len === 3) o.wscale = Math.min(14, seg[i + 2]!);
    i += len;
  }
  return o;
}

/** The addresses of a connection as the guest sees them. */
export interface TcpFourTuple {
  guestIp: number;
  guestPort: number;
  peerIp: number;
  peerPort: number;
}

/** Answers a segment that belongs to no connection (RFC 9293 §3.10.7.1). */
export function sendReset(lan: VirtualLan, t: TcpFourTuple, seg: Buffer): void {
  const flags = seg[13]!;
  if (flags & TH_RST) return;
  const data = seg.length - (seg[12]! >> 4) * 4;
  const hasAck = (flags & TH_ACK) !== 0;
  const seq = hasAck ? seg.readUInt32BE(8) : 0;
  const ack = (seg.readUInt32BE(4) + data + (flags & TH_SYN ? 1 : 0) + (flags & TH_FIN ? 1 : 0)) >>> 0;
  lan.sendIp(t.peerIp, t.guestIp, IPPROTO_TCP, TCP_HLEN, (f, at) => {
    f.writeUInt16BE(t.peerPort, at);
    f.writeUInt16BE(t.guestPort, at + 2);
    f.writeUInt32BE(seq, at + 4);
    f.writeUInt32BE(hasAck ? 0 : ack, at + 8);
    f[at + 12] = (TCP_HLEN / 4) << 4;
    f[at + 13] = hasAck ? TH_RST : TH_RST | TH_ACK;
    f.writeUInt32BE(0, at + 14); // window, checksum (filled later)
    f.writeUInt16BE(0, at + 18);
  });
}

type State = 'syn-sent' | 'connecting' | 'syn-rcvd' | 'established' | 'closed';

export class TcpEndpoint {
  private state: State;
  private readonly iss = (Math.random() * 0x100000000) >>> 0;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  /** Host data not yet acknowledged by the guest: acknowledged bytes leave at the front. */
  private readonly out = new ByteQueue();
  private finQueued = false;
  private finAcked = false;
  private rcvNxt = 0;
  private guestFin = false;
  private sndWnd = 0;
  private sndScale = 0;
  private rcvScale = 0;
  private guestWantsScale = false;
  private mss = 536;
  private timer: NodeJS.Timeout | null = null;
  private retries = 0;
  private rto = RTO_MIN_MS;
  private ackPending = false;
  private hostPaused = false;
  private sock: net.Socket | null = null;
  /** Called once when the connection is gone (the proxy drops it from its table). */
  onClose: () => void = () => {};

  private constructor(private readonly lan: VirtualLan, readonly tuple: TcpFourTuple, state: State) {
    this.state = state;
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
  }

  /** The guest's SYN to a host destination: connect there, answer SYN-ACK once connected. */
  static fromGuestSyn(lan: VirtualLan, tuple: TcpFourTuple, syn: Buffer, connect: () => net.Socket): TcpEndpoint {
    const e = new TcpEndpoint(lan, tuple, 'connecting');
    e.rcvNxt = (syn.readUInt32BE(4) + 1) >>> 0;
    e.takeSynOptions(syn);
    e.sndWnd = syn.readUInt16BE(14);
    const sock = connect();
    e.attach(sock);
    sock.once('connect', () => {
      if (e.state !== 'connecting') return;
      sock.setNoDelay(true);
      e.state = 'syn-rcvd';
      e.sendSyn();
    });
    return e;
  }

  /** A host client of a port forward: open a connection to the guest with our SYN. */
  static toGuest(lan: VirtualLan, tuple: TcpFourTuple, sock: net.Socket): TcpEndpoint {
    const e = new TcpEndpoint(lan, tuple, 'syn-sent');
    sock.setNoDelay(true);
    sock.pause();
    e.attach(sock);
    e.sendSyn();
    return e;
  }

  private takeSynOptions(syn: Buffer): void {
    const o = parseSynOptions(syn);
    this.mss = Math.max(64, Math.min(OUR_MSS, o.mss ?? 536));
    if (o.wscale !== undefined) {
      this.guestWantsScale = true;
      this.sndScale = o.wscale;
      this.rcvScale = OUR_WSCALE;
    }
  }

  private attach(sock: net.Socket): void {
    this.sock = sock;
    sock.on('data', (chunk: Buffer) => {
      this.out.push(chunk);
      if (this.out.length >= SND_HIGH && !this.hostPaused) {
        this.hostPaused = true;
        sock.pause();
      }
      this.output();
    });
    sock.on('end', () => {
      this.finQueued = true;
      this.output();
    });
    sock.on('drain', () => {
      if (this.state === 'established') this.sendAck();
    });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => {
      this.sock = null;
      if (this.state === 'closed') return;
      // Closed before both sides finished: the host refused, failed or reset.
      if (this.state === 'connecting' || !this.finQueued) this.reset();
    });
  }

  /** A segment from the guest for this connection. */
  input(seg: Buffer): void {
    const flags = seg[13]!;
    const seq = seg.readUInt32BE(4);
    const ack = seg.readUInt32BE(8);
    const win = seg.readUInt16BE(14);
    const data = seg.subarray((seg[12]! >> 4) * 4);
    if (flags & TH_RST) {
      if (this.state === 'syn-sent' && !((flags & TH_ACK) && ack === ((this.iss + 1) >>> 0))) return;
      this.close(true);
      return;
    }
    switch (this.state) {
      case 'connecting':
        return; // the guest retransmits its SYN while the host connect is under way
      case 'closed':
        if (flags & TH_FIN) this.sendAck();
        return;
      case 'syn-sent':
        if ((flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK) && ack === ((this.iss + 1) >>> 0)) {
          this.rcvNxt = (seq + 1) >>> 0;
          const o = parseSynOptions(seg);
          this.mss = Math.max(64, Math.min(OUR_MSS, o.mss ?? 536));
          // We offered scaling in our SYN; it is on only if the guest answered with its own.
          if (o.wscale !== undefined) { this.sndScale = o.wscale; this.rcvScale = OUR_WSCALE; } else this.rcvScale = 0;
          this.sndUna = this.sndNxt = this.sndMax = ack;
          this.sndWnd = win;
          this.established();
          this.sendAck();
          this.sock?.resume();
        } else if (flags & TH_ACK) sendReset(this.lan, this.tuple, seg);
        return;
      case 'syn-rcvd':
        if (flags & TH_SYN) { this.sendSyn(); return; }
        if (!(flags & TH_ACK) || ack !== ((this.iss + 1) >>> 0)) return;
        this.sndUna = this.sndNxt = this.sndMax = ack;
        this.established();
        break;
      case 'established':
        if (flags & TH_SYN) { this.sendAck(); return; }
        break;
    }
    if (flags & TH_ACK) this.takeAck(ack, win);
    if (data.length > 0 || (flags & TH_FIN)) this.takeData(seq, data, (flags & TH_FIN) !== 0);
    this.output();
    this.maybeFinished();
  }

  private established(): void {
    this.state = 'established';
    this.clearTimer();
    this.retries = 0;
    this.rto = RTO_MIN_MS;
  }

  private takeAck(ack: number, win: number): void {
    if (seqGt(ack, this.sndUna) && seqLe(ack, this.sndMax)) {
      let acked = (ack - this.sndUna) >>> 0;
      if (acked > this.out.length) {
        this.finAcked = true;
        acked = this.out.length;
      }
      this.out.consume(acked);
      this.sndUna = ack;
      if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
      this.retries = 0;
      this.rto = RTO_MIN_MS;
      this.clearTimer();
      if (this.hostPaused && this.out.length < SND_HIGH / 2) {
        this.hostPaused = false;
        this.sock?.resume();
      }
    }
    if (seqLe(this.sndUna, ack)) this.sndWnd = win << this.sndScale;
  }

  private takeData(seq: number, data: Buffer, fin: boolean): void {
    // Accept the part that starts at rcvNxt (a retransmission may overlap what we have).
    const skip = (this.rcvNxt - seq) | 0;
    if (skip < 0 || skip > data.length || (skip === data.length && !fin) || this.guestFin) {
      this.sendAck(); // out of order or a duplicate: tell the guest where we are
      return;
    }
    const fresh = data.subarray(skip);
    if (fresh.length > 0) {
      this.rcvNxt = (this.rcvNxt + fresh.length) >>> 0;
      this.sock?.write(fresh);
    }
    if (fin) {
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.guestFin = true;
      this.sock?.end();
      this.sendAck();
      return;
    }
    this.scheduleAck();
  }

  /** Sends what the guest's window allows, then our FIN once the host has ended. */
  private output(): void {
    if (this.state !== 'established') return;
    for (;;) {
      const sent = (this.sndNxt - this.sndUna) >>> 0;
      if (sent > this.out.length) break; // FIN is out: nothing follows it
      const n = Math.min(this.mss, this.out.length - sent, this.sndWnd - sent);
      if (n <= 0) {
        if (sent === this.out.length && this.finQueued) {
          this.sendSegment(TH_FIN | TH_ACK, this.sndNxt, 0, 0);
          this.advance(1);
        }
        break;
      }
      this.sendSegment(TH_ACK | (sent + n === this.out.length ? TH_PSH : 0), this.sndNxt, sent, n);
      this.advance(n);
    }
    if (this.sndNxt !== this.sndUna || (this.out.length > 0 && this.sndWnd === 0)) this.armTimer();
  }

  private advance(n: number): void {
    this.sndNxt = (this.sndNxt + n) >>> 0;
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
  }

  private rcvWindow(): number {
    return Math.max(0, RCV_BUF - (this.sock?.writableLength ?? 0));
  }

  private sendSyn(): void {
    const opts = this.state === 'syn-sent' || this.guestWantsScale
      ? [2, 4, OUR_MSS >> 8, OUR_MSS & 0xff, 1, 3, 3, OUR_WSCALE]
      : [2, 4, OUR_MSS >> 8, OUR_MSS & 0xff];
    const flags = this.state === 'syn-sent' ? TH_SYN : TH_SYN | TH_ACK;
    this.sendSegment(flags, this.iss, 0, 0, Buffer.from(opts));
    this.sndNxt = this.sndMax = (this.iss + 1) >>> 0;
    this.armTimer();
  }

  private sendAck(): void {
    this.sendSegment(TH_ACK, this.sndNxt, 0, 0);
  }

  private scheduleAck(): void {
    if (this.ackPending) return;
    this.ackPending = true;
    // One ACK for a burst of segments: the burst arrives in one turn of the event loop.
    setImmediate(() => {
      if (this.ackPending && this.state !== 'closed') this.sendAck();
    });
  }

  private sendSegment(flags: number, seq: number, off: number, len: number, opts?: Buffer): void {
    const hlen = TCP_HLEN + (opts?.length ?? 0);
    const syn = (flags & TH_SYN) !== 0;
    const wnd = syn ? Math.min(0xffff, this.rcvWindow()) : Math.min(0xffff, this.rcvWindow() >>> this.rcvScale);
    const withAck = (flags & TH_ACK) !== 0;
    if (withAck) this.ackPending = false;
    const { peerIp, guestIp, peerPort, guestPort } = this.tuple;
    this.lan.sendIp(peerIp, guestIp, IPPROTO_TCP, hlen + len, (f, at) => {
      f.writeUInt16BE(peerPort, at);
      f.writeUInt16BE(guestPort, at + 2);
      f.writeUInt32BE(seq, at + 4);
      f.writeUInt32BE(withAck ? this.rcvNxt : 0, at + 8);
      f[at + 12] = (hlen / 4) << 4;
      f[at + 13] = flags;
      f.writeUInt16BE(wnd, at + 14);
      f.writeUInt32BE(0, at + 16); // checksum (filled later), urgent pointer
      if (opts) opts.copy(f, at + TCP_HLEN);
      if (len > 0) this.out.copyTo(off, len, f, at + hlen);
    });
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.onTimeout(), this.rto);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimeout(): void {
    this.timer = null;
    if (++this.retries > MAX_RETRIES) { this.reset(); return; }
    this.rto = Math.min(this.rto * 2, RTO_MAX_MS);
    if (this.state === 'syn-sent' || this.state === 'syn-rcvd') { this.sendSyn(); return; }
    if (this.state !== 'established') return;
    if (this.sndNxt !== this.sndUna || seqLt(this.sndUna, this.sndMax)) {
      this.sndNxt = this.sndUna; // go back N
      if (this.sndWnd === 0) this.sndWnd = 1; // a window probe carries one byte
      this.output();
    } else if (this.out.length > 0 && this.sndWnd === 0) {
      // Zero window: an already-acknowledged sequence number makes the guest answer with its window.
      this.sendSegment(TH_ACK, (this.sndUna - 1) >>> 0, 0, 0);
      this.armTimer();
    }
  }

  private maybeFinished(): void {
    if (this.state !== 'established' || !this.guestFin || !this.finAcked) return;
    this.state = 'closed';
    this.clearTimer();
    setTimeout(() => this.onClose(), LINGER_MS).unref();
  }

  /** Tell the guest the connection is gone, and forget it. */
  private reset(): void {
    if (this.state !== 'connecting' && this.state !== 'closed') {
      this.sendSegment(TH_RST | TH_ACK, this.sndNxt, 0, 0);
    } else if (this.state === 'connecting') {
      // The host refused: the guest's connect() sees ECONNREFUSED.
      this.sendSegment(TH_RST | TH_ACK, 0, 0, 0);
    }
    this.close(true);
  }

  /** Drop the connection now (`abort`: destroy the host socket rather than finish it). */
  close(abort: boolean): void {
    if (this.state === 'closed' && !abort) return;
    const wasClosed = this.state === 'closed';
    this.state = 'closed';
    this.clearTimer();
    if (abort) this.sock?.destroy();
    this.sock = null;
    if (!wasClosed) this.onClose();
  }
}
