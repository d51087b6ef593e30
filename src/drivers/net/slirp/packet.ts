// Wire formats the user-mode network speaks with its guest: Ethernet II, ARP, IPv4, and the
// TCP/UDP headers with their checksums. Addresses are IPv4 numbers (host order) throughout
// the slirp code; only this file turns them into bytes.

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IP_HLEN = 20;
export const UDP_HLEN = 8;

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Dotted quad to number; null when `s` is not one. */
export function parseIp(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

// ---- checksums: the same RFC 1071 code the guest's stack uses (a pure codec) ----

export { sum16, finish as finish16 } from '../../../kernel/net/inet/checksum.js';
import { sum16, finish as finish16, pseudoSum4 as pseudoSum } from '../../../kernel/net/inet/checksum.js';

// ---- parsing ----

export interface Ipv4Packet {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  /** The transport payload (the IP header removed, trimmed to the total length). */
  payload: Buffer;
  /** More-fragments set or a non-zero offset: slirp does not reassemble (QEMU's does). */
  fragment: boolean;
}

/** Parse an IPv4 packet; null when malformed or its header checksum is wrong. */
export function parseIpv4(b: Buffer): Ipv4Packet | null {
  if (b.length < IP_HLEN || b[0]! >> 4 !== 4) return null;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = b.readUInt16BE(2);
  if (ihl < IP_HLEN || total < ihl || total > b.length) return null;
  if (finish16(sum16(b, 0, ihl)) !== 0) return null;
  const frag = b.readUInt16BE(6);
  return {
    src: b.readUInt32BE(12),
    dst: b.readUInt32BE(16),
    proto: b[9]!,
    ttl: b[8]!,
    payload: b.subarray(ihl, total),
    fragment: (frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0,
  };
}

/** True when a TCP or UDP checksum over `seg` with the IPv4 pseudo-header is right (0 = none for UDP). */
export function transportChecksumOk(src: number, dst: number, proto: number, seg: Buffer): boolean {
  if (proto === IPPROTO_UDP && seg.length >= UDP_HLEN && seg.readUInt16BE(6) === 0) return true;
  return finish16(sum16(seg, 0, seg.length, pseudoSum(src, dst, proto, seg.length))) === 0;
}

// ---- building ----

let ipId = 1;

/**
 * An Ethernet frame holding an IPv4 packet: `fill` writes the transport header and payload
 * at the given offset of the frame (of `payloadLen` bytes); the IP header and, for TCP and
 * UDP, the transport checksum are done here.
 */
export function buildIpv4Frame(dstMac: Buffer, srcMac: Buffer, src: number, dst: number, proto: number, payloadLen: number, fill: (frame: Buffer, at: number) => void): Buffer {
  const f = Buffer.allocUnsafe(ETH_HLEN + IP_HLEN + payloadLen);
  dstMac.copy(f, 0);
  srcMac.copy(f, 6);
  f.writeUInt16BE(ETH_P_IP, 12);
  const ip = ETH_HLEN;
  f[ip] = 0x45;
  f[ip + 1] = 0;
  f.writeUInt16BE(IP_HLEN + payloadLen, ip + 2);
  f.writeUInt16BE(ipId, ip + 4);
  ipId = (ipId + 1) & 0xffff;
  f.writeUInt16BE(0x4000, ip + 6); // DF: the gateway never fragments
  f[ip + 8] = 64;
  f[ip + 9] = proto;
  f.writeUInt16BE(0, ip + 10);
  f.writeUInt32BE(src, ip + 12);
  f.writeUInt32BE(dst, ip + 16);
  f.writeUInt16BE(finish16(sum16(f, ip, ip + IP_HLEN)), ip + 10);
  const at = ip + IP_HLEN;
  fill(f, at);
  const ck = proto === IPPROTO_TCP ? at + 16 : proto === IPPROTO_UDP ? at + 6 : -1;
  if (ck >= 0) {
    f.writeUInt16BE(0, ck);
    let c = finish16(sum16(f, at, at + payloadLen, pseudoSum(src, dst, proto, payloadLen)));
    if (proto === IPPROTO_UDP && c === 0) c = 0xffff;
    f.writeUInt16BE(c, ck);
  }
  return f;
}

/** A UDP datagram's header and data into a frame at `at`. */
export function writeUdp(f: Buffer, at: number, sport: number, dport: number, data: Buffer): void {
  f.writeUInt16BE(sport, at);
  f.writeUInt16BE(dport, at + 2);
  f.writeUInt16BE(UDP_HLEN + data.length, at + 4);
  f.writeUInt16BE(0, at + 6);
  data.copy(f, at + UDP_HLEN);
}

/** ICMP checksum over its whole message (no pseudo-header). */
export function fillIcmpChecksum(f: Buffer, at: number, end: number): void {
  f.writeUInt16BE(0, at + 2);
  f.writeUInt16BE(finish16(sum16(f, at, end)), at + 2);
}
