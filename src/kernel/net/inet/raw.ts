// Raw IP sockets (net/ipv4/raw.c; SOCK_RAW: whole datagrams in, payloads or whole datagrams
// out) and ICMP datagram "ping" sockets (net/ipv4/ping.c; SOCK_DGRAM + IPPROTO_ICMP: echo
// requests whose identifier the kernel owns, allowed by net.ipv4.ping_group_range).
import { Errno } from '../../errno.js';
import { EACCES, EADDRINUSE, EAGAIN, ECONNREFUSED, EDESTADDRREQ, EHOSTUNREACH, EINVAL, EMSGSIZE, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPERM, EPROTONOSUPPORT } from '../../abi/errno.js';
import {
  IPPROTO_ICMP, IPPROTO_RAW, SOL_RAW, ICMP_FILTER, ICMP_ECHO, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
} from '../../abi/inet.js';
import { MSG_OOB, SOCK_RAW, SOCK_DGRAM } from '../../abi/socket.js';
import { POLLERR } from '../../fs/file.js';
import type { Task } from '../../task/task.js';
import { notify } from '../../event/notify.js';
import type { SendRequest } from '../socket.js';
import { checksum } from './checksum.js';
import { parseSockaddrIn, formatSockaddrIn, INADDR_ANY } from './address.js';
import { ipOutput, routeOutput, buildIpHeader, IP_HLEN, type IpPacket } from './ip.js';
import { nowMs, int, type InetSocket, type PacketInfo } from './inet-socket.js';
import { InetDgramSocket } from './dgram-socket.js';
import type { NetStack } from './stack.js';

/** The addressing raw and ping sockets share (no ports: the peer is an address). */
abstract class IpDgramSocket extends InetDgramSocket {
  protected hasPeer(): boolean {
    return this.remoteAddr !== INADDR_ANY;
  }

  override connect(_t: Task, raw: Buffer, _nonblock: boolean): void {
    const a = parseSockaddrIn(raw, true);
    if (!a) { this.remoteAddr = INADDR_ANY; return; }
    routeOutput(this.stack, a.addr, this.boundDev);
    if (this.localAddr === INADDR_ANY) this.localAddr = this.stack.sourceFor(a.addr);
    this.remoteAddr = a.addr;
    this.onConnect();
  }
  protected onConnect(): void {}

  override getpeername(): Buffer {
    if (this.remoteAddr === INADDR_ANY) throw new Errno(ENOTCONN);
    return formatSockaddrIn(this.remoteAddr, 0);
  }

  protected destination(req: SendRequest): number {
    if (req.addr && req.addr.length) {
      const a = parseSockaddrIn(req.addr, true);
      if (a) return a.addr;
    }
    if (this.remoteAddr === INADDR_ANY) throw new Errno(EDESTADDRREQ);
    return this.remoteAddr;
  }

  protected override release(): void {
    this.stack.raw.remove(this);
    this.queue.length = 0;
  }
}

export class RawSocket extends IpDgramSocket {
  /** ICMP_FILTER: bit n set drops ICMP type n. */
  icmpFilter = 0;

  constructor(stack: NetStack, protocol: number, flags: number, uid: number, gid: number) {
    super(stack, SOCK_RAW, protocol, flags);
    this.uid = uid;
    this.gid = gid;
    this.localPort = protocol; // getsockname of a raw socket shows the protocol as the port
    if (protocol === IPPROTO_RAW) this.hdrincl = true;
  }

  override getsockname(): Buffer {
    return formatSockaddrIn(this.localAddr, 0);
  }

  override bind(_t: Task, raw: Buffer): void {
    const a = parseSockaddrIn(raw, true) ?? { addr: INADDR_ANY, port: 0 };
    this.checkBindAddr(a.addr);
    this.localAddr = a.addr;
  }

  /** Whether this socket takes a copy of `p` (raw_v4_input). */
  wants(p: IpPacket): boolean {
    if (this.protocol !== p.proto || this.protocol === IPPROTO_RAW) return false;
    if (this.localAddr !== INADDR_ANY && this.localAddr !== p.dst) return false;
    if (this.remoteAddr !== INADDR_ANY && this.remoteAddr !== p.src) return false;
    if (this.boundDev && this.boundDev !== p.dev) return false;
    if (p.proto === IPPROTO_ICMP && p.payload.length > 0 && p.payload[0]! < 32 && (this.icmpFilter >>> p.payload[0]!) & 1) return false;
    return true;
  }

  sendmsg(_t: Task, req: SendRequest): number {
    if (req.flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
    const dst = this.destination(req);
    const data = req.data;
    if (data.length > 65535) throw new Errno(EMSGSIZE);
    if (this.stack.isBroadcast(dst) && !this.opts.broadcast) throw new Errno(EACCES);
    if (this.hdrincl) {
      if (data.length < IP_HLEN) throw new Errno(EINVAL);
      const r = routeOutput(this.stack, dst, this.boundDev);
      const pkt = Buffer.from(data);
      const hl = (pkt[0]! & 0xf) * 4;
      // The kernel fills in total length, id (if 0), source (if 0) and the header checksum.
      pkt.writeUInt16BE(pkt.length, 2);
      if (pkt.readUInt16BE(4) === 0) pkt.writeUInt16BE(this.stack.nextIpId(), 4);
      if (pkt.readUInt32BE(12) === 0) pkt.writeUInt32BE(r.prefsrc || this.stack.sourceFor(dst), 12);
      pkt.writeUInt16BE(0, 10);
      pkt.writeUInt16BE(checksum(pkt, 0, hl), 10);
      const dev = r.type === 2 ? this.stack.loopback : r.dev;
      dev.transmit(0x0800, pkt, r.gateway || dst);
      return data.length;
    }
    const r = routeOutput(this.stack, dst, this.boundDev);
    const src = this.localAddr !== INADDR_ANY ? this.localAddr : r.prefsrc || this.stack.sourceFor(dst);
    ipOutput(this.stack, { src, dst, proto: this.protocol, payload: data, ttl: this.effectiveTtl, tos: this.tos, dev: this.boundDev });
    return data.length;
  }

  protected override protoGetsockopt(t: Task, level: number, name: number): Buffer {
    if (level === SOL_RAW && name === ICMP_FILTER && this.protocol === IPPROTO_ICMP) return int(this.icmpFilter);
    return super.protoGetsockopt(t, level, name);
  }
  protected override protoSetsockopt(t: Task, level: number, name: number, val: Buffer): void {
    if (level === SOL_RAW && name === ICMP_FILTER) {
      if (this.protocol !== IPPROTO_ICMP) throw new Errno(EOPNOTSUPP);
      if (val.length < 4) throw new Errno(EINVAL);
      this.icmpFilter = val.readUInt32LE(0);
      return;
    }
    super.protoSetsockopt(t, level, name, val);
  }
}

export class PingSocket extends IpDgramSocket {
  constructor(stack: NetStack, flags: number, uid: number, gid: number) {
    super(stack, SOCK_DGRAM, IPPROTO_ICMP, flags);
    this.uid = uid;
    this.gid = gid;
  }

  override bind(_t: Task, raw: Buffer): void {
    const a = parseSockaddrIn(raw, true) ?? { addr: INADDR_ANY, port: 0 };
    if (this.localPort !== 0) throw new Errno(EINVAL);
    this.checkBindAddr(a.addr);
    this.localAddr = a.addr;
    this.stack.raw.bindPing(this, a.port);
  }

  protected override onConnect(): void {
    if (this.localPort === 0) this.stack.raw.bindPing(this, 0);
  }

  sendmsg(_t: Task, req: SendRequest): number {
    if (req.flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
    const dst = this.destination(req);
    const data = req.data;
    if (data.length < 8 || data.length > 65507) throw new Errno(data.length < 8 ? EINVAL : EMSGSIZE);
    if (data[0] !== ICMP_ECHO || data[1] !== 0) throw new Errno(EINVAL);
    if (this.localPort === 0) this.stack.raw.bindPing(this, 0);
    const r = routeOutput(this.stack, dst, this.boundDev);
    const msg = Buffer.from(data);
    msg.writeUInt16BE(this.localPort, 4);
    msg.writeUInt16BE(0, 2);
    msg.writeUInt16BE(checksum(msg), 2);
    const src = this.localAddr !== INADDR_ANY ? this.localAddr : r.prefsrc || this.stack.sourceFor(dst);
    ipOutput(this.stack, { src, dst, proto: IPPROTO_ICMP, payload: msg, ttl: this.effectiveTtl, tos: this.tos, dev: this.boundDev });
    return data.length;
  }

  override getsockname(): Buffer {
    return formatSockaddrIn(this.localAddr, this.localPort);
  }
}

export class RawTable {
  readonly raws = new Set<RawSocket>();
  readonly pings = new Map<number, PingSocket>();
  private nextIdent = 1;

  constructor(readonly stack: NetStack) {}

  add(s: RawSocket): void {
    this.raws.add(s);
  }

  remove(s: InetSocket): void {
    if (s instanceof RawSocket) this.raws.delete(s);
    else if (s instanceof PingSocket && this.pings.get(s.localPort) === s) this.pings.delete(s.localPort);
  }

  bindPing(s: PingSocket, ident: number): void {
    if (ident === 0) {
      for (let i = 0; i < 0xffff; i++) {
        const id = this.nextIdent;
        this.nextIdent = (this.nextIdent % 0xffff) + 1;
        if (!this.pings.has(id)) { ident = id; break; }
      }
      if (ident === 0) throw new Errno(EAGAIN);
    } else if (this.pings.has(ident)) throw new Errno(EADDRINUSE);
    s.localPort = ident;
    this.pings.set(ident, s);
  }

  /** Gives raw sockets their copies of an arriving datagram; true if any took one. */
  deliver(p: IpPacket): boolean {
    if (this.raws.size === 0) return false;
    let any = false;
    const info: PacketInfo = { ttl: p.ttl, tos: p.tos, dst: p.dst, ifindex: p.dev.index, time: nowMs() };
    for (const s of this.raws) {
      if (!s.wants(p)) continue;
      s.enqueue({ data: Buffer.from(p.raw), src: p.src, sport: 0, info });
      any = true;
    }
    return any;
  }

  /** An echo reply for a ping socket (matched by identifier). */
  pingDeliver(p: IpPacket): void {
    const m = p.payload;
    const s = this.pings.get(m.readUInt16BE(4));
    if (!s) return;
    if (s.localAddr !== INADDR_ANY && s.localAddr !== p.dst) return;
    if (s.remoteAddr !== INADDR_ANY && s.remoteAddr !== p.src) return;
    s.enqueue({ data: Buffer.from(m), src: p.src, sport: 0, info: { ttl: p.ttl, tos: p.tos, dst: p.dst, ifindex: p.dev.index, time: nowMs() } });
  }

  /** An ICMP error quoting one of our echo requests. */
  pingError(type: number, code: number, inner: Buffer): void {
    const hl = (inner[0]! & 0xf) * 4;
    if (inner.length < hl + 8 || inner[hl] !== ICMP_ECHO) return;
    const s = this.pings.get(inner.readUInt16BE(hl + 4));
    if (!s || !s.recvErr && s.remoteAddr === INADDR_ANY) return;
    s.error = type === ICMP_DEST_UNREACH && code === ICMP_PORT_UNREACH ? ECONNREFUSED : EHOSTUNREACH;
    notify(s, POLLERR);
  }
}

/** socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): allowed to groups in ping_group_range. */
export function createPingSocket(stack: NetStack, t: Task, flags: number): PingSocket {
  const [lo, hi] = stack.pingGroupRange;
  const g = t.cred.egid;
  if (!(g >= lo && g <= hi) && t.cred.euid !== 0) throw new Errno(EACCES);
  return new PingSocket(stack, flags, t.cred.fsuid, t.cred.fsgid);
}

export function createRawSocket(stack: NetStack, t: Task, protocol: number, flags: number): RawSocket {
  if (t.cred.euid !== 0) throw new Errno(EPERM);
  if (protocol <= 0 || protocol > 255) throw new Errno(EPROTONOSUPPORT);
  const s = new RawSocket(stack, protocol, flags, t.cred.fsuid, t.cred.fsgid);
  stack.raw.add(s);
  return s;
}

