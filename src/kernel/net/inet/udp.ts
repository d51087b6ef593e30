// UDP (net/ipv4/udp.c): the port table, demultiplexing, checksums, and UDP sockets
// (SOCK_DGRAM, IPPROTO_UDP): bind/connect, sendto/recvfrom with per-datagram boundaries,
// ICMP errors reported as ECONNREFUSED on connected sockets.
import { Errno } from '../../errno.js';
import { EACCES, EADDRINUSE, EAFNOSUPPORT, EAGAIN, ECONNREFUSED, EDESTADDRREQ, EHOSTUNREACH, EINVAL, EMSGSIZE, ENETUNREACH, ENOTCONN, EOPNOTSUPP, EPIPE } from '../../abi/errno.js';
import { IPPROTO_UDP, IFF_LOOPBACK, ICMP_PORT_UNREACH, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../../abi/inet.js';
import { MSG_OOB, SHUT_WR, SOCK_DGRAM } from '../../abi/socket.js';
import { POLLERR } from '../../fs/file.js';
import type { Task } from '../../task/task.js';
import { notify } from '../../event/notify.js';
import { wantsSigpipe, type SendRequest } from '../socket.js';
import { raiseSigpipe } from '../../ipc/sigpipe.js';
import { sum16, finish, pseudoSum4 } from './checksum.js';
import { parseSockaddrIn, formatSockaddrIn, INADDR_ANY, isMulticast } from './address.js';
import { ipOutput, routeOutput, type IpPacket } from './ip.js';
import { nowMs, type PacketInfo } from './inet-socket.js';
import { InetDgramSocket, SEND_SHUTDOWN } from './dgram-socket.js';
import { pickEphemeral, addrsOverlap } from './ports.js';
import type { NetStack } from './stack.js';

export const UDP_HLEN = 8;
const MAX_UDP_PAYLOAD = 65507;

export function udpChecksum(src: number, dst: number, seg: Buffer): number {
  const c = finish(sum16(seg, 0, seg.length, pseudoSum4(src, dst, IPPROTO_UDP, seg.length)));
  return c === 0 ? 0xffff : c;
}

export class UdpTable {
  readonly byPort = new Map<number, UdpSocket[]>();

  constructor(readonly stack: NetStack) {}

  private conflicts(sock: UdpSocket, addr: number, port: number): boolean {
    for (const o of this.byPort.get(port) ?? []) {
      if (o === sock || !addrsOverlap(o.localAddr, addr)) continue;
      if (o.boundDev && sock.boundDev && o.boundDev !== sock.boundDev) continue;
      if (o.opts.reuseaddr && sock.opts.reuseaddr) continue;
      if (o.opts.reuseport && sock.opts.reuseport && o.uid === sock.uid) continue;
      return true;
    }
    return false;
  }

  bind(sock: UdpSocket, addr: number, port: number): void {
    if (port === 0) port = pickEphemeral((p) => !this.conflicts(sock, addr, p));
    else if (this.conflicts(sock, addr, port)) throw new Errno(EADDRINUSE);
    sock.localAddr = addr;
    sock.localPort = port;
    const l = this.byPort.get(port) ?? [];
    l.push(sock);
    this.byPort.set(port, l);
  }

  unbind(sock: UdpSocket): void {
    const l = this.byPort.get(sock.localPort);
    if (!l) return;
    const i = l.indexOf(sock);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) this.byPort.delete(sock.localPort);
  }

  /** The socket a unicast datagram belongs to (compute_score: most specific wins). */
  private lookup(src: number, sport: number, dst: number, dport: number, ifindex: number): UdpSocket | null {
    let best: UdpSocket | null = null, bestScore = -1;
    for (const s of this.byPort.get(dport) ?? []) {
      let score = 0;
      if (s.localAddr !== INADDR_ANY) { if (s.localAddr !== dst) continue; score += 4; }
      if (s.remoteAddr !== INADDR_ANY) { if (s.remoteAddr !== src) continue; score += 4; }
      if (s.remotePort !== 0) { if (s.remotePort !== sport) continue; score += 4; }
      if (s.boundDev) { if (s.boundDev.index !== ifindex) continue; score += 4; }
      if (score > bestScore) { best = s; bestScore = score; }
    }
    return best;
  }

  input(p: IpPacket): void {
    const seg = p.payload;
    if (seg.length < UDP_HLEN) return;
    const len = seg.readUInt16BE(4);
    if (len < UDP_HLEN || len > seg.length) return;
    const csum = seg.readUInt16BE(6);
    const udp = seg.subarray(0, len);
    if (csum !== 0 && !(p.dev.flags & IFF_LOOPBACK) && finish(sum16(udp, 0, len, pseudoSum4(p.src, p.dst, IPPROTO_UDP, len))) !== 0) return;
    const sport = udp.readUInt16BE(0), dport = udp.readUInt16BE(2);
    const data = Buffer.from(udp.subarray(UDP_HLEN));
    const info: PacketInfo = { ttl: p.ttl, tos: p.tos, dst: p.dst, ifindex: p.dev.index, time: nowMs() };
    const multi = isMulticast(p.dst) || this.stack.isBroadcast(p.dst);
    if (multi) {
      for (const s of this.byPort.get(dport) ?? []) {
        if (s.localAddr !== INADDR_ANY && s.localAddr !== p.dst) continue;
        if (s.remoteAddr !== INADDR_ANY && (s.remoteAddr !== p.src || s.remotePort !== sport)) continue;
        s.enqueue({ data, src: p.src, sport, info });
      }
      return;
    }
    const s = this.lookup(p.src, sport, p.dst, dport, p.dev.index);
    if (!s) {
      this.stack.icmp.sendUnreachable(p, ICMP_PORT_UNREACH);
      return;
    }
    s.enqueue({ data, src: p.src, sport, info });
  }

  /** An ICMP error about a datagram we sent (`inner` is its IP header + first bytes). */
  error(type: number, code: number, inner: Buffer): void {
    const hl = (inner[0]! & 0xf) * 4;
    if (inner.length < hl + 4) return;
    const src = inner.readUInt32BE(12), dst = inner.readUInt32BE(16);
    const sport = inner.readUInt16BE(hl), dport = inner.readUInt16BE(hl + 2);
    const s = this.lookup(dst, dport, src, sport, 0);
    if (!s || type !== ICMP_DEST_UNREACH) return;
    const err = code === ICMP_PORT_UNREACH ? ECONNREFUSED : code === ICMP_FRAG_NEEDED ? EMSGSIZE : code === 0 ? ENETUNREACH : EHOSTUNREACH;
    // Linux reports errors on unconnected sockets only with IP_RECVERR.
    if (s.remoteAddr === INADDR_ANY && !s.recvErr) return;
    s.error = err;
    notify(s, POLLERR);
  }
}

export class UdpSocket extends InetDgramSocket {
  /** connect(2) chose the local address (disconnect gives it back). */
  private addrAutoset = false;
  private portAutoset = false;

  constructor(stack: NetStack, flags: number, uid: number, gid: number) {
    super(stack, SOCK_DGRAM, IPPROTO_UDP, flags);
    this.uid = uid;
    this.gid = gid;
  }

  private get table(): UdpTable {
    return this.stack.udp;
  }

  protected hasPeer(): boolean {
    return this.remotePort !== 0;
  }

  override bind(_t: Task, raw: Buffer): void {
    const a = parseSockaddrIn(raw, true) ?? { addr: INADDR_ANY, port: 0 };
    if (a.addr !== INADDR_ANY && raw.readUInt16LE(0) === 0) throw new Errno(EAFNOSUPPORT);
    if (this.localPort !== 0) throw new Errno(EINVAL);
    this.checkBindAddr(a.addr);
    if (a.port !== 0 && a.port < 1024 && _t.cred.euid !== 0) throw new Errno(EACCES);
    this.table.bind(this, a.addr, a.port);
  }

  private autobind(): void {
    if (this.localPort === 0) {
      this.table.bind(this, this.localAddr, 0);
      this.portAutoset = true;
    }
  }

  override connect(_t: Task, raw: Buffer, _nonblock: boolean): void {
    const a = parseSockaddrIn(raw, true);
    if (!a) { this.disconnect(); return; }
    if (a.port === 0) throw new Errno(ECONNREFUSED);
    const target = a.addr === INADDR_ANY ? 0x7f000001 : a.addr;
    if (this.stack.isBroadcast(target) && !this.opts.broadcast) throw new Errno(EACCES);
    routeOutput(this.stack, target, this.boundDev);
    if (this.localAddr === INADDR_ANY) {
      const src = this.stack.sourceFor(target);
      if (this.localPort !== 0) this.rehash(src);
      else this.localAddr = src;
      this.addrAutoset = true;
    }
    this.autobind();
    this.remoteAddr = target;
    this.remotePort = a.port;
    this.error = 0;
  }

  private rehash(addr: number): void {
    this.table.unbind(this);
    const port = this.localPort;
    this.localAddr = addr;
    const l = this.table.byPort.get(port) ?? [];
    l.push(this);
    this.table.byPort.set(port, l);
  }

  private disconnect(): void {
    this.remoteAddr = INADDR_ANY;
    this.remotePort = 0;
    if (this.addrAutoset) {
      this.addrAutoset = false;
      if (this.localPort !== 0) this.rehash(INADDR_ANY);
      else this.localAddr = INADDR_ANY;
    }
    if (this.portAutoset) {
      this.portAutoset = false;
      this.table.unbind(this);
      this.localPort = 0;
    }
  }

  override getpeername(): Buffer {
    if (this.remotePort === 0) throw new Errno(ENOTCONN);
    return formatSockaddrIn(this.remoteAddr, this.remotePort);
  }

  sendmsg(t: Task, req: SendRequest): number {
    if (req.flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
    if (this.shut & SEND_SHUTDOWN) {
      if (wantsSigpipe(req.flags)) raiseSigpipe(t);
      throw new Errno(EPIPE);
    }
    let dst: number, dport: number;
    if (req.addr && req.addr.length) {
      const a = parseSockaddrIn(req.addr, true);
      if (!a) {
        if (this.remotePort === 0) throw new Errno(EDESTADDRREQ);
        dst = this.remoteAddr; dport = this.remotePort;
      } else {
        if (a.port === 0) throw new Errno(EINVAL);
        dst = a.addr === INADDR_ANY ? 0x7f000001 : a.addr;
        dport = a.port;
      }
    } else {
      if (this.remotePort === 0) throw new Errno(EDESTADDRREQ);
      dst = this.remoteAddr; dport = this.remotePort;
    }
    const data = req.data;
    if (data.length > MAX_UDP_PAYLOAD) throw new Errno(EMSGSIZE);
    if (this.stack.isBroadcast(dst) && !this.opts.broadcast) throw new Errno(EACCES);
    const mcDev = isMulticast(dst) && this.mcIf ? this.stack.deviceOfAddress(this.mcIf) : null;
    const r = routeOutput(this.stack, dst, this.boundDev ?? mcDev);
    this.autobind();
    const src = this.localAddr !== INADDR_ANY && !isMulticast(this.localAddr) ? this.localAddr : (r.prefsrc || this.stack.sourceFor(dst) || r.dev.addrs[0]?.addr || 0);
    const seg = Buffer.allocUnsafe(UDP_HLEN + data.length);
    seg.writeUInt16BE(this.localPort, 0);
    seg.writeUInt16BE(dport, 2);
    seg.writeUInt16BE(seg.length, 4);
    seg.writeUInt16BE(0, 6);
    data.copy(seg, UDP_HLEN);
    seg.writeUInt16BE(udpChecksum(src, dst, seg), 6);
    const ttl = isMulticast(dst) ? this.mcTtl : this.effectiveTtl;
    ipOutput(this.stack, { src, dst, proto: IPPROTO_UDP, payload: seg, ttl, tos: this.tos, dev: this.boundDev ?? mcDev, df: this.mtuDiscover === 2 });
    // Multicast loops back to local members when IP_MULTICAST_LOOP is on.
    void this.mcLoop;
    return data.length;
  }

  protected override release(): void {
    if (this.localPort !== 0) this.table.unbind(this);
    this.queue.length = 0;
  }
}

