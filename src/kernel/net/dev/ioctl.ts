// The interface ioctls (net/core/dev_ioctl.c, net/ipv4/devinet.c, fib_frontend.c) that
// ifconfig and route use: struct ifreq in and out, SIOCGIFCONF, and SIOCADDRT/SIOCDELRT.
import { Errno } from '../../errno.js';
import { EADDRNOTAVAIL, EBUSY, EEXIST, EFAULT, EINVAL, ENETUNREACH, ENODEV, EOPNOTSUPP, EPERM } from '../../abi/errno.js';
import { AF_INET } from '../../abi/socket.js';
import {
  SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFADDR, SIOCSIFADDR, SIOCGIFDSTADDR,
  SIOCSIFDSTADDR, SIOCGIFBRDADDR, SIOCSIFBRDADDR, SIOCGIFNETMASK, SIOCSIFNETMASK, SIOCGIFMETRIC,
  SIOCSIFMETRIC, SIOCGIFMTU, SIOCSIFMTU, SIOCSIFNAME, SIOCSIFHWADDR, SIOCGIFHWADDR, SIOCGIFINDEX,
  SIOCDIFADDR, SIOCGIFTXQLEN, SIOCSIFTXQLEN, SIOCETHTOOL, SIOCGIFMAP, SIOCADDRT, SIOCDELRT,
  IFREQ_SIZE, IFNAMSIZ, IFF_USER_MASK, IFF_BROADCAST, IFF_LOOPBACK,
} from '../../abi/inet.js';
import type { Task } from '../../task/task.js';
import type { NetDevice, InAddr } from './netdev.js';
import type { NetStack } from '../inet/stack.js';
import { prefixMask, maskToPrefix } from '../inet/address.js';
import { RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RTPROT_BOOT } from '../inet/route.js';

const HANDLED = new Set([
  SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFADDR, SIOCSIFADDR, SIOCGIFDSTADDR,
  SIOCSIFDSTADDR, SIOCGIFBRDADDR, SIOCSIFBRDADDR, SIOCGIFNETMASK, SIOCSIFNETMASK, SIOCGIFMETRIC,
  SIOCSIFMETRIC, SIOCGIFMTU, SIOCSIFMTU, SIOCSIFNAME, SIOCSIFHWADDR, SIOCGIFHWADDR, SIOCGIFINDEX,
  SIOCDIFADDR, SIOCGIFTXQLEN, SIOCSIFTXQLEN, SIOCETHTOOL, SIOCGIFMAP, SIOCADDRT, SIOCDELRT,
]);
const SETTERS = new Set([SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFDSTADDR, SIOCSIFBRDADDR, SIOCSIFNETMASK, SIOCSIFMETRIC,
  SIOCSIFMTU, SIOCSIFNAME, SIOCSIFHWADDR, SIOCDIFADDR, SIOCSIFTXQLEN, SIOCADDRT, SIOCDELRT]);
const RTF_UP = 0x1, RTF_GATEWAY = 0x2, RTF_HOST = 0x4, RTF_REJECT = 0x200;
/** struct rtentry offsets (x86-64). */
const RT = { dst: 8, gateway: 24, genmask: 40, flags: 56, metric: 80, dev: 88, size: 120 } as const;

export function isDeviceIoctl(req: number): boolean {
  return HANDLED.has(req);
}

function sockaddrIn(addr: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt32BE(addr >>> 0, 4);
  return b;
}

function readAddr(ifr: Buffer): number {
  if (ifr.readUInt16LE(16) !== AF_INET) throw new Errno(EINVAL);
  return ifr.readUInt32BE(20);
}

/** Class-based prefix length for SIOCSIFADDR on a new address (inet_abc_len). */
function abcLen(a: number): number {
  if (a === 0) return 0;
  const top = a >>> 24;
  if (top < 128) return 8;
  if (top < 192) return 16;
  if (top < 224) return 24;
  return 32;
}

function broadcastOf(dev: NetDevice, addr: number, len: number): number {
  if (!(dev.flags & IFF_BROADCAST) || len >= 31) return 0;
  return (addr | ~prefixMask(len)) >>> 0;
}

/** The address an ifreq name (maybe an alias label like eth0:1) designates. */
function findAddr(dev: NetDevice, label: string): InAddr | undefined {
  return dev.addrs.find((a) => a.label === label) ?? (label === dev.name ? dev.addrs[0] : undefined);
}

export function deviceIoctl(stack: NetStack, t: Task, req: number, arg: number): number {
  if (SETTERS.has(req) && t.cred.euid !== 0) throw new Errno(EPERM);
  if (req === SIOCGIFCONF) return ifconf(stack, t, arg);
  if (req === SIOCADDRT || req === SIOCDELRT) return routeIoctl(stack, t, req, arg);
  const ifr = t.mem.read(arg, IFREQ_SIZE);
  if (req === SIOCGIFNAME) {
    const dev = stack.devices.get(ifr.readInt32LE(16));
    if (!dev) throw new Errno(ENODEV);
    const out = Buffer.alloc(IFNAMSIZ);
    out.write(dev.name, 'latin1');
    t.mem.write(arg, out);
    return 0;
  }
  const label = ifr.subarray(0, IFNAMSIZ).toString('latin1').replace(/\0.*$/s, '');
  const dev = stack.deviceByName(label.split(':')[0]!);
  if (!dev) throw new Errno(ENODEV);
  const out = Buffer.from(ifr);
  const put = (b: Buffer) => { b.copy(out, 16); t.mem.write(arg, out); return 0; };
  const putInt = (v: number) => { out.writeInt32LE(v, 16); t.mem.write(arg, out); return 0; };
  const ia = findAddr(dev, label);
  switch (req) {
    case SIOCGIFFLAGS: out.writeUInt16LE(dev.reportedFlags & 0xffff, 16); t.mem.write(arg, out); return 0;
    case SIOCSIFFLAGS: {
      const want = ifr.readUInt16LE(16);
      stack.setFlags(dev, (dev.flags & ~IFF_USER_MASK) | (want & IFF_USER_MASK));
      return 0;
    }
    case SIOCGIFADDR: if (!ia) throw new Errno(EADDRNOTAVAIL); return put(sockaddrIn(ia.addr));
    case SIOCGIFNETMASK: if (!ia) throw new Errno(EADDRNOTAVAIL); return put(sockaddrIn(prefixMask(ia.prefixLen)));
    case SIOCGIFBRDADDR: if (!ia) throw new Errno(EADDRNOTAVAIL); return put(sockaddrIn(ia.broadcast));
    case SIOCGIFDSTADDR: if (!ia) throw new Errno(EADDRNOTAVAIL); return put(sockaddrIn(ia.local));
    case SIOCSIFADDR: {
      const a = readAddr(ifr);
      if (ia) stack.removeAddress(dev, ia.addr, ia.prefixLen);
      if (a === 0) return 0;
      const len = ia ? ia.prefixLen : abcLen(a);
      stack.addAddress(dev, { addr: a, prefixLen: len, broadcast: broadcastOf(dev, a, len), label });
      return 0;
    }
    case SIOCSIFNETMASK: {
      if (!ia) throw new Errno(EADDRNOTAVAIL);
      const len = maskToPrefix(readAddr(ifr));
      stack.removeAddress(dev, ia.addr, ia.prefixLen);
      stack.addAddress(dev, { addr: ia.addr, prefixLen: len, broadcast: broadcastOf(dev, ia.addr, len), label: ia.label });
      return 0;
    }
    case SIOCSIFBRDADDR: {
      if (!ia) throw new Errno(EADDRNOTAVAIL);
      ia.broadcast = readAddr(ifr);
      stack.emit('addr', dev, 'new');
      return 0;
    }
    case SIOCSIFDSTADDR: {
      if (!ia) throw new Errno(EADDRNOTAVAIL);
      ia.local = readAddr(ifr);
      return 0;
    }
    case SIOCDIFADDR: {
      if (!ia) throw new Errno(EADDRNOTAVAIL);
      stack.removeAddress(dev, ia.addr, ia.prefixLen);
      return 0;
    }
    case SIOCGIFMTU: return putInt(dev.mtu);
    case SIOCSIFMTU: {
      const mtu = ifr.readInt32LE(16);
      if (mtu < 68 || mtu > (dev.flags & IFF_LOOPBACK ? 0x7fffffff : 65535)) throw new Errno(EINVAL);
      dev.mtu = mtu;
      stack.emit('link', dev, 'new');
      return 0;
    }
    case SIOCGIFMETRIC: return putInt(0);
    case SIOCSIFMETRIC: throw new Errno(EOPNOTSUPP);
    case SIOCGIFINDEX: return putInt(dev.index);
    case SIOCGIFTXQLEN: return putInt(dev.txqlen);
    case SIOCSIFTXQLEN: {
      const q = ifr.readInt32LE(16);
      if (q < 0) throw new Errno(EINVAL);
      dev.txqlen = q;
      return 0;
    }
    case SIOCGIFHWADDR: {
      const b = Buffer.alloc(16);
      b.writeUInt16LE(dev.type, 0);
      dev.mac.copy(b, 2);
      return put(b);
    }
    case SIOCSIFHWADDR: {
      if (ifr.readUInt16LE(16) !== dev.type) throw new Errno(EINVAL);
      dev.mac = Buffer.from(ifr.subarray(18, 24));
      stack.emit('link', dev, 'new');
      return 0;
    }
    case SIOCGIFMAP: return put(Buffer.alloc(24));
    case SIOCSIFNAME: {
      const nn = ifr.subarray(16, 16 + IFNAMSIZ).toString('latin1').replace(/\0.*$/s, '');
      if (!nn || nn.includes('/') || nn.includes(':')) throw new Errno(EINVAL);
      if (dev.up) throw new Errno(EBUSY);
      if (stack.deviceByName(nn)) throw new Errno(EEXIST);
      for (const a of dev.addrs) if (a.label === dev.name) a.label = nn;
      dev.name = nn;
      stack.emit('link', dev, 'new');
      return 0;
    }
    case SIOCETHTOOL: throw new Errno(EOPNOTSUPP);
    default: throw new Errno(EINVAL);
  }
}

/** SIOCGIFCONF: one ifreq (name + sockaddr_in) per IPv4 address of an up device. */
function ifconf(stack: NetStack, t: Task, arg: number): number {
  const hdr = t.mem.read(arg, 16);
  const len = hdr.readInt32LE(0);
  const buf = Number(hdr.readBigUInt64LE(8));
  const entries: Buffer[] = [];
  for (const dev of stack.devices.values()) {
    for (const a of dev.addrs) {
      const e = Buffer.alloc(IFREQ_SIZE);
      e.write(a.label, 0, IFNAMSIZ - 1, 'latin1');
      sockaddrIn(a.addr).copy(e, 16);
      entries.push(e);
    }
  }
  if (buf === 0) {
    t.mem.writeI32(arg, entries.length * IFREQ_SIZE);
    return 0;
  }
  if (len < 0) throw new Errno(EFAULT);
  const n = Math.min(entries.length, Math.floor(len / IFREQ_SIZE));
  if (n > 0) t.mem.write(buf, Buffer.concat(entries.slice(0, n)));
  t.mem.writeI32(arg, n * IFREQ_SIZE);
  return 0;
}

function routeIoctl(stack: NetStack, t: Task, req: number, arg: number): number {
  const rt = t.mem.read(arg, RT.size);
  if (rt.readUInt16LE(RT.dst) !== AF_INET) throw new Errno(EINVAL);
  const flags = rt.readUInt16LE(RT.flags);
  const dst = rt.readUInt32BE(RT.dst + 4);
  const prefixLen = flags & RTF_HOST ? 32 : maskToPrefix(rt.readUInt32BE(RT.genmask + 4));
  if (((dst & ~prefixMask(prefixLen)) >>> 0) !== 0) throw new Errno(EINVAL);
  const gateway = flags & RTF_GATEWAY ? rt.readUInt32BE(RT.gateway + 4) : 0;
  const metricRaw = rt.readInt16LE(RT.metric);
  const metric = metricRaw > 0 ? metricRaw - 1 : 0;
  const devPtr = Number(rt.readBigUInt64LE(RT.dev));
  let dev: NetDevice | null = null;
  if (devPtr) {
    const name = t.mem.read(devPtr, IFNAMSIZ).toString('latin1').replace(/\0.*$/s, '');
    dev = stack.deviceByName(name.split(':')[0]!);
    if (!dev) throw new Errno(ENODEV);
  }
  if (req === SIOCDELRT) {
    stack.routes.delete({ table: RT_TABLE_MAIN, dst, prefixLen, ...(dev ? { dev } : {}), ...(gateway ? { gateway } : {}) });
    stack.emit('route', dev, 'del');
    return 0;
  }
  void RTF_UP;
  if (!dev) {
    const via = gateway ? stack.routes.lookup(gateway) : null;
    if (!via) throw new Errno(gateway ? ENETUNREACH : ENODEV);
    dev = via.dev;
  }
  stack.routes.add({
    table: RT_TABLE_MAIN, type: flags & RTF_REJECT ? 7 : RTN_UNICAST, dst, prefixLen, gateway, dev, prefsrc: 0, metric,
    scope: gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK, protocol: RTPROT_BOOT,
  });
  stack.emit('route', dev, 'new');
  return 0;
}
