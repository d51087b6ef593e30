// TCP's demultiplexing tables (inet_hashtables): established connections by their 4-tuple,
// listeners by port, and the bind table that decides EADDRINUSE. Segments for no socket get
// a reset; ICMP errors are routed to the connection they concern.
import { Errno } from '../../errno.js';
import { EADDRINUSE, EADDRNOTAVAIL } from '../../abi/errno.js';
import { IPPROTO_TCP, IFF_LOOPBACK } from '../../abi/inet.js';
import { INADDR_ANY } from './address.js';
import { ipOutput, type IpPacket } from './ip.js';
import { pickEphemeral, addrsOverlap } from './ports.js';
import { parseSegment, buildSegment, segLen, seqAdd, TH_ACK, TH_RST, type Segment } from './tcp-segment.js';
import type { TcpSocket } from './tcp.js';
import type { NetStack } from './stack.js';

export const TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_SYN_RECV = 3, TCP_FIN_WAIT1 = 4, TCP_FIN_WAIT2 = 5,
  TCP_TIME_WAIT = 6, TCP_CLOSE = 7, TCP_CLOSE_WAIT = 8, TCP_LAST_ACK = 9, TCP_LISTEN = 10, TCP_CLOSING = 11;

function key(la: number, lp: number, ra: number, rp: number): string {
  return `${la}:${lp}:${ra}:${rp}`;
}

export class TcpTable {
  readonly conns = new Map<string, TcpSocket>();
  readonly listeners = new Map<number, TcpSocket[]>();
  /** Every socket holding a local port (bound, listening, connected, TIME_WAIT). */
  readonly bound = new Map<number, Set<TcpSocket>>();
  readonly counters = { activeOpens: 0, passiveOpens: 0, attemptFails: 0, estabResets: 0, inSegs: 0, outSegs: 0, retransSegs: 0, inErrs: 0, outRsts: 0 };

  constructor(readonly stack: NetStack) {}

  private conflicts(sock: TcpSocket, addr: number, port: number): boolean {
    for (const o of this.bound.get(port) ?? []) {
      if (o === sock || !addrsOverlap(o.localAddr, addr)) continue;
      if (o.boundDev && sock.boundDev && o.boundDev !== sock.boundDev) continue;
      if (sock.opts.reuseport && o.opts.reuseport && o.uid === sock.uid && o.state !== TCP_TIME_WAIT) continue;
      // SO_REUSEADDR lets a socket share a port with anything but a listener.
      if (sock.opts.reuseaddr && o.state !== 10 && (o.opts.reuseaddr || o.state === TCP_TIME_WAIT)) continue;
      return true;
    }
    return false;
  }

  bind(sock: TcpSocket, addr: number, port: number): void {
    if (port === 0) port = pickEphemeral((p) => !this.bound.has(p) || !this.conflicts(sock, addr, p));
    else if (this.conflicts(sock, addr, port)) throw new Errno(EADDRINUSE);
    sock.localAddr = addr;
    sock.localPort = port;
    this.addBound(sock);
  }

  addBound(sock: TcpSocket): void {
    let s = this.bound.get(sock.localPort);
    if (!s) this.bound.set(sock.localPort, s = new Set());
    s.add(sock);
  }

  unbind(sock: TcpSocket): void {
    const s = this.bound.get(sock.localPort);
    if (!s) return;
    s.delete(sock);
    if (s.size === 0) this.bound.delete(sock.localPort);
  }

  /** connect(2) on an unbound socket: an ephemeral port free for this 4-tuple. */
  bindForConnect(sock: TcpSocket, raddr: number, rport: number): void {
    const port = pickEphemeral((p) => !this.bound.has(p) && !this.conns.has(key(sock.localAddr, p, raddr, rport)), true);
    sock.localPort = port;
    this.addBound(sock);
  }

  hash(sock: TcpSocket): void {
    const k = key(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort);
    const o = this.conns.get(k);
    if (o && o !== sock) {
      if (o.state !== TCP_TIME_WAIT) throw new Errno(EADDRNOTAVAIL);
      o.finish();
    }
    this.conns.set(k, sock);
  }

  unhash(sock: TcpSocket): void {
    const k = key(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort);
    if (this.conns.get(k) === sock) this.conns.delete(k);
  }

  listen(sock: TcpSocket): void {
    const l = this.listeners.get(sock.localPort) ?? [];
    if (!l.includes(sock)) l.push(sock);
    this.listeners.set(sock.localPort, l);
  }

  unlisten(sock: TcpSocket): void {
    const l = this.listeners.get(sock.localPort);
    if (!l) return;
    const i = l.indexOf(sock);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) this.listeners.delete(sock.localPort);
  }

  private findListener(addr: number, port: number, ifindex: number): TcpSocket | null {
    let best: TcpSocket | null = null;
    for (const s of this.listeners.get(port) ?? []) {
      if (s.boundDev && s.boundDev.index !== ifindex) continue;
      if (s.localAddr === addr) return s;
      if (s.localAddr === INADDR_ANY && !best) best = s;
    }
    return best;
  }

  input(p: IpPacket): void {
    const seg = parseSegment(p.src, p.dst, p.payload, !(p.dev.flags & IFF_LOOPBACK));
    if (!seg) { this.counters.inErrs++; return; }
    this.counters.inSegs++;
    const c = this.conns.get(key(p.dst, seg.dport, p.src, seg.sport));
    if (c) {
      // A new SYN for a connection in TIME_WAIT may start a new incarnation (tcp_timewait_state_process).
      if (c.state === TCP_TIME_WAIT && seg.flags === 0x02 && this.findListener(p.dst, seg.dport, p.dev.index)) {
        c.finish();
      } else {
        c.segmentArrives(seg);
        return;
      }
    }
    const l = this.findListener(p.dst, seg.dport, p.dev.index);
    if (l) { l.listenerSegment(seg, p); return; }
    this.sendReset(seg);
  }

  /** Answers a segment that belongs to no connection with RST (RFC 9293 §3.10.7.1). */
  sendReset(seg: Segment): void {
    if (seg.flags & TH_RST) return;
    const out = seg.flags & TH_ACK
      ? { sport: seg.dport, dport: seg.sport, seq: seg.ack, ack: 0, flags: TH_RST, wnd: 0 }
      : { sport: seg.dport, dport: seg.sport, seq: 0, ack: seqAdd(seg.seq, segLen(seg)), flags: TH_RST | TH_ACK, wnd: 0 };
    this.counters.outRsts++;
    try {
      ipOutput(this.stack, { src: seg.dst, dst: seg.src, proto: IPPROTO_TCP, payload: buildSegment(seg.dst, seg.src, out) });
    } catch { /* no route back */ }
  }

  error(type: number, code: number, inner: Buffer): void {
    const hl = (inner[0]! & 0xf) * 4;
    if (inner.length < hl + 8) return;
    const src = inner.readUInt32BE(12), dst = inner.readUInt32BE(16);
    const c = this.conns.get(key(src, inner.readUInt16BE(hl), dst, inner.readUInt16BE(hl + 2)));
    c?.icmpError(type, code);
  }
}
