// AF_UNIX SOCK_DGRAM sockets for the network transports (uml_switch's data sockets), which
// Node's own APIs lack. Readiness comes from libuv (koffi.node.poll), so nothing blocks
// and no thread waits: the callback runs on the event loop when a datagram is queued.
//
// Addresses are raw `struct sockaddr_un` bytes (sun_family + 108-byte sun_path), because
// the uml_switch protocol passes them around verbatim, abstract names included.
// TODO(merge): src/host/unix-dgram.ts (mconsole) may grow the same thing; merge then.
import koffi from 'koffi';
import { EAGAIN, EBADF, EINTR, ENAMETOOLONG } from '../kernel/abi/errno.js';

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
const SUN_PATH_SIZE = 108;

const libc = koffi.load('libc.so.6');
const socketRaw = libc.func('int socket(int domain, int type, int protocol)') as
  (domain: number, type: number, protocol: number) => number;
const bindRaw = libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)') as
  (fd: number, addr: Buffer, len: number) => number;
const sendtoRaw = libc.func(
  'intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t alen)') as
  (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number;
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

/** Build a struct sockaddr_un (110 bytes) for a filesystem path. */
export function sockaddrUnPath(path: string): Buffer {
  const b = Buffer.alloc(SOCKADDR_UN_SIZE);
  b.writeUInt16LE(AF_UNIX, 0);
  const n = b.write(path, 2, SUN_PATH_SIZE - 1, 'utf8');
  if (Buffer.byteLength(path) !== n) throw new HostSocketError(ENAMETOOLONG, 'sockaddr_un');
  return b;
}

/** Build a struct sockaddr_un (110 bytes) whose sun_path is `path` (an abstract name if it starts with 0). */
export function sockaddrUnRaw(path: Buffer): Buffer {
  const b = Buffer.alloc(SOCKADDR_UN_SIZE);
  b.writeUInt16LE(AF_UNIX, 0);
  path.copy(b, 2, 0, Math.min(path.length, SUN_PATH_SIZE));
  return b;
}

export interface Datagram {
  data: Buffer;
  /** The sender's sockaddr_un as the kernel returned it (length = addrlen). */
  from: Buffer;
}

interface PollHandle {
  close(): void;
  unref(): void;
  ref(): void;
}
type PollFn = (fd: number, opts: { readable: boolean }, cb: (status: number, ev: { readable: boolean }) => void) => PollHandle;
const uvPoll = (koffi as unknown as { node: { poll: PollFn } }).node.poll;

/** A non-blocking AF_UNIX datagram socket driven by the Node event loop. */
export class UnixDgramSocket {
  private closed = false;
  private poll: PollHandle | null = null;
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
    this.poll?.close();
    this.poll = uvPoll(this.fd, { readable: true }, (status) => {
      if (status < 0) {
        onError?.(new HostSocketError(-status, 'poll'));
        return;
      }
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
    });
  }

  /** Keep (ref) or stop keeping (unref) the process alive while receiving. */
  keepAlive(on: boolean): void {
    if (on) this.poll?.ref(); else this.poll?.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Stop polling before the fd number can be reused.
    this.poll?.close();
    this.poll = null;
    closeRaw(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
