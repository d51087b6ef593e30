// The BSD socket calls: socket … setsockopt. Thin: decode user structures (sockaddr,
// msghdr, iovecs, control messages), call the Socket, copy results out. Blocking is the
// socket throwing EAGAIN; here it becomes a sleep on the socket's wait queue (with
// SO_RCVTIMEO/SO_SNDTIMEO as deadlines) unless O_NONBLOCK or MSG_DONTWAIT.
import type { HandlerMap } from './handler.js';
import type { Task, SyscallState, SyscallReturn } from '../task/task.js';
import { Block } from '../task/task.js';
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL, EMSGSIZE, ENOTSOCK, EOPNOTSUPP, EPERM } from '../abi/errno.js';
import { O_NONBLOCK, O_RDWR } from '../abi/fcntl.js';
import {
  SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_TYPE_MASK, SOCK_STREAM, SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS,
  SCM_MAX_FD, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_CTRUNC, MSG_WAITALL, MSG_CMSG_CLOEXEC, MSG_WAITFORONE,
  MSG_DONTWAIT, MSGHDR, MMSGHDR_SIZE, MMSGHDR_LEN, CMSG_HDR, cmsgAlign, cmsgLen, cmsgSpace, UIO_MAXIOV,
} from '../abi/socket.js';
import type { File } from '../fs/file.js';
import { Socket, isNonblocking, type SendRequest, type RecvResult, type UCred } from '../net/socket.js';
import { createSocket, createSocketPair } from '../net/families.js';
import { progressOf, setProgress, clearProgress } from '../ipc/progress.js';
import { monotonicMs } from '../sched/timers.js';

const SOCK_MAX = 11;
/** sizeof(struct sockaddr_storage): the most a sockaddr argument may be. */
const SOCKADDR_MAX = 128;

function sockOf(t: Task, fd: number): Socket {
  const f = t.fds.get(fd);
  if (!(f instanceof Socket)) throw new Errno(ENOTSOCK);
  return f;
}

function readSockaddr(t: Task, addr: number, len: number): Buffer {
  if (len < 0 || len > SOCKADDR_MAX) throw new Errno(EINVAL);
  if (len === 0) return Buffer.alloc(0);
  return t.mem.read(addr, len);
}

/** Copies an address out to (addr, *lenp): truncated to the caller's buffer, full length stored. */
function writeSockaddr(t: Task, addr: number, lenp: number, sa: Buffer): void {
  if (addr === 0) return;
  const room = t.mem.i32(lenp);
  if (room < 0) throw new Errno(EINVAL);
  if (room > 0 && sa.length > 0) t.mem.write(addr, sa.subarray(0, Math.min(room, sa.length)));
  t.mem.writeI32(lenp, sa.length);
}

function install(t: Task, f: File, cloexec: boolean): number {
  return t.fds.install(f, cloexec);
}

/** Sleeps on the socket when `op` would block, with the socket's timeout as the deadline. */
function sockWait<T>(s: SyscallState, sock: Socket, nonblock: boolean, timeoutMs: number, op: () => T): T | Block {
  try {
    return op();
  } catch (e) {
    if (!(e instanceof Errno) || e.errno !== EAGAIN || nonblock) throw e;
    if (timeoutMs > 0) {
      const sc = (s.scratch ?? (s.scratch = {})) as { deadline?: number };
      if (sc.deadline === undefined) sc.deadline = monotonicMs() + timeoutMs;
      if (s.wake === 'timeout' || monotonicMs() >= sc.deadline) throw e;
      // With a timeout Linux answers a signal with EINTR, never a restart.
      return new Block([sock.waitQueue], sc.deadline, 'never');
    }
    return new Block([sock.waitQueue]);
  }
}

// ---- iovecs and control messages ----

interface Iovec { base: number; len: number }

function readIovecs(t: Task, addr: number, count: number): Iovec[] {
  if (count < 0 || count > UIO_MAXIOV) throw new Errno(EMSGSIZE);
  if (count === 0) return [];
  const b = t.mem.read(addr, count * 16);
  const out: Iovec[] = [];
  for (let i = 0; i < count; i++) {
    const len = Number(b.readBigUInt64LE(i * 16 + 8));
    if (len > 0x7fffffff) throw new Errno(EINVAL);
    out.push({ base: Number(b.readBigUInt64LE(i * 16)), len });
  }
  return out;
}

function gather(t: Task, iovs: Iovec[]): Buffer {
  const parts = iovs.filter((v) => v.len > 0).map((v) => t.mem.read(v.base, v.len));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Writes data across the iovecs, starting `skip` bytes in. */
function scatter(t: Task, iovs: Iovec[], data: Buffer, skip = 0): void {
  let off = 0, pos = 0;
  for (const v of iovs) {
    if (off >= data.length) break;
    if (pos + v.len <= skip) { pos += v.len; continue; }
    const inner = Math.max(0, skip - pos);
    const n = Math.min(v.len - inner, data.length - off);
    if (n > 0) t.mem.write(v.base + inner, data.subarray(off, off + n));
    off += n;
    pos += v.len;
  }
}

function iovTotal(iovs: Iovec[]): number {
  return iovs.reduce((n, v) => n + v.len, 0);
}

interface Control { rights: File[] | null; creds: UCred | null }

/** Parses SCM_RIGHTS (taking file references) and SCM_CREDENTIALS (checked as Linux does). */
function parseControl(t: Task, addr: number, len: number): Control {
  const c: Control = { rights: null, creds: null };
  if (len === 0) return c;
  if (len < 0 || len > 0x7fffffff) throw new Errno(EINVAL);
  const buf = t.mem.read(addr, len);
  try {
    for (let off = 0; off + CMSG_HDR <= len;) {
      const clen = Number(buf.readBigUInt64LE(off));
      if (clen < CMSG_HDR || off + clen > len) throw new Errno(EINVAL);
      const level = buf.readInt32LE(off + 8), type = buf.readInt32LE(off + 12);
      const data = buf.subarray(off + CMSG_HDR, off + clen);
      if (level === SOL_SOCKET) {
        if (type === SCM_RIGHTS) {
          const n = Math.floor(data.length / 4);
          if (n === 0 || (c.rights?.length ?? 0) + n > SCM_MAX_FD) throw new Errno(EINVAL);
          c.rights ??= [];
          for (let i = 0; i < n; i++) c.rights.push(t.fds.get(data.readInt32LE(i * 4)).ref());
        } else if (type === SCM_CREDENTIALS) {
          if (data.length !== 12) throw new Errno(EINVAL);
          const cr = { pid: data.readInt32LE(0), uid: data.readUInt32LE(4), gid: data.readUInt32LE(8) };
          const k = t.cred, root = k.euid === 0;
          if (!root && cr.pid !== t.pid) throw new Errno(EPERM);
          if (!root && ![k.uid, k.euid, k.suid].includes(cr.uid)) throw new Errno(EPERM);
          if (!root && ![k.gid, k.egid, k.sgid].includes(cr.gid)) throw new Errno(EPERM);
          c.creds = cr;
        } else throw new Errno(EINVAL);
      }
      off += cmsgAlign(clen);
    }
  } catch (e) {
    if (c.rights) for (const f of c.rights) f.unref();
    throw e;
  }
  return c;
}

function cmsg(level: number, type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(cmsgSpace(data.length));
  b.writeBigUInt64LE(BigInt(cmsgLen(data.length)), 0);
  b.writeInt32LE(level, 8);
  b.writeInt32LE(type, 12);
  data.copy(b, CMSG_HDR);
  return b;
}

/** Builds the control buffer for a received message; installs passed files. */
function buildControl(t: Task, r: RecvResult, room: number, flags: number): { buf: Buffer; ctrunc: boolean } {
  const parts: Buffer[] = [];
  let used = 0, ctrunc = false;
  for (const m of r.cmsgs ?? []) {
    if (room - used < cmsgLen(m.data.length)) { ctrunc = true; continue; }
    const c = cmsg(m.level, m.type, m.data);
    const n = Math.min(c.length, room - used);
    parts.push(c.subarray(0, n));
    used += n;
  }
  if (r.creds) {
    const d = Buffer.alloc(12);
    d.writeInt32LE(r.creds.pid, 0);
    d.writeUInt32LE(r.creds.uid >>> 0, 4);
    d.writeUInt32LE(r.creds.gid >>> 0, 8);
    if (room - used >= cmsgLen(12)) {
      const c = cmsg(SOL_SOCKET, SCM_CREDENTIALS, d);
      const n = Math.min(c.length, room - used);
      parts.push(c.subarray(0, n));
      used += n;
    } else ctrunc = true;
  }
  if (r.rights) {
    const fit = Math.max(0, Math.floor((room - used - CMSG_HDR) / 4));
    const n = Math.min(fit, r.rights.length);
    const fds: number[] = [];
    for (let i = 0; i < r.rights.length; i++) {
      const f = r.rights[i]!;
      if (i < n) {
        try {
          fds.push(install(t, f, (flags & MSG_CMSG_CLOEXEC) !== 0));
        } catch {
          ctrunc = true; // EMFILE: the rest are dropped, as scm_detach_fds does
        }
      } else {
        f.unref();
        ctrunc = true;
      }
    }
    if (fds.length) {
      const d = Buffer.alloc(fds.length * 4);
      fds.forEach((fd, i) => d.writeInt32LE(fd, i * 4));
      const c = cmsg(SOL_SOCKET, SCM_RIGHTS, d);
      const k = Math.min(c.length, room - used);
      parts.push(c.subarray(0, k));
      used += k;
    }
  }
  return { buf: Buffer.concat(parts, used), ctrunc };
}

// ---- send / recv cores ----

interface MsgRefs { nameAddr: number; nameLen: number; iovs: Iovec[]; ctlAddr: number; ctlLen: number }

function readMsghdr(t: Task, addr: number): MsgRefs {
  const b = t.mem.read(addr, MSGHDR.size);
  return {
    nameAddr: Number(b.readBigUInt64LE(MSGHDR.name)),
    nameLen: b.readInt32LE(MSGHDR.namelen),
    iovs: readIovecs(t, Number(b.readBigUInt64LE(MSGHDR.iov)), Number(b.readBigUInt64LE(MSGHDR.iovlen))),
    ctlAddr: Number(b.readBigUInt64LE(MSGHDR.control)),
    ctlLen: Number(b.readBigUInt64LE(MSGHDR.controllen)),
  };
}

function doSend(t: Task, s: SyscallState, sock: Socket, data: Buffer, addr: Buffer | null, ctl: Control, flags: number): number | Block {
  if (flags & MSG_OOB) {
    if (ctl.rights) for (const f of ctl.rights) f.unref();
    throw new Errno(EOPNOTSUPP);
  }
  const nonblock = isNonblocking(sock, flags);
  const req: SendRequest = { data, addr, rights: ctl.rights, creds: ctl.creds, flags, nonblock };
  return sockWait(s, sock, nonblock, sock.opts.sndtimeo, () => sock.sendmsg(t, req));
}

interface RecvOut { n: number; r: RecvResult }

/**
 * One receive into iovecs. MSG_WAITALL on a stream keeps receiving (across re-runs) until
 * the buffer is full, the stream ends, or files arrive.
 */
function doRecv(t: Task, s: SyscallState, sock: Socket, iovs: Iovec[], flags: number): RecvOut | Block {
  if (flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
  const nonblock = isNonblocking(sock, flags);
  const cap = iovTotal(iovs);
  const waitall = (flags & MSG_WAITALL) !== 0 && !(flags & MSG_PEEK) && sock.type === SOCK_STREAM && !nonblock;
  const done = waitall ? progressOf(t, cap) : 0;
  let r: RecvResult;
  try {
    const got = sockWait(s, sock, nonblock, sock.opts.rcvtimeo, () => sock.recvmsg(t, cap - done, flags, nonblock));
    if (got instanceof Block) return got;
    r = got;
  } catch (e) {
    if (done > 0) {
      clearProgress(t);
      return { n: done, r: emptyResult() };
    }
    throw e;
  }
  scatter(t, iovs, r.data, done);
  const total = done + r.data.length;
  if (waitall && total < cap && !r.eof && !r.rights && r.data.length > 0) {
    setProgress(t, cap, total);
    return new Block([sock.waitQueue]);
  }
  if (waitall) clearProgress(t);
  const n = (flags & MSG_TRUNC) && sock.type !== SOCK_STREAM ? r.fullLength : total;
  return { n, r };
}

function emptyResult(): RecvResult {
  return { data: Buffer.alloc(0), fullLength: 0, addr: null, rights: null, creds: null, flags: 0 };
}

/** Writes a received message's name, control data and flags into a msghdr. */
function finishMsghdr(t: Task, msgAddr: number, m: MsgRefs, out: RecvOut, flags: number): void {
  const r = out.r;
  if (m.nameAddr !== 0) {
    const a = r.addr ?? Buffer.alloc(0);
    if (a.length) t.mem.write(m.nameAddr, a.subarray(0, Math.max(0, Math.min(m.nameLen, a.length))));
    t.mem.writeI32(msgAddr + MSGHDR.namelen, a.length);
  }
  let mflags = r.flags;
  let ctlUsed = 0;
  if (r.creds || r.rights || r.cmsgs?.length) {
    const c = buildControl(t, r, m.ctlAddr ? m.ctlLen : 0, flags);
    if (c.ctrunc) mflags |= MSG_CTRUNC;
    if (c.buf.length) t.mem.write(m.ctlAddr, c.buf);
    ctlUsed = c.buf.length;
  }
  t.mem.writeU64(msgAddr + MSGHDR.controllen, ctlUsed);
  t.mem.writeI32(msgAddr + MSGHDR.flags, mflags);
}

// ---- handlers ----

function checkTypeFlags(type: number): { base: number; flags: number; cloexec: boolean } {
  if ((type & ~SOCK_TYPE_MASK) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) throw new Errno(EINVAL);
  const base = type & SOCK_TYPE_MASK;
  if (base <= 0 || base >= SOCK_MAX) throw new Errno(EINVAL);
  return { base, flags: O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0), cloexec: (type & SOCK_CLOEXEC) !== 0 };
}

// Socket implements Linux syscall socket(2).
function socket(t: Task, domain: number, type: number, protocol: number): number {
  const c = checkTypeFlags(type);
  return install(t, createSocket(t, domain, c.base, protocol, c.flags), c.cloexec);
}

// Socketpair implements Linux syscall socketpair(2).
function socketpair(t: Task, domain: number, type: number, protocol: number, sv: number): number {
  const c = checkTypeFlags(type);
  const [a, b] = createSocketPair(t, domain, c.base, protocol, c.flags);
  let fa: number;
  try {
    fa = install(t, a, c.cloexec);
  } catch (e) {
    b.unref();
    throw e;
  }
  let fb: number;
  try {
    fb = install(t, b, c.cloexec);
  } catch (e) {
    t.fds.close(fa);
    throw e;
  }
  const out = Buffer.alloc(8);
  out.writeInt32LE(fa, 0);
  out.writeInt32LE(fb, 4);
  try {
    t.mem.write(sv, out);
  } catch (e) {
    t.fds.close(fa);
    t.fds.close(fb);
    throw e;
  }
  return 0;
}

// Accept4 implements Linux syscall accept4(2) (and accept(2) with flags 0).
function accept4(t: Task, s: SyscallState, fd: number, addr: number, lenp: number, flags: number): SyscallReturn {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) throw new Errno(EINVAL);
  const sock = sockOf(t, fd);
  const got = sockWait(s, sock, sock.nonblocking, sock.opts.rcvtimeo, () => sock.accept(t, sock.nonblocking));
  if (got instanceof Block) return got;
  got.flags = O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0);
  const nfd = install(t, got, (flags & SOCK_CLOEXEC) !== 0);
  try {
    if (addr !== 0) writeSockaddr(t, addr, lenp, got.getpeername());
  } catch (e) {
    t.fds.close(nfd);
    throw e;
  }
  return nfd;
}

// Connect implements Linux syscall connect(2).
function connect(t: Task, s: SyscallState, fd: number, addr: number, len: number): SyscallReturn {
  const sock = sockOf(t, fd);
  const sa = readSockaddr(t, addr, len);
  return sockWait(s, sock, sock.nonblocking, sock.opts.sndtimeo, () => {
    sock.connect(t, sa, sock.nonblocking);
    return 0;
  });
}

// Sendmsg implements Linux syscall sendmsg(2).
function sendmsg(t: Task, s: SyscallState, fd: number, msgAddr: number, flags: number): SyscallReturn {
  const sock = sockOf(t, fd);
  const m = readMsghdr(t, msgAddr);
  const addr = m.nameAddr && m.nameLen ? readSockaddr(t, m.nameAddr, m.nameLen) : null;
  const data = gather(t, m.iovs);
  const ctl = parseControl(t, m.ctlAddr, m.ctlAddr ? m.ctlLen : 0);
  return doSend(t, s, sock, data, addr, ctl, flags);
}

// Recvmsg implements Linux syscall recvmsg(2).
function recvmsg(t: Task, s: SyscallState, fd: number, msgAddr: number, flags: number): SyscallReturn {
  const sock = sockOf(t, fd);
  const m = readMsghdr(t, msgAddr);
  const out = doRecv(t, s, sock, m.iovs, flags);
  if (out instanceof Block) return out;
  finishMsghdr(t, msgAddr, m, out, flags);
  return out.n;
}

interface MmsgScratch { count: number; deadline?: number }

// Sendmmsg implements Linux syscall sendmmsg(2): as many as go, then the count.
function sendmmsg(t: Task, s: SyscallState, fd: number, vec: number, vlen: number, flags: number): SyscallReturn {
  const sock = sockOf(t, fd);
  vlen = Math.min(vlen >>> 0, UIO_MAXIOV);
  const sc = (s.scratch ??= { count: 0 }) as MmsgScratch;
  for (; sc.count < vlen; sc.count++) {
    const at = vec + sc.count * MMSGHDR_SIZE;
    let r: number | Block;
    try {
      r = sendmsgOne(t, s, sock, at, flags);
    } catch (e) {
      if (sc.count > 0) return sc.count;
      throw e;
    }
    if (r instanceof Block) return r;
    t.mem.writeU32(at + MMSGHDR_LEN, r);
  }
  return sc.count;
}

function sendmsgOne(t: Task, s: SyscallState, sock: Socket, msgAddr: number, flags: number): number | Block {
  const m = readMsghdr(t, msgAddr);
  const addr = m.nameAddr && m.nameLen ? readSockaddr(t, m.nameAddr, m.nameLen) : null;
  const ctl = parseControl(t, m.ctlAddr, m.ctlAddr ? m.ctlLen : 0);
  return doSend(t, s, sock, gather(t, m.iovs), addr, ctl, flags);
}

// Recvmmsg implements Linux syscall recvmmsg(2); the timeout is checked after each message.
function recvmmsg(t: Task, s: SyscallState, fd: number, vec: number, vlen: number, flags: number, timeout: number): SyscallReturn {
  const sock = sockOf(t, fd);
  vlen = Math.min(vlen >>> 0, UIO_MAXIOV);
  let sc = s.scratch as MmsgScratch | undefined;
  if (!sc) {
    sc = { count: 0 };
    if (timeout !== 0) {
      const b = t.mem.read(timeout, 16);
      const sec = Number(b.readBigInt64LE(0)), nsec = Number(b.readBigInt64LE(8));
      if (sec < 0 || nsec < 0 || nsec >= 1e9) throw new Errno(EINVAL);
      sc.deadline = monotonicMs() + sec * 1000 + nsec / 1e6;
    }
    s.scratch = sc;
  }
  for (; sc.count < vlen; sc.count++) {
    if (sc.deadline !== undefined && sc.count > 0 && (s.wake === 'timeout' || monotonicMs() >= sc.deadline)) break;
    const f = sc.count > 0 && flags & MSG_WAITFORONE ? flags | MSG_DONTWAIT : flags;
    const at = vec + sc.count * MMSGHDR_SIZE;
    let out: RecvOut | Block;
    let m: MsgRefs;
    try {
      m = readMsghdr(t, at);
      out = doRecv(t, s, sock, m.iovs, f & ~MSG_WAITFORONE);
    } catch (e) {
      if (sc.count > 0) break;
      throw e;
    }
    if (out instanceof Block) return new Block(out.queues, sc.count > 0 ? sc.deadline : out.deadline);
    finishMsghdr(t, at, m, out, f);
    t.mem.writeU32(at + MMSGHDR_LEN, out.n);
  }
  return sc.count;
}

function getName(t: Task, fd: number, addr: number, lenp: number, peer: boolean): number {
  const sock = sockOf(t, fd);
  const room = t.mem.i32(lenp);
  if (room < 0) throw new Errno(EINVAL);
  writeSockaddr(t, addr, lenp, peer ? sock.getpeername() : sock.getsockname());
  return 0;
}

export const socketCalls: HandlerMap = {
  socket: (t, a) => socket(t, a[0]! | 0, a[1]! | 0, a[2]! | 0),
  socketpair: (t, a) => socketpair(t, a[0]! | 0, a[1]! | 0, a[2]! | 0, a[3]!),
  bind: (t, a) => {
    const sock = sockOf(t, a[0]! | 0);
    sock.bind(t, readSockaddr(t, a[1]!, a[2]! | 0));
    return 0;
  },
  listen: (t, a) => {
    sockOf(t, a[0]! | 0).listen(t, a[1]! | 0);
    return 0;
  },
  accept: (t, a, s) => accept4(t, s, a[0]! | 0, a[1]!, a[2]!, 0),
  accept4: (t, a, s) => accept4(t, s, a[0]! | 0, a[1]!, a[2]!, a[3]! | 0),
  connect: (t, a, s) => connect(t, s, a[0]! | 0, a[1]!, a[2]! | 0),
  sendto: (t, a, s) => {
    const sock = sockOf(t, a[0]! | 0);
    const len = Math.min(a[2]!, 0x7fffffff);
    const data = len > 0 ? t.mem.read(a[1]!, len) : Buffer.alloc(0);
    const addr = a[4] ? readSockaddr(t, a[4], a[5]! | 0) : null;
    return doSend(t, s, sock, data, addr && addr.length ? addr : null, { rights: null, creds: null }, a[3]! | 0);
  },
  recvfrom: (t, a, s) => {
    const sock = sockOf(t, a[0]! | 0);
    const out = doRecv(t, s, sock, [{ base: a[1]!, len: Math.min(a[2]!, 0x7fffffff) }], a[3]! | 0);
    if (out instanceof Block) return out;
    if (out.r.rights) for (const f of out.r.rights) f.unref();
    if (a[4]) {
      const sa = out.r.addr ?? Buffer.alloc(0);
      writeSockaddr(t, a[4], a[5]!, sa);
    }
    return out.n;
  },
  sendmsg: (t, a, s) => sendmsg(t, s, a[0]! | 0, a[1]!, a[2]! | 0),
  recvmsg: (t, a, s) => recvmsg(t, s, a[0]! | 0, a[1]!, a[2]! | 0),
  sendmmsg: (t, a, s) => sendmmsg(t, s, a[0]! | 0, a[1]!, a[2]!, a[3]! | 0),
  recvmmsg: (t, a, s) => recvmmsg(t, s, a[0]! | 0, a[1]!, a[2]!, a[3]! | 0, a[4]!),
  shutdown: (t, a) => {
    sockOf(t, a[0]! | 0).shutdown(t, a[1]! | 0);
    return 0;
  },
  getsockname: (t, a) => getName(t, a[0]! | 0, a[1]!, a[2]!, false),
  getpeername: (t, a) => getName(t, a[0]! | 0, a[1]!, a[2]!, true),
  getsockopt: (t, a) => {
    const sock = sockOf(t, a[0]! | 0);
    const lenp = a[4]!;
    const room = t.mem.i32(lenp);
    if (room < 0) throw new Errno(EINVAL);
    const v = sock.getsockopt(t, a[1]! | 0, a[2]! | 0);
    const n = Math.min(room, v.length);
    if (n > 0) t.mem.write(a[3]!, v.subarray(0, n));
    t.mem.writeI32(lenp, n);
    return 0;
  },
  setsockopt: (t, a) => {
    const sock = sockOf(t, a[0]! | 0);
    const len = a[4]! | 0;
    if (len < 0) throw new Errno(EINVAL);
    const v = len > 0 ? t.mem.read(a[3]!, len) : Buffer.alloc(0);
    sock.setsockopt(t, a[1]! | 0, a[2]! | 0, v);
    return 0;
  },
};

