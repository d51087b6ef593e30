// AF_UNIX SOCK_DGRAM sockets for mconsole (Node has none). Calls go through koffi; readiness
// comes from libuv (koffi.node.poll), so the event loop wakes us when a datagram is queued or
// a full peer drains — no thread blocks and nothing polls with a sleep.
//
// Addresses are raw `struct sockaddr_un` bytes, exactly as recvfrom() returned them, because
// mconsole replies go back to the request's origin verbatim (uml_mconsole binds an abstract
// name whose length is the whole 110-byte struct).
// TODO(merge): src/host/unix-dgram-net.ts (network transports) has a similar socket.
import koffi from 'koffi';
import { EAGAIN, EBADF, EINTR, ENAMETOOLONG } from '../kernel/abi/errno.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;

/** sizeof(struct sockaddr_un) on Linux. */
export const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_SIZE = 108;

const libc = koffi.load('libc.so.6');
const socketRaw = libc.func('int socket(int domain, int type, int protocol)') as
  (domain: number, type: number, protocol: number) => number;
const bindRaw = libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)') as
  (fd: number, addr: Buffer, len: number) => number;
const connectRaw = libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)') as
  (fd: number, addr: Buffer, len: number) => number;
const sendtoRaw = libc.func(
  'intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t alen)') as
  (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, alen: number) => number;
const recvfromRaw = libc.func(
  'intptr_t recvfrom(int fd, _Out_ uint8_t *buf, size_t len, int flags, _Out_ uint8_t *addr, _Inout_ uint32_t *alen)') as
  (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number[]) => number;
const closeRaw = libc.func('int close(int fd)') as (fd: number) => number;

interface PollEvents { readable: boolean; writable: boolean; disconnect: boolean }
interface PollHandle {
  start(opts: { readable: boolean; writable: boolean }, cb: (status: number, ev: PollEvents) => void): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}
const uvPoll = (koffi as unknown as { node: { PollHandle: new (fd: number) => PollHandle } }).node.PollHandle;

/** A failed host call: errno plus the call's name. */
export class UnixSocketError extends Error {
  constructor(readonly errno: number, readonly syscall: string) {
    super(`${syscall} failed: errno ${errno}`);
  }
}

/** struct sockaddr_un for a filesystem path, trimmed to the path's length plus its NUL. */
export function sockaddrUn(path: string): Buffer {
  const p = Buffer.from(path, 'utf8');
  if (p.length >= SUN_PATH_SIZE) throw new UnixSocketError(ENAMETOOLONG, 'sockaddr_un');
  const b = Buffer.alloc(2 + p.length + 1);
  b.writeUInt16LE(AF_UNIX, 0);
  p.copy(b, 2);
  return b;
}

/** struct sockaddr_un for an abstract name (sun_path = "\0" + name), exactly sized. */
export function sockaddrAbstract(name: string): Buffer {
  const p = Buffer.from(name, 'utf8');
  if (p.length + 1 > SUN_PATH_SIZE) throw new UnixSocketError(ENAMETOOLONG, 'sockaddr_un');
  const b = Buffer.alloc(3 + p.length);
  b.writeUInt16LE(AF_UNIX, 0);
  p.copy(b, 3);
  return b;
}

/** Human-readable form of a sockaddr_un: the path, or "@name" for an abstract one. */
export function sockaddrToString(addr: Buffer): string {
  if (addr.length <= 2) return '(unnamed)';
  const path = addr.subarray(2);
  if (path[0] === 0) return '@' + path.subarray(1).toString('latin1').replace(/\0+$/, '');
  const nul = path.indexOf(0);
  return path.subarray(0, nul < 0 ? path.length : nul).toString('utf8');
}

export interface Datagram {
  data: Buffer;
  /** The sender's sockaddr_un as the kernel returned it (length = addrlen). */
  from: Buffer;
}

/** A non-blocking AF_UNIX datagram socket whose readiness is reported by the event loop. */
export class UnixDgramSocket {
  private closed = false;
  private poll: PollHandle | null = null;
  private onReadable: (() => void) | null = null;
  private onWritable: (() => void) | null = null;
  private referenced = true;
  private readonly rxBuf: Buffer;
  private readonly rxAddr = Buffer.alloc(SOCKADDR_UN_SIZE);

  private constructor(readonly fd: number, maxDatagram: number) {
    this.rxBuf = Buffer.alloc(maxDatagram);
  }

  /** socket(AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC); `maxDatagram` bounds one receive. */
  static open(maxDatagram = 4096): UnixDgramSocket {
    const fd = socketRaw(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new UnixSocketError(koffi.errno(), 'socket');
    return new UnixDgramSocket(fd, maxDatagram);
  }

  bind(addr: Buffer): void {
    if (bindRaw(this.fd, addr, addr.length) < 0) throw new UnixSocketError(koffi.errno(), 'bind');
  }

  /** connect(): 0 or the errno. A connected datagram socket polls writable only when its peer has room. */
  connect(addr: Buffer): number {
    return connectRaw(this.fd, addr, addr.length) < 0 ? koffi.errno() : 0;
  }

  /** Send one datagram without blocking: 0, or the errno (EAGAIN when the peer's queue is full). */
  sendTo(data: Buffer, to: Buffer | null): number {
    if (this.closed) return EBADF;
    const n = sendtoRaw(this.fd, data, data.length, MSG_DONTWAIT, to, to ? to.length : 0);
    return n < 0 ? koffi.errno() : 0;
  }

  /** One queued datagram, or null when none is queued. */
  recvFrom(): Datagram | null {
    if (this.closed) return null;
    const alen = [SOCKADDR_UN_SIZE];
    const n = recvfromRaw(this.fd, this.rxBuf, this.rxBuf.length, MSG_DONTWAIT, this.rxAddr, alen);
    if (n < 0) {
      const e = koffi.errno();
      if (e === EAGAIN || e === EINTR) return null;
      throw new UnixSocketError(e, 'recvfrom');
    }
    return {
      data: Buffer.from(this.rxBuf.subarray(0, n)),
      from: Buffer.from(this.rxAddr.subarray(0, Math.min(alen[0], SOCKADDR_UN_SIZE))),
    };
  }

  /** Call `cb` from the event loop whenever datagrams are queued (null stops watching). */
  whenReadable(cb: (() => void) | null): void {
    this.onReadable = cb;
    this.rearm();
  }

  /** Call `cb` once, from the event loop, when a send may succeed again. */
  whenWritable(cb: (() => void) | null): void {
    this.onWritable = cb;
    this.rearm();
  }

  /** Whether a pending watch keeps the process alive (like Node's socket.ref/unref). */
  ref(on = true): void {
    this.referenced = on;
    if (this.poll) { if (on) this.poll.ref(); else this.poll.unref(); }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The poll handle goes first so a reused fd number is never watched by mistake.
    this.poll?.close();
    this.poll = null;
    closeRaw(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private rearm(): void {
    if (this.closed) throw new UnixSocketError(EBADF, 'poll');
    const readable = this.onReadable !== null;
    const writable = this.onWritable !== null;
    if (!readable && !writable) { this.poll?.stop(); return; }
    if (!this.poll) {
      this.poll = new uvPoll(this.fd);
      if (!this.referenced) this.poll.unref();
    }
    this.poll.start({ readable, writable }, (status, ev) => {
      if (this.closed) return;
      if ((ev.writable || status < 0) && this.onWritable) {
        const cb = this.onWritable;
        this.onWritable = null;
        this.rearm();
        cb();
      }
      if ((ev.readable || status < 0) && this.onReadable && !this.closed) this.onReadable();
    });
  }
}
