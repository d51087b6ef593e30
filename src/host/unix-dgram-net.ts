// AF_UNIX SOCK_DGRAM sockets for the network transports (uml_switch's data sockets), which
// Node's own APIs lack. Readiness comes from libuv (koffi.node.poll), so nothing blocks
// and no thread waits: the callback runs on the event loop when a datagram is queued.
//
// Addresses are raw `struct sockaddr_un` bytes (sun_family + 108-byte sun_path), because
// the uml_switch protocol passes them around verbatim, abstract names included.
// TODO(merge): src/host/unix-dgram.ts (mconsole) is the same idea; this one adds connect,
// getsockname, buffer sizes and the POLLOUT-driven send queue (queueTo). Merge them later.
import koffi from 'koffi';
import { EAGAIN, EBADF, EINTR } from '../kernel/abi/errno.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;

/** sizeof(struct sockaddr_un) on Linux. */
export const SOCKADDR_UN_SIZE = 110;

const libc = koffi.load('libc.so.6');
const socketRaw = libc.func('int socket(int domain, int type, int protocol)') as
  (domain: number, type: number, protocol: number) => number;
const connectRaw = libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)') as
  (fd: number, addr: Buffer, len: number) => number;
const bindRaw = libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)') as
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

/** A failed host call: errno plus the call's name, like Node's system errors. */
export class HostSocketError extends Error {
  constructor(readonly errno: number, readonly syscall: string) {
    super(`${syscall} failed: errno ${errno}`);
  }
}

export interface Datagram {
  data: Buffer;
  /** The sender's sockaddr_un as the kernel returned it (length = addrlen). */
  from: Buffer;
}

type PollEvents = { readable: boolean; writable: boolean };
interface PollHandle {
  start(opts: PollEvents, cb: (status: number, ev: PollEvents) => void): void;
  close(): void;
  unref(): void;
  ref(): void;
}
type PollFn = (fd: number, opts: PollEvents, cb: (status: number, ev: PollEvents) => void) => PollHandle;
const uvPoll = (koffi as unknown as { node: { poll: PollFn } }).node.poll;

/** Frames a socket holds for a busy peer before it starts dropping them. */
export const DEFAULT_TX_QUEUE = 1024;

/** A non-blocking AF_UNIX datagram socket driven by the Node event loop. */
export class UnixDgramSocket {
  private closed = false;
  private poll: PollHandle | null = null;
  private rxCb: ((d: Datagram) => void) | null = null;
  private rxErr: ((e: HostSocketError) => void) | undefined;
  private unref = false;
  /** Datagrams waiting for the peer to have room (see queueTo). */
  private readonly txQueue: { data: Buffer; to: Buffer | null }[] = [];
  txQueueLimit = DEFAULT_TX_QUEUE;
  /** Datagrams given up on: queue full, or the peer gone. */
  txDropped = 0;
  private readonly rxBuf: Buffer;
  private readonly rxAddr = Buffer.alloc(SOCKADDR_UN_SIZE);

  private constructor(readonly fd: number, maxDatagram: number) {
    this.rxBuf = Buffer.alloc(maxDatagram);
  }

  /** socket(AF_UNIX, SOCK_DGRAM): `maxDatagram` bounds what one receive can return. */
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
   * connect() to a peer. Besides fixing the destination, this is what makes POLLOUT mean
   * "the peer has room" for AF_UNIX datagrams, so queueTo can wait instead of spinning.
   */
  connect(addr: Buffer): void {
    if (connectRaw(this.fd, addr, addr.length) < 0) throw new HostSocketError(koffi.errno(), 'connect');
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
   * Send one datagram without blocking. Returns 0 on success or the errno (EAGAIN when
   * the peer's queue is full, ECONNREFUSED/ENOENT when the peer is gone): a network may
   * drop a frame, so callers decide; nothing here throws for a lost frame.
   */
  sendTo(data: Buffer, to: Buffer): number {
    if (this.closed) return EBADF;
    const n = sendtoRaw(this.fd, data, data.length, MSG_DONTWAIT, to, to.length);
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
    const e = this.rawSend(data, to);
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

  private rawSend(data: Buffer, to: Buffer | null): number {
    const n = to === null
      ? sendtoRaw(this.fd, data, data.length, MSG_DONTWAIT, null, 0)
      : sendtoRaw(this.fd, data, data.length, MSG_DONTWAIT, to, to.length);
    return n < 0 ? koffi.errno() : 0;
  }

  private flushTx(): void {
    while (this.txQueue.length > 0 && !this.closed) {
      const { data, to } = this.txQueue[0];
      const e = this.rawSend(data, to);
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

  /**
   * Call `cb` for every datagram that arrives, from the event loop. Errors of the receive
   * go to `onError` (the socket stays open; the owner decides).
   */
  onDatagram(cb: (d: Datagram) => void, onError?: (e: HostSocketError) => void): void {
    if (this.closed) throw new HostSocketError(EBADF, 'poll');
    this.rxCb = cb;
    this.rxErr = onError;
    this.rearm();
  }

  /** (Re)start libuv polling for what is wanted now: datagrams, and room while queued. */
  private rearm(): void {
    if (this.closed) return;
    const want = { readable: this.rxCb !== null, writable: this.txQueue.length > 0 };
    if (!want.readable && !want.writable) {
      this.poll?.close();
      this.poll = null;
      return;
    }
    const handler = (status: number, ev: PollEvents): void => this.onPoll(status, ev);
    if (this.poll === null) {
      this.poll = uvPoll(this.fd, want, handler);
      if (this.unref) this.poll.unref();
    } else {
      this.poll.start(want, handler);
    }
  }

  private onPoll(status: number, ev: PollEvents): void {
    if (status < 0) {
      this.rxErr?.(new HostSocketError(-status, 'poll'));
      return;
    }
    if (ev.writable && this.txQueue.length > 0) {
      this.flushTx();
      if (this.txQueue.length === 0) this.rearm();
    }
    if (!ev.readable || this.rxCb === null) return;
    // Drain a bounded batch; libuv polls level-triggered, so leftovers call back again
    // and one busy socket cannot starve the rest of the loop.
    for (let i = 0; i < 64 && !this.closed; i++) {
      let d: Datagram | null;
      try {
        d = this.recvFrom();
      } catch (e) {
        if (e instanceof HostSocketError) { this.rxErr?.(e); return; }
        throw e;
      }
      if (d === null) return;
      this.rxCb(d);
    }
  }

  /** Keep (ref) or stop keeping (unref) the process alive while receiving. */
  keepAlive(on: boolean): void {
    this.unref = !on;
    if (on) this.poll?.ref(); else this.poll?.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Stop polling before the fd number can be reused.
    this.poll?.close();
    this.poll = null;
    this.txQueue.length = 0;
    closeRaw(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
