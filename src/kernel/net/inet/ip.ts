// IPv4 (net/ipv4/ip_input.c, ip_output.c, ip_fragment.c): header checks, delivery to the
// local protocols, routing of outgoing packets, fragmentation and reassembly. This host
// does not forward (net.ipv4.ip_forward = 0).
import { Errno } from '../../errno.js';
import { ENETUNREACH, EMSGSIZE, EINVAL } from '../../abi/errno.js';
import { ETH_P_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IFF_LOOPBACK, IPDEFTTL } from '../../abi/inet.js';
import { monotonicMs } from '../../sched/timers.js';
import type { NetDevice } from '../dev/netdev.js';
import { checksum } from './checksum.js';
import { isMulticast } from './address.js';
import { RTN_LOCAL, RTN_BROADCAST, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_BLACKHOLE, type Route } from './route.js';
import type { NetStack } from './stack.js';

export const IP_HLEN = 20;
const IP_DF = 0x4000, IP_MF = 0x2000, IP_OFFMASK = 0x1fff;
/** net.ipv4.ipfrag_time: how long an incomplete datagram waits for its fragments. */
const IPFRAG_TIME_MS = 30000;

export interface IpPacket {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  tos: number;
  /** The whole datagram (header included), reassembled if it came in fragments. */
  raw: Buffer;
  headerLen: number;
  payload: Buffer;
  dev: NetDevice;
}

export interface IpSend {
  src: number;
  dst: number;
  proto: number;
  payload: Buffer;
  ttl?: number;
  tos?: number;
  /** Don't fragment: EMSGSIZE instead (IP_PMTUDISC_DO). */
  df?: boolean;
  /** Bound device (SO_BINDTODEVICE / IP_MULTICAST_IF). */
  dev?: NetDevice | null;
}

export function parseIpHeader(stack: NetStack, dev: NetDevice, pkt: Buffer): IpPacket | null {
  if (pkt.length < IP_HLEN || pkt[0]! >> 4 !== 4) return null;
  const hl = (pkt[0]! & 0xf) * 4;
  const total = pkt.readUInt16BE(2);
  if (hl < IP_HLEN || total < hl || pkt.length < total) return null;
  // Loopback packets are trusted, as Linux marks them CHECKSUM_UNNECESSARY.
  if (!(dev.flags & IFF_LOOPBACK) && checksum(pkt, 0, hl) !== 0) return null;
  void stack;
  const raw = pkt.length === total ? pkt : pkt.subarray(0, total);
  return { src: raw.readUInt32BE(12), dst: raw.readUInt32BE(16), proto: raw[9]!, ttl: raw[8]!, tos: raw[1]!, raw, headerLen: hl, payload: raw.subarray(hl), dev };
}

/** The layer-3 input for ETH_P_IP. */
export function ipInput(stack: NetStack, dev: NetDevice, pkt: Buffer): void {
  const p = parseIpHeader(stack, dev, pkt);
  if (!p) { dev.stats.rxErrors++; return; }
  const local = stack.isLocal(p.dst) || stack.isBroadcast(p.dst) || isMulticast(p.dst) || (p.dst >>> 0) === 0xffffffff;
  if (!local) return; // not a router
  const fragField = p.raw.readUInt16BE(6);
  if (fragField & (IP_MF | IP_OFFMASK)) {
    const whole = reassemble(stack, p, fragField);
    if (!whole) return;
    deliver(stack, whole);
    return;
  }
  deliver(stack, p);
}

function deliver(stack: NetStack, p: IpPacket): void {
  const rawTaken = stack.raw?.deliver(p) ?? false;
  switch (p.proto) {
    case IPPROTO_ICMP: stack.icmp.input(p); return;
    case IPPROTO_UDP: stack.udp.input(p); return;
    case IPPROTO_TCP: stack.tcp.input(p); return;
    default:
      if (!rawTaken && !stack.isBroadcast(p.dst)) stack.icmp.sendUnreachable(p, 2 /* ICMP_PROT_UNREACH */);
  }
}

// ---- reassembly ----

interface FragQueue { parts: { off: number; data: Buffer }[]; total: number; header: Buffer; cancel: () => void }
const fragQueues = new WeakMap<NetStack, Map<string, FragQueue>>();

function reassemble(stack: NetStack, p: IpPacket, field: number): IpPacket | null {
  let m = fragQueues.get(stack);
  if (!m) fragQueues.set(stack, m = new Map());
  const key = `${p.src}:${p.dst}:${p.raw.readUInt16BE(4)}:${p.proto}`;
  let q = m.get(key);
  if (!q) {
    const cancel = stack.env.timers.add(monotonicMs() + IPFRAG_TIME_MS, () => m!.delete(key));
    q = { parts: [], total: -1, header: Buffer.alloc(0), cancel };
    m.set(key, q);
  }
  const off = (field & IP_OFFMASK) * 8;
  if (off === 0) q.header = Buffer.from(p.raw.subarray(0, p.headerLen));
  if (!(field & IP_MF)) q.total = off + p.payload.length;
  q.parts.push({ off, data: Buffer.from(p.payload) });
  if (q.total < 0 || q.header.length === 0) return null;
  q.parts.sort((a, b) => a.off - b.off);
  let have = 0;
  for (const part of q.parts) {
    if (part.off > have) return null;
    have = Math.max(have, part.off + part.data.length);
  }
  if (have < q.total) return null;
  q.cancel();
  m.delete(key);
  const data = Buffer.alloc(q.total);
  for (const part of q.parts) part.data.copy(data, part.off, 0, Math.min(part.data.length, q.total - part.off));
  const hdr = Buffer.from(q.header);
  hdr.writeUInt16BE(hdr.length + q.total, 2);
  hdr.writeUInt16BE(0, 6);
  const raw = Buffer.concat([hdr, data]);
  return { ...p, raw, headerLen: hdr.length, payload: raw.subarray(hdr.length) };
}

// ---- output ----

export function routeOutput(stack: NetStack, dst: number, dev?: NetDevice | null): Route {
  if (dev && ((dst >>> 0) === 0xffffffff || isMulticast(dst))) {
    return { table: 254, type: 1, dst, prefixLen: 32, gateway: 0, dev, prefsrc: dev.addrs[0]?.addr ?? 0, metric: 0, scope: 253, protocol: 2 };
  }
  const r = stack.routes.lookup(dst);
  if (!r || r.type === RTN_UNREACHABLE || r.type === RTN_PROHIBIT || r.type === RTN_BLACKHOLE) throw new Errno(ENETUNREACH);
  if (dev && r.dev !== dev && r.type !== RTN_LOCAL) throw new Errno(ENETUNREACH);
  return r;
}

/** The MTU of the path to `dst`. */
export function pathMtu(stack: NetStack, dst: number): number {
  const r = stack.routes.lookup(dst);
  if (!r) return 1500;
  // An IPv4 datagram is at most 65535 bytes whatever the device allows (lo has 65536).
  return Math.min(0xffff, r.type === RTN_LOCAL ? stack.loopback.mtu : r.dev.mtu);
}

export function buildIpHeader(s: IpSend, id: number, totalLen: number, fragField: number): Buffer {
  const h = Buffer.alloc(IP_HLEN);
  h[0] = 0x45;
  h[1] = s.tos ?? 0;
  h.writeUInt16BE(totalLen, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(fragField, 6);
  h[8] = s.ttl ?? IPDEFTTL;
  h[9] = s.proto;
  h.writeUInt32BE(s.src >>> 0, 12);
  h.writeUInt32BE(s.dst >>> 0, 16);
  h.writeUInt16BE(checksum(h), 10);
  return h;
}

/** Sends a datagram: route, add the header, fragment if needed, hand to the device. */
export function ipOutput(stack: NetStack, s: IpSend): void {
  const r = routeOutput(stack, s.dst, s.dev);
  const dev = r.type === RTN_LOCAL ? stack.loopback : r.dev;
  const nextHop = r.type === RTN_LOCAL || r.type === RTN_BROADCAST ? s.dst : r.gateway || s.dst;
  const mtu = Math.min(0xffff, dev.mtu);
  const id = stack.nextIpId();
  if (IP_HLEN + s.payload.length <= mtu) {
    const h = buildIpHeader(s, id, IP_HLEN + s.payload.length, s.df ? IP_DF : 0);
    dev.transmit(ETH_P_IP, Buffer.concat([h, s.payload]), nextHop);
    return;
  }
  if (s.df) throw new Errno(EMSGSIZE);
  if (IP_HLEN + s.payload.length > 65535) throw new Errno(EMSGSIZE);
  const chunk = (mtu - IP_HLEN) & ~7;
  if (chunk <= 0) throw new Errno(EINVAL);
  for (let off = 0; off < s.payload.length; off += chunk) {
    const part = s.payload.subarray(off, off + chunk);
    const more = off + chunk < s.payload.length;
    const h = buildIpHeader(s, id, IP_HLEN + part.length, (off >> 3) | (more ? IP_MF : 0));
    dev.transmit(ETH_P_IP, Buffer.concat([h, part]), nextHop);
  }
}
