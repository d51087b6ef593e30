// IPv4 addresses as unsigned 32-bit numbers, and struct sockaddr_in (16 bytes: family,
// port in network order, address in network order, 8 bytes of zero).
import { Errno } from '../../errno.js';
import { EAFNOSUPPORT, EINVAL } from '../../abi/errno.js';
import { AF_INET, AF_UNSPEC } from '../../abi/socket.js';

export const INADDR_ANY = 0, INADDR_BROADCAST = 0xffffffff, INADDR_LOOPBACK = 0x7f000001;
export const SOCKADDR_IN_SIZE = 16;

export interface SockAddrIn { addr: number; port: number }

export function ipToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function parseIp(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return null;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function maskToPrefix(mask: number): number {
  let n = 0;
  while (n < 32 && (mask >>> (31 - n)) & 1) n++;
  return n;
}

export function isMulticast(a: number): boolean {
  return (a >>> 28) === 0xe;
}

export function isLoopbackNet(a: number): boolean {
  return (a >>> 24) === 127;
}

/**
 * Decodes a sockaddr_in. `allowUnspec`: bind(2) accepts AF_UNSPEC with INADDR_ANY for old
 * programs, and connect(2) on datagram sockets treats AF_UNSPEC as "disconnect" (null).
 */
export function parseSockaddrIn(raw: Buffer, allowUnspec = false): SockAddrIn | null {
  if (raw.length < 2) throw new Errno(EINVAL);
  const fam = raw.readUInt16LE(0);
  if (fam === AF_UNSPEC && allowUnspec) return null;
  if (raw.length < SOCKADDR_IN_SIZE) throw new Errno(EINVAL);
  if (fam !== AF_INET) throw new Errno(EAFNOSUPPORT);
  return { port: raw.readUInt16BE(2), addr: raw.readUInt32BE(4) };
}

export function formatSockaddrIn(addr: number, port: number): Buffer {
  const b = Buffer.alloc(SOCKADDR_IN_SIZE);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(addr >>> 0, 4);
  return b;
}
