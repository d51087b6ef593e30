// AF_UNIX SOCK_DGRAM sockets (Node has none), for mconsole and for the network transports
// (uml_switch's data sockets). Calls go through koffi; readiness comes from libuv
// (koffi.node.PollHandle), so the event loop wakes us when a datagram is queued or a full
// peer drains — no thread blocks and nothing polls with a sleep.
//
// Addresses are raw `struct sockaddr_un` bytes, exactly as recvfrom() returned them:
// mconsole replies go back to the request's origin verbatim (uml_mconsole binds an abstract
// name whose length is the whole 110-byte struct), and the uml_switch protocol passes
// addresses around verbatim, abstract names included.
import koffi from 'koffi';
import { EAGAIN, EBADF, EINTR, ENAMETOOLONG } from '../kernel/abi/errno.js';
import {
  AF_UNIX, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCKADDR_UN_SIZE, SOL_SOCKET, SO_RCVBUF,
  SO_SNDBUF, SUN_PATH_OFFSET,
} from '../kernel/abi/socket.js';

export { SOCKADDR_UN_SIZE };
const SUN_PATH_SIZE = SOCKADDR_UN_SIZE - SUN_PATH_OFFSET;

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
const getsocknameRaw = libc.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *alen)') as
  (fd: number, addr: Buffer, alen: number[]) => number;
const setsockoptInt = libc.func('int setsockopt(int fd, int level, int name, const int *val, uint32_t len)') as
  (fd: number, level: number, name: number, val: number[], len: number) => number;
const closeRaw = libc.func('int close(int fd)') as (fd: number) => number;

interface PollEvents { readable: boolean; writable: boolean; disconnect: boolean }
interface PollHandle {
  start(opts: { readable: boolean; writable: boolean }, cb: (status: number, ev: PollEvents) => void): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}
// koffi's typings omit the status argument libuv passes first; this is what it really calls.
const uvPoll = (koffi as unknown as { node: { PollHandle: new (fd: number) => PollHandle } }).node.PollHandle;

/** A failed host call: errno plus the call's name, like Node's system errors. */
export class HostSocketError extends Error {
  constructor(readonly errno: number, readonly syscall: string) {
    super(`${syscall} failed: errno ${errno}`);
  }
}

/** struct sockaddr_un for a filesystem path, trimmed to the path's length plus its NUL. */
export function sockaddrUn(path: string): Buffer {
  const p = Buffer.from(path, 'utf8');
  if (p.length >= SUN_PATH_SIZE) throw new HostSocketError(ENAMETOOLONG, 'sockaddr_un');
  const b = Buffer.alloc(SUN_PATH_OFFSET + p.length + 1);
  b.writeUInt16LE(AF_UNIX, 0);
  p.copy(b, SUN_PATH_OFFSET);
  return b;
}

/** struct sockaddr_un for an abstract name (sun_path = "\0" + name), exactly sized. */
export function sockaddrAbstract(name: string): Buffer {
  const p = Buffer.from(name, 'utf8');
  if (p.length + 1 > SUN_PATH_SIZE) throw new HostSocketError(ENAMETOOLONG, 'sockaddr_un');
  const b = Buffer.alloc(SUN_PATH_OFFSET + 1 + p.length);
  b.writeUInt16LE(AF_UNIX, 0);
  p.copy(b, SUN_PATH_OFFSET + 1);
  return b;
}

/** Human-readable form of a sockaddr_un: the path, or "@name" for an abstract one. */
export function sockaddrToString(addr: Buffer): string {
  if (addr.length <= SUN_PATH_OFFSET) return '(unnamed)';
  const path = addr.subarray(SUN_PATH_OFFSET);
  if (path[0] === 0) return '@' + path.subarray(1).toString('latin1').replace(/\0+$/, '');
  const nul = path.indexOf(0);
  return path.subarray(0, nul < 0 ? path.length : nul).toString('utf8');
}

export interface Datagram {
  data: Buffer;
  /** The sender's sockaddr_un as the kernel returned it (length = addrlen). */
  from: Buffer;
}

/** Frames a socket holds for a busy peer before it starts dropping them (see queueTo). */
export const DEFAULT_TX_QUEUE = 1024;

/** A non-blocking AF_UNIX datagram socket whose readiness is reported by the event loop. */
export class UnixDgramSocket {
  private closed = false;
  private poll: PollHandle | null = null;
  /** Called with libuv's status (negative: the poll failed) when datagrams may be queued. */
  private onReadable: ((status: number) => void) | null = null;
  private onWritable: (() => void) | null = null;
  private referenced = true;
  /** Datagrams waiting for the peer to have room (see queueTo). */
  private readonly txQueue: { data: Buffer; to: Buffer | null }[] = [];
  txQueueLimit = DEFAULT_TX_QUEUE;
  /** Datagrams queueTo gave up on: queue full, or the peer gone. */
  txDropped = 0;
  private readonly rxBuf: Buffer;
  private readonly rxAddr = Buffer.alloc(SOCKADDR_UN_SIZE);

  private constructor(readonly fd: number, maxDatagram: number) {
    this.rxBuf = Buffer.alloc(maxDatagram);
  }

  /** socket(AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC); `maxDatagram` bounds one receive. */
  static open(maxDatagram = 65536): UnixDgramSocket {
    const fd = socketRaw(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new HostSocketError(koffi.errno(), 'socket');
    return new UnixDgramSocket(fd, maxDatagram);
  }

  /** bind() with exactly `addr.length` bytes of address (uml_switch peers use all 110). */
  bind(addr: Buffer): void {
    if (bindRaw(this.fd, addr, addr.length) < 0) throw new HostSocketError(koffi.errno(), 'bind');
  }

  /**
   * connect(): 0 or the errno. Besides fixing the destination, this is what makes "writable"
   * mean "the peer has room" for AF_UNIX datagrams, so whenWritable and queueTo can wait
   * instead of spinning.
   */
  connect(addr: Buffer): number {
    return connectRaw(this.fd, addr, addr.length) < 0 ? koffi.errno() : 0;
  }

  /** The bound address, as getsockname() reports it. */
  address(): Buffer {
    const b = Buffer.alloc(SOCKADDR_UN_SIZE);
    const len = [SOCKADDR_UN_SIZE];
    if (getsocknameRaw(this.fd, b, len) < 0) throw new HostSocketError(koffi.errno(), 'getsockname');
    return b.subarray(0, len[0]);
  }

  setBufferSizes(bytes: number): void {
    setsockoptInt(this.fd, SOL_SOCKET, SO_SNDBUF, [bytes], 4);
    setsockoptInt(this.fd, SOL_SOCKET, SO_RCVBUF, [bytes], 4);
  }

  /**
   * Send one datagram without blocking; `to` null means the connected peer. Returns 0 or
   * the errno (EAGAIN when the peer's queue is full, ECONNREFUSED/ENOENT when the peer is
   * gone): a lost datagram is the caller's to judge, so nothing here throws for one.
   */
  sendTo(data: Buffer, to: Buffer | null): number {
    if (this.closed) return EBADF;
    const n = sendtoRaw(this.fd, data, data.length, MSG_DONTWAIT, to, to ? to.length : 0);
    return n < 0 ? koffi.errno() : 0;
  }

  /**
   * Send, or if the peer is busy (EAGAIN) keep the datagram and send it when the socket
   * turns writable, in order; `to` null means the connected peer. Only a connected socket
   * gets a meaningful writable signal. Beyond txQueueLimit datagrams are dropped, like a
   * switch's full buffer. Returns false when this datagram was dropped.
   */
  queueTo(data: Buffer, to: Buffer | null): boolean {
    if (this.closed) return false;
    if (this.txQueue.length > 0) {
      if (this.txQueue.length >= this.txQueueLimit) { this.txDropped++; return false; }
      this.txQueue.push({ data, to });
      return true;
    }
    const e = this.sendTo(data, to);
    if (e === 0) return true;
    if (e === EAGAIN) {
      this.txQueue.push({ data, to });
      this.rearm();
      return true;
    }
    this.txDropped++;
    return false;
  }

  get txQueued(): number {
    return this.txQueue.length;
  }

  private flushTx(): void {
    while (this.txQueue.length > 0 && !this.closed) {
      const { data, to } = this.txQueue[0];
      const e = this.sendTo(data, to);
      if (e === EAGAIN) return;
      if (e !== 0) this.txDropped++;
      this.txQueue.shift();
    }
  }

  /** One queued datagram, or null when none is queued. */
  recvFrom(): Datagram | null {
    if (this.closed) return null;
    const alen = [SOCKADDR_UN_SIZE];
    const n = recvfromRaw(this.fd, this.rxBuf, this.rxBuf.length, MSG_DONTWAIT, this.rxAddr, alen);
    if (n < 0) {
      const e = koffi.errno();
      if (e === EAGAIN || e === EINTR) return null;
      throw new HostSocketError(e, 'recvfrom');
    }
    return {
      data: Buffer.from(this.rxBuf.subarray(0, n)),
      from: Buffer.from(this.rxAddr.subarray(0, Math.min(alen[0], SOCKADDR_UN_SIZE))),
    };
  }

  /** Call `cb` from the event loop whenever datagrams are queued (null stops watching). */
  whenReadable(cb: (() => void) | null): void {
    if (this.closed) throw new HostSocketError(EBADF, 'poll');
    this.onReadable = cb && (() => cb());
    this.rearm();
  }

  /** Call `cb` once, from the event loop, when a send may succeed again. */
  whenWritable(cb: (() => void) | null): void {
    if (this.closed) throw new HostSocketError(EBADF, 'poll');
    this.onWritable = cb;
    this.rearm();
  }

  /**
   * Call `cb` for every datagram that arrives, from the event loop. Errors of the receive
   * go to `onError` (the socket stays open; the owner decides).
   */
  onDatagram(cb: (d: Datagram) => void, onError?: (e: HostSocketError) => void): void {
    if (this.closed) throw new HostSocketError(EBADF, 'poll');
    this.onReadable = (status) => {
      if (status < 0) { onError?.(new HostSocketError(-status, 'poll')); return; }
      // Drain a bounded batch; libuv polls level-triggered, so leftovers call back again
      // and one busy socket cannot starve the rest of the loop.
      for (let i = 0; i < 64 && !this.closed; i++) {
        let d: Datagram | null;
        try {
          d = this.recvFrom();
        } catch (e) {
          if (e instanceof HostSocketError) { onError?.(e); return; }
          throw e;
        }
        if (d === null) return;
        cb(d);
      }
    };
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
    this.txQueue.length = 0;
    closeRaw(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** (Re)start libuv polling for what is wanted now: datagrams, room for a waiter or the queue. */
  private rearm(): void {
    if (this.closed) return;
    const readable = this.onReadable !== null;
    const writable = this.onWritable !== null || this.txQueue.length > 0;
    if (!readable && !writable) { this.poll?.stop(); return; }
    if (!this.poll) {
      this.poll = new uvPoll(this.fd);
      if (!this.referenced) this.poll.unref();
    }
    this.poll.start({ readable, writable }, (status, ev) => this.onPoll(status, ev));
  }

  private onPoll(status: number, ev: PollEvents): void {
    if (this.closed) return;
    const failed = status < 0;
    if ((ev.writable || failed) && this.onWritable) {
      const cb = this.onWritable;
      this.onWritable = null;
      this.rearm();
      cb();
      if (this.closed) return;
    }
    if (ev.writable && !failed && this.txQueue.length > 0) {
      this.flushTx();
      if (this.txQueue.length === 0) this.rearm();
    }
    if ((ev.readable || failed) && this.onReadable) this.onReadable(status);
  }
}
