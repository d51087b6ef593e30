// What every AF_INET socket shares (struct inet_sock): its local and remote address, the
// SOL_IP options, the per-socket control messages (IP_TTL, SO_TIMESTAMP …) and the
// interface ioctls any socket may issue (ifconfig opens an AF_INET datagram socket for them).
import { Errno } from '../../errno.js';
import { EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENODEV, ENOPROTOOPT, ENOTCONN } from '../../abi/errno.js';
import { AF_INET, SOL_SOCKET } from '../../abi/socket.js';
import {
  SOL_IP, IP_TOS, IP_TTL, IP_HDRINCL, IP_OPTIONS, IP_PKTINFO, IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL,
  IP_RECVTOS, IP_MTU, IP_FREEBIND, IP_RECVORIGDSTADDR, IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_IF,
  IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IP_MULTICAST_ALL,
  IP_PMTUDISC_WANT, IPDEFTTL, SO_BINDTODEVICE, SO_TIMESTAMP, SO_TIMESTAMPNS, SO_MARK, SO_TIMESTAMPING,
  SO_BUSY_POLL, SO_INCOMING_CPU, SO_ZEROCOPY, SCM_TIMESTAMP, SCM_TIMESTAMPNS, IFNAMSIZ,
} from '../../abi/inet.js';
import { FIONREAD, SIOCOUTQ } from '../../abi/event.js';
import type { Task } from '../../task/task.js';
import { Socket, type ControlMessage } from '../socket.js';
import type { NetDevice } from '../dev/netdev.js';
import { deviceIoctl, isDeviceIoctl } from '../dev/ioctl.js';
import { formatSockaddrIn, INADDR_ANY } from './address.js';
import { pathMtu } from './ip.js';
import type { NetStack } from './stack.js';

/** What the receive path remembers about a datagram for the control messages. */
export interface PacketInfo { ttl: number; tos: number; dst: number; ifindex: number; time: number }

export abstract class InetSocket extends Socket {
  readonly family = AF_INET;
  localAddr = INADDR_ANY;
  localPort = 0;
  remoteAddr = INADDR_ANY;
  remotePort = 0;
  /** -1: the route's default (ip_default_ttl). */
  ttl = -1;
  tos = 0;
  mcTtl = 1;
  mcLoop = true;
  mcIf = 0;
  readonly memberships: { group: number; ifindex: number }[] = [];
  recvErr = false;
  recvTtl = false;
  recvTos = false;
  pktinfo = false;
  hdrincl = false;
  freebind = false;
  mtuDiscover = IP_PMTUDISC_WANT;
  timestamp: 0 | 1 | 2 = 0;
  boundDev: NetDevice | null = null;
  mark = 0;

  constructor(readonly stack: NetStack, type: number, protocol: number, flags: number) {
    super(type, protocol, flags);
  }

  get effectiveTtl(): number {
    return this.ttl < 0 ? IPDEFTTL : this.ttl;
  }

  override getsockname(): Buffer {
    return formatSockaddrIn(this.localAddr, this.localPort);
  }

  /** Checks that an address to bind to is ours (or INADDR_ANY / broadcast / freebind). */
  protected checkBindAddr(addr: number): void {
    if (addr === INADDR_ANY || this.freebind) return;
    if (this.stack.isLocal(addr) || this.stack.isBroadcast(addr) || (addr >>> 28) === 0xe) return;
    throw new Errno(EADDRNOTAVAIL);
  }

  /** Bytes waiting to be read (FIONREAD) and bytes not yet sent/acknowledged (SIOCOUTQ). */
  protected abstract inq(): number;
  protected outq(): number { return 0; }

  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) { t.mem.writeI32(arg, this.inq()); return 0; }
    if (req === SIOCOUTQ) { t.mem.writeI32(arg, this.outq()); return 0; }
    if (isDeviceIoctl(req)) return deviceIoctl(this.stack, t, req, arg);
    return super.ioctl(t, req, arg);
  }

  override getsockopt(t: Task, level: number, name: number): Buffer {
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_TIMESTAMP: return int(+(this.timestamp === 1));
        case SO_TIMESTAMPNS: return int(+(this.timestamp === 2));
        case SO_MARK: return int(this.mark);
        case SO_BINDTODEVICE: {
          const b = Buffer.alloc(IFNAMSIZ);
          if (this.boundDev) b.write(this.boundDev.name);
          return this.boundDev ? b.subarray(0, this.boundDev.name.length + 1) : Buffer.alloc(0);
        }
        case SO_TIMESTAMPING: case SO_BUSY_POLL: case SO_ZEROCOPY: return int(0);
        case SO_INCOMING_CPU: return int(0);
        default: return super.getsockopt(t, level, name);
      }
    }
    if (level !== SOL_IP) return this.protoGetsockopt(t, level, name);
    switch (name) {
      case IP_TTL: return int(this.effectiveTtl);
      case IP_TOS: return int(this.tos);
      case IP_HDRINCL: return int(+this.hdrincl);
      case IP_RECVERR: return int(+this.recvErr);
      case IP_RECVTTL: return int(+this.recvTtl);
      case IP_RECVTOS: return int(+this.recvTos);
      case IP_PKTINFO: return int(+this.pktinfo);
      case IP_FREEBIND: return int(+this.freebind);
      case IP_MTU_DISCOVER: return int(this.mtuDiscover);
      case IP_MULTICAST_TTL: return int(this.mcTtl);
      case IP_MULTICAST_LOOP: return int(+this.mcLoop);
      case IP_MULTICAST_ALL: return int(1);
      case IP_MULTICAST_IF: { const b = Buffer.alloc(4); b.writeUInt32BE(this.mcIf >>> 0); return b; }
      case IP_OPTIONS: return Buffer.alloc(0);
      case IP_MTU: {
        if (this.remoteAddr === INADDR_ANY) throw new Errno(ENOTCONN);
        return int(pathMtu(this.stack, this.remoteAddr));
      }
      default: throw new Errno(ENOPROTOOPT);
    }
  }

  override setsockopt(t: Task, level: number, name: number, val: Buffer): void {
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_TIMESTAMP: case SO_TIMESTAMPNS: {
          const on = optInt(val) !== 0;
          if (on) this.timestamp = name === SO_TIMESTAMP ? 1 : 2;
          else if (this.timestamp === (name === SO_TIMESTAMP ? 1 : 2)) this.timestamp = 0;
          return;
        }
        case SO_MARK: this.mark = optInt(val); return;
        case SO_BINDTODEVICE: {
          const name0 = val.subarray(0, Math.min(val.length, IFNAMSIZ)).toString('latin1').replace(/\0.*$/s, '');
          if (!name0) { this.boundDev = null; return; }
          const d = this.stack.deviceByName(name0);
          if (!d) throw new Errno(ENODEV);
          this.boundDev = d;
          return;
        }
        case SO_TIMESTAMPING: case SO_BUSY_POLL: case SO_ZEROCOPY: case SO_INCOMING_CPU: return;
        default: super.setsockopt(t, level, name, val); return;
      }
    }
    if (level !== SOL_IP) { this.protoSetsockopt(t, level, name, val); return; }
    switch (name) {
      case IP_ADD_MEMBERSHIP: case IP_DROP_MEMBERSHIP: {
        if (val.length < 8) throw new Errno(EINVAL);
        const group = val.readUInt32BE(0);
        const ifindex = val.length >= 12 ? val.readInt32LE(8) : 0;
        const i = this.memberships.findIndex((m) => m.group === group);
        if (name === IP_ADD_MEMBERSHIP) {
          if ((group >>> 28) !== 0xe) throw new Errno(EINVAL);
          if (i >= 0) throw new Errno(EADDRINUSE);
          this.memberships.push({ group, ifindex });
        } else {
          if (i < 0) throw new Errno(EADDRNOTAVAIL);
          this.memberships.splice(i, 1);
        }
        return;
      }
      case IP_MULTICAST_IF: {
        if (val.length >= 4) this.mcIf = val.readUInt32BE(0);
        return;
      }
      case IP_OPTIONS: case 7 /* IP_RETOPTS */: return;
    }
    // The rest take an int (Linux also accepts a single byte for most).
    const v = val.length >= 4 ? val.readInt32LE(0) : val.length >= 1 ? val[0]! : (() => { throw new Errno(EINVAL); })();
    switch (name) {
      case IP_TTL:
        if (v !== -1 && (v < 1 || v > 255)) throw new Errno(EINVAL);
        this.ttl = v;
        return;
      case IP_TOS: this.tos = v & 0xff; return;
      case IP_HDRINCL: this.hdrincl = v !== 0; return;
      case IP_RECVERR: this.recvErr = v !== 0; return;
      case IP_RECVTTL: this.recvTtl = v !== 0; return;
      case IP_RECVTOS: this.recvTos = v !== 0; return;
      case IP_PKTINFO: this.pktinfo = v !== 0; return;
      case IP_FREEBIND: this.freebind = v !== 0; return;
      case IP_MTU_DISCOVER:
        if (v < 0 || v > 5) throw new Errno(EINVAL);
        this.mtuDiscover = v;
        return;
      case IP_MULTICAST_TTL:
        if (v < -1 || v > 255) throw new Errno(EINVAL);
        this.mcTtl = v === -1 ? 1 : v;
        return;
      case IP_MULTICAST_LOOP: this.mcLoop = v !== 0; return;
      case IP_RECVORIGDSTADDR: case IP_BIND_ADDRESS_NO_PORT: case IP_MULTICAST_ALL: return;
      default: throw new Errno(ENOPROTOOPT);
    }
  }

  /** Options of the protocol's own level (SOL_TCP, SOL_RAW …). */
  protected protoGetsockopt(_t: Task, _level: number, _name: number): Buffer {
    throw new Errno(ENOPROTOOPT);
  }
  protected protoSetsockopt(_t: Task, _level: number, _name: number, _val: Buffer): void {
    throw new Errno(ENOPROTOOPT);
  }

  /** The control messages a received datagram carries, per the options set (ip_cmsg_recv). */
  protected controlFor(info: PacketInfo): ControlMessage[] {
    const out: ControlMessage[] = [];
    if (this.timestamp === 1) {
      const b = Buffer.alloc(16);
      b.writeBigInt64LE(BigInt(Math.floor(info.time / 1000)), 0);
      b.writeBigInt64LE(BigInt(Math.floor((info.time % 1000) * 1000)), 8);
      out.push({ level: SOL_SOCKET, type: SCM_TIMESTAMP, data: b });
    } else if (this.timestamp === 2) {
      const b = Buffer.alloc(16);
      b.writeBigInt64LE(BigInt(Math.floor(info.time / 1000)), 0);
      b.writeBigInt64LE(BigInt(Math.floor((info.time % 1000) * 1e6)), 8);
      out.push({ level: SOL_SOCKET, type: SCM_TIMESTAMPNS, data: b });
    }
    if (this.pktinfo) {
      const b = Buffer.alloc(12);
      b.writeInt32LE(info.ifindex, 0);
      b.writeUInt32BE(info.dst >>> 0, 4);
      b.writeUInt32BE(info.dst >>> 0, 8);
      out.push({ level: SOL_IP, type: IP_PKTINFO, data: b });
    }
    if (this.recvTtl) out.push({ level: SOL_IP, type: IP_TTL, data: int(info.ttl) });
    if (this.recvTos) out.push({ level: SOL_IP, type: IP_TOS, data: Buffer.from([info.tos]) });
    return out;
  }
}

export function int(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0);
  return b;
}

export function optInt(val: Buffer): number {
  if (val.length >= 4) return val.readInt32LE(0);
  if (val.length >= 1) return val[0]!;
  throw new Errno(EINVAL);
}

/** Wall-clock ms for SO_TIMESTAMP. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
