// The socket layer: a Socket is a File with the BSD socket operations; each address family
// supplies its sockets through the family table (families.ts), so a new family is one new
// entry there. The options every family shares (SOL_SOCKET) are handled here.
import { Errno } from '../errno.js';
import { EDOM, EINVAL, ENOPROTOOPT, EOPNOTSUPP, EPERM } from '../abi/errno.js';
import { O_NONBLOCK, S_IFSOCK } from '../abi/fcntl.js';
import {
  SOL_SOCKET, SO_TYPE, SO_ERROR, SO_DOMAIN, SO_PROTOCOL, SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE,
  SO_RCVBUFFORCE, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_PASSCRED, SO_ACCEPTCONN,
  SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_BROADCAST, SO_PRIORITY, SO_RCVLOWAT, SO_SNDLOWAT,
  SO_OOBINLINE, SO_DEBUG, SO_DONTROUTE, SO_PASSSEC, SK_WMEM_MAX, SK_RMEM_MAX, SOCK_MIN_SNDBUF,
  SOCK_MIN_RCVBUF, MSG_DONTWAIT, MSG_NOSIGNAL,
} from '../abi/socket.js';
import { File } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { sockfs, allocIno, pseudoStat, nowTs } from '../event/anon-inode.js';

/** struct ucred as SO_PEERCRED and SCM_CREDENTIALS carry it. */
export interface UCred { pid: number; uid: number; gid: number }

export function ucredOf(t: Task): UCred {
  return { pid: t.pid, uid: t.cred.euid, gid: t.cred.egid };
}

/** One sendmsg: the payload gathered from the iovecs, the destination and control data. */
export interface SendRequest {
  data: Buffer;
  /** Raw destination sockaddr (msg_name), or null. */
  addr: Buffer | null;
  /** SCM_RIGHTS files (references owned by the request until the socket takes them). */
  rights: File[] | null;
  /** SCM_CREDENTIALS as the sender gave them (already checked). */
  creds: UCred | null;
  flags: number;
  nonblock: boolean;
}

/** A control message other than SCM_RIGHTS/SCM_CREDENTIALS (IP_TTL, SCM_TIMESTAMP, …). */
export interface ControlMessage { level: number; type: number; data: Buffer }

export interface RecvResult {
  data: Buffer;
  /** Length of the whole message (datagrams): the return value under MSG_TRUNC. */
  fullLength: number;
  /** Source address (recvfrom), or null. */
  addr: Buffer | null;
  /** Files to install in the receiver (references handed over). */
  rights: File[] | null;
  creds: UCred | null;
  /** Output msg_flags (MSG_TRUNC …); MSG_CTRUNC is added by the handler. */
  flags: number;
  /** The stream reached end of file (nothing more will come). */
  eof?: boolean;
  /** Protocol control messages (ip_cmsg_recv, timestamps), delivered before SCM_RIGHTS. */
  cmsgs?: ControlMessage[];
}

export interface SocketOptions {
  sndbuf: number;
  rcvbuf: number;
  passcred: boolean;
  reuseaddr: boolean;
  reuseport: boolean;
  keepalive: boolean;
  broadcast: boolean;
  oobinline: boolean;
  priority: number;
  rcvlowat: number;
  /** 0 = none; in ms. */
  rcvtimeo: number;
  sndtimeo: number;
  linger: { onoff: number; linger: number };
}

export abstract class Socket extends File {
  abstract readonly family: number;
  readonly ino = allocIno(sockfs);
  readonly ctime = nowTs();
  readonly opts: SocketOptions = {
    sndbuf: SK_WMEM_MAX, rcvbuf: SK_RMEM_MAX, passcred: false, reuseaddr: false, reuseport: false,
    keepalive: false, broadcast: false, oobinline: false, priority: 0, rcvlowat: 1, rcvtimeo: 0,
    sndtimeo: 0, linger: { onoff: 0, linger: 0 },
  };
  /** Pending error (SO_ERROR; sk_err), cleared when reported. */
  error = 0;
  /** Owner, for fstat. */
  uid = 0;
  gid = 0;

  constructor(readonly type: number, readonly protocol: number, flags: number) {
    super(flags);
  }

  get nonblocking(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }

  get anonName(): string {
    return `socket:[${this.ino}]`;
  }

  stat(): Stat {
    return pseudoStat({ fs: sockfs, ino: this.ino, mode: S_IFSOCK | 0o777, uid: this.uid, gid: this.gid, time: this.ctime });
  }

  // The BSD socket operations. Those that would block throw EAGAIN; the syscall layer then
  // sleeps on waitQueue (unless non-blocking) and calls again.
  bind(_t: Task, _addr: Buffer): void { throw new Errno(EOPNOTSUPP); }
  listen(_t: Task, _backlog: number): void { throw new Errno(EOPNOTSUPP); }
  accept(_t: Task, _nonblock: boolean): Socket { throw new Errno(EOPNOTSUPP); }
  connect(_t: Task, _addr: Buffer, _nonblock: boolean): void { throw new Errno(EOPNOTSUPP); }
  abstract sendmsg(t: Task, req: SendRequest): number;
  abstract recvmsg(t: Task, len: number, flags: number, nonblock: boolean): RecvResult;
  shutdown(_t: Task, _how: number): void { throw new Errno(EOPNOTSUPP); }
  abstract getsockname(): Buffer;
  abstract getpeername(): Buffer;

  /** Takes (and clears) the pending error. */
  takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  /** SOL_SOCKET options common to all families; a family overrides for its own. */
  getsockopt(_t: Task, level: number, name: number): Buffer {
    if (level !== SOL_SOCKET) throw new Errno(ENOPROTOOPT);
    const o = this.opts;
    switch (name) {
      case SO_TYPE: return int(this.type);
      case SO_DOMAIN: return int(this.family);
      case SO_PROTOCOL: return int(this.protocol);
      case SO_ERROR: return int(this.takeError());
      case SO_SNDBUF: return int(o.sndbuf);
      case SO_RCVBUF: return int(o.rcvbuf);
      case SO_REUSEADDR: return int(+o.reuseaddr);
      case SO_REUSEPORT: return int(+o.reuseport);
      case SO_KEEPALIVE: return int(+o.keepalive);
      case SO_BROADCAST: return int(+o.broadcast);
      case SO_OOBINLINE: return int(+o.oobinline);
      case SO_PASSCRED: return int(+o.passcred);
      case SO_PRIORITY: return int(o.priority);
      case SO_RCVLOWAT: return int(o.rcvlowat);
      case SO_SNDLOWAT: return int(1);
      case SO_DEBUG: case SO_DONTROUTE: case SO_PASSSEC: return int(0);
      case SO_ACCEPTCONN: return int(+this.isListening());
      case SO_RCVTIMEO: return timeval(o.rcvtimeo);
      case SO_SNDTIMEO: return timeval(o.sndtimeo);
      case SO_LINGER: {
        const b = Buffer.alloc(8);
        b.writeInt32LE(o.linger.onoff, 0);
        b.writeInt32LE(o.linger.linger, 4);
        return b;
      }
      default: throw new Errno(ENOPROTOOPT);
    }
  }

  setsockopt(t: Task, level: number, name: number, val: Buffer): void {
    if (level !== SOL_SOCKET) throw new Errno(ENOPROTOOPT);
    const o = this.opts;
    if (name === SO_RCVTIMEO || name === SO_SNDTIMEO) {
      if (val.length < 16) throw new Errno(EINVAL);
      const sec = Number(val.readBigInt64LE(0)), usec = Number(val.readBigInt64LE(8));
      if (usec < 0 || usec >= 1e6) throw new Errno(EDOM);
      const ms = sec < 0 ? 0 : sec * 1000 + usec / 1000;
      if (name === SO_RCVTIMEO) o.rcvtimeo = ms;
      else o.sndtimeo = ms;
      return;
    }
    if (name === SO_LINGER) {
      if (val.length < 8) throw new Errno(EINVAL);
      o.linger = { onoff: val.readInt32LE(0), linger: val.readInt32LE(4) };
      return;
    }
    if (val.length < 4) throw new Errno(EINVAL);
    const v = val.readInt32LE(0);
    switch (name) {
      // Linux doubles the value (bookkeeping overhead) and clamps it.
      case SO_SNDBUF: o.sndbuf = Math.max(SOCK_MIN_SNDBUF, Math.min(v >>> 0, SK_WMEM_MAX) * 2); break;
      case SO_RCVBUF: o.rcvbuf = Math.max(SOCK_MIN_RCVBUF, Math.min(v >>> 0, SK_RMEM_MAX) * 2); break;
      case SO_SNDBUFFORCE: case SO_RCVBUFFORCE: {
        if (t.cred.euid !== 0) throw new Errno(EPERM);
        const n = Math.max(name === SO_SNDBUFFORCE ? SOCK_MIN_SNDBUF : SOCK_MIN_RCVBUF, Math.min((v >>> 0) * 2, 0x7fffffff));
        if (name === SO_SNDBUFFORCE) o.sndbuf = n; else o.rcvbuf = n;
        break;
      }
      case SO_REUSEADDR: o.reuseaddr = v !== 0; break;
      case SO_REUSEPORT: o.reuseport = v !== 0; break;
      case SO_KEEPALIVE: o.keepalive = v !== 0; break;
      case SO_BROADCAST: o.broadcast = v !== 0; break;
      case SO_OOBINLINE: o.oobinline = v !== 0; break;
      case SO_PASSCRED: o.passcred = v !== 0; break;
      case SO_PRIORITY: o.priority = v; break;
      case SO_RCVLOWAT: o.rcvlowat = Math.max(1, v); break;
      case SO_DEBUG: case SO_DONTROUTE: case SO_PASSSEC: case SO_SNDLOWAT: break;
      default: throw new Errno(ENOPROTOOPT);
    }
    this.afterSetOption(name);
  }

  /** Hook for families that react to an option (e.g. a bigger buffer wakes writers). */
  protected afterSetOption(_name: number): void {}

  isListening(): boolean {
    return false;
  }

  // read(2)/write(2) on a socket are recv/send without flags.
  override read(t: Task, len: number): Buffer {
    return this.recvmsg(t, len, 0, this.nonblocking).data;
  }
  override write(t: Task, data: Buffer): number {
    return this.sendmsg(t, { data, addr: null, rights: null, creds: null, flags: 0, nonblock: this.nonblocking });
  }
}

/** Whether a send with these flags raises SIGPIPE on EPIPE. */
export function wantsSigpipe(flags: number): boolean {
  return (flags & MSG_NOSIGNAL) === 0;
}

export function isNonblocking(sock: Socket, flags: number): boolean {
  return sock.nonblocking || (flags & MSG_DONTWAIT) !== 0;
}

function int(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0);
  return b;
}

function timeval(ms: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  b.writeBigInt64LE(BigInt(Math.round((ms % 1000) * 1000)), 8);
  return b;
}

/** A family's constructors: socket(2) and socketpair(2). */
export interface SocketFamily {
  create(t: Task, type: number, protocol: number, flags: number): Socket;
  pair?(t: Task, type: number, protocol: number, flags: number): [Socket, Socket];
}
