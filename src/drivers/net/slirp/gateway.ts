// The host side of the user-mode network's virtual LAN: the gateway (10.0.2.2) and the DNS
// forwarder (10.0.2.3) as the guest sees them. It answers ARP for the virtual addresses,
// learns the guest's MAC from what it sends, checks IPv4 headers, answers ICMP echo for the
// virtual addresses, and hands TCP and UDP to the proxy and relay. Going the other way, it
// frames packets for the guest, resolving the guest's MAC by ARP when it has not spoken yet.
import {
  BROADCAST_MAC, ETH_HLEN, ETH_P_ARP, ETH_P_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, UDP_HLEN,
  buildIpv4Frame, fillIcmpChecksum, ipToString, parseIp, parseIpv4, transportChecksumOk, writeUdp, type Ipv4Packet,
} from './packet.js';
import { netmaskOf, type SlirpOptions } from './options.js';

const ARPOP_REQUEST = 1;
const ARPOP_REPLY = 2;
const ICMP_ECHOREPLY = 0;
const ICMP_ECHO = 8;
/** Frames waiting for one guest address to answer ARP (more are dropped, as a queue would). */
const ARP_QUEUE_MAX = 64;
const ARP_RETRY_MS = 500;
const ARP_TRIES = 5;
const LOOPBACK = parseIp('127.0.0.1')!;

export interface UdpDatagram {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  data: Buffer;
  /** The guest's MAC as it sent this (DHCP answers by MAC before the guest has an address). */
  srcMac: Buffer;
}

export interface TcpSegmentIn {
  src: number;
  dst: number;
  /** The TCP header and data. */
  seg: Buffer;
}

/** What the gateway offers the services behind it. */
export interface VirtualLan {
  readonly opts: SlirpOptions;
  /** An IPv4 packet to a guest address; `fill` writes the payload at `at` in the frame. */
  sendIp(src: number, dst: number, proto: number, payloadLen: number, fill: (f: Buffer, at: number) => void, dstMac?: Buffer): void;
  sendUdp(src: number, sport: number, dst: number, dport: number, data: Buffer, dstMac?: Buffer): void;
  /** The host address a guest destination maps to, or null when the guest may not go there. */
  hostAddressFor(dst: number): string | null;
  /** The address the guest sees for a host peer (the host's loopback is the gateway). */
  virtualAddressFor(hostAddr: string): number | null;
}

interface PendingArp {
  frames: Buffer[];
  tries: number;
  timer: NodeJS.Timeout;
}

/** 52:55:<ip>: QEMU's addresses for the virtual hosts, so captures read the same. */
export function virtualMac(ip: number): Buffer {
  const m = Buffer.from([0x52, 0x55, 0, 0, 0, 0]);
  m.writeUInt32BE(ip, 2);
  return m;
}

export class Gateway implements VirtualLan {
  /** Guest addresses to MACs, learned from ARP and IP traffic. */
  private readonly arp = new Map<number, Buffer>();
  private readonly pending = new Map<number, PendingArp>();
  private readonly mask: number;
  private readonly gatewayMac: Buffer;
  onTcp: (s: TcpSegmentIn) => void = () => {};
  onUdp: (d: UdpDatagram) => void = () => {};

  constructor(readonly opts: SlirpOptions, private readonly emit: (frame: Buffer) => void) {
    this.mask = netmaskOf(opts.prefixLen);
    this.gatewayMac = virtualMac(opts.gateway);
  }

  private isVirtual(ip: number): boolean {
    return ip === this.opts.gateway || ip === this.opts.dns;
  }

  private onLan(ip: number): boolean {
    return ((ip & this.mask) >>> 0) === this.opts.network;
  }

  private broadcastAddr(): number {
    return (this.opts.network | ~this.mask) >>> 0;
  }

  /** A frame from the guest. */
  input(frame: Buffer): void {
    if (frame.length < ETH_HLEN) return;
    const type = frame.readUInt16BE(12);
    if (type === ETH_P_ARP) this.arpInput(frame);
    else if (type === ETH_P_IP) this.ipInput(frame);
  }

  private learn(ip: number, mac: Buffer): void {
    if (ip === 0 || !this.onLan(ip) || this.isVirtual(ip) || (mac[0]! & 1)) return;
    const known = this.arp.get(ip);
    if (!known || !known.equals(mac)) this.arp.set(ip, Buffer.from(mac));
    const p = this.pending.get(ip);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(ip);
      for (const f of p.frames) {
        mac.copy(f, 0);
        this.emit(f);
      }
    }
  }

  private arpInput(f: Buffer): void {
    const a = ETH_HLEN;
    if (f.length < a + 28 || f.readUInt16BE(a) !== 1 || f.readUInt16BE(a + 2) !== ETH_P_IP || f[a + 4] !== 6 || f[a + 5] !== 4) return;
    const op = f.readUInt16BE(a + 6);
    const sha = f.subarray(a + 8, a + 14);
    const spa = f.readUInt32BE(a + 14);
    const tpa = f.readUInt32BE(a + 24);
    this.learn(spa, sha);
    if (op !== ARPOP_REQUEST || !this.isVirtual(tpa)) return;
    const r = Buffer.alloc(ETH_HLEN + 28);
    sha.copy(r, 0);
    const mac = virtualMac(tpa);
    mac.copy(r, 6);
    r.writeUInt16BE(ETH_P_ARP, 12);
    r.writeUInt16BE(1, a);
    r.writeUInt16BE(ETH_P_IP, a + 2);
    r[a + 4] = 6;
    r[a + 5] = 4;
    r.writeUInt16BE(ARPOP_REPLY, a + 6);
    mac.copy(r, a + 8);
    r.writeUInt32BE(tpa, a + 14);
    sha.copy(r, a + 18);
    r.writeUInt32BE(spa, a + 24);
    this.emit(r);
  }

  private ipInput(frame: Buffer): void {
    const p = parseIpv4(frame.subarray(ETH_HLEN));
    if (!p || p.fragment) return;
    this.learn(p.src, frame.subarray(6, 12));
    switch (p.proto) {
      case IPPROTO_ICMP: this.icmpInput(p); break;
      case IPPROTO_TCP:
        if (p.payload.length >= 20 && transportChecksumOk(p.src, p.dst, IPPROTO_TCP, p.payload)) this.onTcp({ src: p.src, dst: p.dst, seg: p.payload });
        break;
      case IPPROTO_UDP: {
        const u = p.payload;
        if (u.length < UDP_HLEN) return;
        const len = u.readUInt16BE(4);
        if (len < UDP_HLEN || len > u.length) return;
        const seg = u.subarray(0, len);
        if (!transportChecksumOk(p.src, p.dst, IPPROTO_UDP, seg)) return;
        this.onUdp({ src: p.src, dst: p.dst, sport: u.readUInt16BE(0), dport: u.readUInt16BE(2), data: seg.subarray(UDP_HLEN), srcMac: Buffer.from(frame.subarray(6, 12)) });
        break;
      }
    }
  }

  /** Echo requests to the virtual hosts are answered here; others have nowhere to go. */
  private icmpInput(p: Ipv4Packet): void {
    const m = p.payload;
    if (m.length < 8 || m[0] !== ICMP_ECHO || !this.isVirtual(p.dst)) return;
    this.sendIp(p.dst, p.src, IPPROTO_ICMP, m.length, (f, at) => {
      m.copy(f, at);
      f[at] = ICMP_ECHOREPLY;
      f[at + 1] = 0;
      fillIcmpChecksum(f, at, at + m.length);
    });
  }

  sendIp(src: number, dst: number, proto: number, payloadLen: number, fill: (f: Buffer, at: number) => void, dstMac?: Buffer): void {
    const broadcast = dst === 0xffffffff || dst === this.broadcastAddr();
    const mac = dstMac ?? (broadcast ? BROADCAST_MAC : this.arp.get(dst));
    const f = buildIpv4Frame(mac ?? BROADCAST_MAC, this.gatewayMac, src, dst, proto, payloadLen, fill);
    if (mac) this.emit(f);
    else this.queueForArp(dst, f);
  }

  sendUdp(src: number, sport: number, dst: number, dport: number, data: Buffer, dstMac?: Buffer): void {
    this.sendIp(src, dst, IPPROTO_UDP, UDP_HLEN + data.length, (f, at) => writeUdp(f, at, sport, dport, data), dstMac);
  }

  private queueForArp(dst: number, frame: Buffer): void {
    if (!this.onLan(dst)) return;
    let p = this.pending.get(dst);
    if (!p) {
      const entry: PendingArp = { frames: [], tries: 0, timer: setTimeout(() => {}, 0) };
      const ask = (): void => {
        if (entry.tries++ >= ARP_TRIES) {
          this.pending.delete(dst);
          return;
        }
        this.sendArpRequest(dst);
        entry.timer = setTimeout(ask, ARP_RETRY_MS);
        entry.timer.unref();
      };
      p = entry;
      this.pending.set(dst, p);
      ask();
    }
    if (p.frames.length < ARP_QUEUE_MAX) p.frames.push(frame);
  }

  private sendArpRequest(target: number): void {
    const a = ETH_HLEN;
    const r = Buffer.alloc(ETH_HLEN + 28);
    BROADCAST_MAC.copy(r, 0);
    this.gatewayMac.copy(r, 6);
    r.writeUInt16BE(ETH_P_ARP, 12);
    r.writeUInt16BE(1, a);
    r.writeUInt16BE(ETH_P_IP, a + 2);
    r[a + 4] = 6;
    r[a + 5] = 4;
    r.writeUInt16BE(ARPOP_REQUEST, a + 6);
    this.gatewayMac.copy(r, a + 8);
    r.writeUInt32BE(this.opts.gateway, a + 14);
    r.writeUInt32BE(target, a + 24);
    this.emit(r);
  }

  hostAddressFor(dst: number): string | null {
    if (dst === this.opts.gateway) return '127.0.0.1';
    if (this.opts.restrict) return null;
    // The rest of the virtual LAN, broadcast and multicast have no host counterpart.
    if (this.onLan(dst) || dst === 0xffffffff || dst >>> 28 === 0xe || dst >>> 24 === 127 || dst === 0) return null;
    return ipToString(dst);
  }

  virtualAddressFor(hostAddr: string): number | null {
    const ip = parseIp(hostAddr.startsWith('::ffff:') ? hostAddr.slice(7) : hostAddr);
    if (ip === null) return null;
    return ip >>> 24 === LOOPBACK >>> 24 ? this.opts.gateway : ip;
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
