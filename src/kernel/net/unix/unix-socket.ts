// AF_UNIX sockets (net/unix/af_unix.c): SOCK_STREAM, SOCK_SEQPACKET and SOCK_DGRAM over
// in-kernel queues. A message (skb) carries its bytes, the sender's credentials and any
// SCM_RIGHTS files; stream reads cross message boundaries except where files ride.
import { Errno } from '../../errno.js';
import {
  EAGAIN, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, ECONNREFUSED, EPROTOTYPE, EPIPE, EADDRINUSE,
  EMSGSIZE, EPERM, ECONNRESET, ENOPROTOOPT,
} from '../../abi/errno.js';
import {
  AF_UNIX, AF_UNSPEC, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, MSG_PEEK, MSG_TRUNC, SOMAXCONN,
  SOL_SOCKET, SO_PEERCRED, SO_SNDBUF,
} from '../../abi/socket.js';
import { POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM, POLLRDHUP, type File } from '../../fs/file.js';
import { EPOLLWRBAND, FIONREAD, SIOCOUTQ } from '../../abi/event.js';
import type { Task } from '../../task/task.js';
import { Socket, ucredOf, wantsSigpipe, type SendRequest, type RecvResult, type UCred } from '../socket.js';
import {
  parseSockaddrUn, formatSockaddrUn, abstractKey, namespaceOf, createSocketInode, findSocketInode,
  type UnixName, type UnixNamespace, type ParsedAddr,
} from './address.js';
import { notify } from '../../event/notify.js';
import { progressOf, setProgress, clearProgress } from '../../ipc/progress.js';
import { raiseSigpipe } from '../../ipc/sigpipe.js';

const RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2, SHUTDOWN_MASK = 3;
const ALL_EVENTS = POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM | POLLRDHUP;
/** net.unix.max_dgram_qlen: queue length of an unconnected receiver before senders wait. */
export const MAX_DGRAM_QLEN = 10;
/** What SCM_CREDENTIALS reports for a message sent without credentials. */
const NO_CRED: UCred = { pid: 0, uid: 65534, gid: 65534 };

interface Skb {
  data: Buffer;
  /** Bytes of data already read (streams read messages piecemeal). */
  off: number;
  rights: File[] | null;
  cred: UCred | null;
  sender: UnixSocket;
}

function releaseRights(files: File[] | null): void {
  if (files) for (const f of files) f.unref();
}

function sameCred(a: UCred | null, b: UCred | null): boolean {
  return a === b || (!!a && !!b && a.pid === b.pid && a.uid === b.uid && a.gid === b.gid);
}

export class UnixSocket extends Socket {
  readonly family = AF_UNIX;
  state: 'unconnected' | 'listening' | 'connected' = 'unconnected';
  name: UnixName | null = null;
  peer: UnixSocket | null = null;
  /** The receive queue and its size in bytes. */
  readonly queue: Skb[] = [];
  queued = 0;
  /** Bytes this socket sent that still sit in some receive queue (sk_wmem_alloc). */
  wmem = 0;
  shut = 0;
  dead = false;
  /** SO_PEERCRED: the peer's credentials when the connection was made. */
  peerCred: UCred | null = null;
  /** A listener's own credentials at listen(2), handed to connecting clients. */
  listenCred: UCred | null = null;
  readonly acceptQueue: UnixSocket[] = [];
  backlog = MAX_DGRAM_QLEN;
  /** Sockets waiting for room in this socket's queue (or accept queue). */
  readonly roomWaiters = new Set<UnixSocket>();

  constructor(readonly ns: UnixNamespace<UnixSocket>, type: number, flags: number, uid = 0, gid = 0) {
    super(type, 0, flags);
    this.uid = uid;
    this.gid = gid;
  }

  static create(t: Task, type: number, flags: number): UnixSocket {
    return new UnixSocket(namespaceOf<UnixSocket>(t), type, flags, t.cred.fsuid, t.cred.fsgid);
  }

  /** socketpair(2): two connected sockets. */
  static pair(t: Task, type: number, flags: number): [UnixSocket, UnixSocket] {
    const a = UnixSocket.create(t, type, flags), b = UnixSocket.create(t, type, flags);
    a.peer = b;
    b.peer = a;
    if (type !== SOCK_DGRAM) a.state = b.state = 'connected';
    a.peerCred = ucredOf(t);
    b.peerCred = ucredOf(t);
    return [a, b];
  }

  get connectionOriented(): boolean {
    return this.type !== SOCK_DGRAM;
  }

  override isListening(): boolean {
    return this.state === 'listening';
  }

  // ---- names ----

  private autobind(): void {
    if (this.name) return;
    const n = this.ns.autobindName();
    this.name = n;
    this.ns.abstract.set(n.key, this);
  }

  override bind(t: Task, raw: Buffer): void {
    const a = parseSockaddrUn(raw);
    if (this.name) throw new Errno(EINVAL);
    if (a.kind === 'autobind') return this.autobind();
    if (a.kind === 'abstract') {
      const key = abstractKey(a.bytes);
      if (this.ns.abstract.has(key)) throw new Errno(EADDRINUSE);
      this.name = { kind: 'abstract', bytes: a.bytes, key };
      this.ns.abstract.set(key, this);
      return;
    }
    const key = 'i:' + createSocketInode(t, a.path);
    if (this.name) throw new Errno(EINVAL);
    this.name = { kind: 'path', bytes: a.bytes, key };
    this.ns.byInode.set(key, this);
  }

  /** The socket bound to a name, or ECONNREFUSED. */
  private lookup(t: Task, a: ParsedAddr): UnixSocket {
    let s: UnixSocket | undefined;
    if (a.kind === 'abstract') s = this.ns.abstract.get(abstractKey(a.bytes));
    else if (a.kind === 'path') s = this.ns.byInode.get('i:' + findSocketInode(t, a.path));
    else throw new Errno(EINVAL);
    if (!s || s.dead) throw new Errno(ECONNREFUSED);
    return s;
  }

  override getsockname(): Buffer {
    return formatSockaddrUn(this.name);
  }
  override getpeername(): Buffer {
    if (!this.peer || (this.connectionOriented && this.state !== 'connected')) throw new Errno(ENOTCONN);
    return formatSockaddrUn(this.peer.name);
  }

  // ---- connections ----

  override listen(t: Task, backlog: number): void {
    if (this.type === SOCK_DGRAM) throw new Errno(EOPNOTSUPP);
    if (this.state === 'connected' || !this.name) throw new Errno(EINVAL);
    this.backlog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.state = 'listening';
    this.listenCred = ucredOf(t);
    this.wakeRoomWaiters();
  }

  override connect(t: Task, raw: Buffer, _nonblock: boolean): void {
    if (!this.connectionOriented) return this.connectDgram(t, raw);
    if (this.state === 'connected') throw new Errno(EISCONN);
    if (this.state === 'listening') throw new Errno(EINVAL);
    const a = parseSockaddrUn(raw);
    if (a.kind === 'autobind') throw new Errno(EINVAL);
    const target = this.lookup(t, a);
    if (target.type !== this.type) throw new Errno(EPROTOTYPE);
    if (target.state !== 'listening') throw new Errno(ECONNREFUSED);
    if (target.acceptQueue.length > target.backlog) {
      target.roomWaiters.add(this);
      throw new Errno(EAGAIN);
    }
    if (this.opts.passcred) this.autobind();
    // The server side is born now and waits in the accept queue; the client may already send.
    const srv = new UnixSocket(this.ns, this.type, this.flags, target.uid, target.gid);
    srv.name = target.name;
    srv.state = 'connected';
    srv.peer = this;
    srv.peerCred = ucredOf(t);
    srv.opts.passcred = target.opts.passcred;
    this.peer = srv;
    this.state = 'connected';
    this.peerCred = target.listenCred;
    target.acceptQueue.push(srv);
    notify(target, POLLIN | POLLRDNORM);
    notify(this, POLLOUT | POLLWRNORM);
  }

  private connectDgram(t: Task, raw: Buffer): void {
    if (raw.length >= 2 && raw.readUInt16LE(0) === AF_UNSPEC) {
      this.peer = null;
      return;
    }
    const a = parseSockaddrUn(raw);
    if (a.kind === 'autobind') throw new Errno(EINVAL);
    const target = this.lookup(t, a);
    if (target.type !== this.type) throw new Errno(EPROTOTYPE);
    if (this.opts.passcred) this.autobind();
    this.peer = target;
    this.peerCred = ucredOf(t);
  }

  override accept(_t: Task, _nonblock: boolean): UnixSocket {
    if (this.type === SOCK_DGRAM) throw new Errno(EOPNOTSUPP);
    if (this.state !== 'listening') throw new Errno(EINVAL);
    const s = this.acceptQueue.shift();
    if (!s) throw new Errno(EAGAIN);
    this.wakeRoomWaiters();
    return s;
  }

  override shutdown(_t: Task, how: number): void {
    if (how < 0 || how > 2) throw new Errno(EINVAL);
    const mode = (how + 1) & SHUTDOWN_MASK;
    this.shut |= mode;
    notify(this, ALL_EVENTS);
    const p = this.peer;
    if (p && this.connectionOriented) {
      p.shut |= (mode & RCV_SHUTDOWN ? SEND_SHUTDOWN : 0) | (mode & SEND_SHUTDOWN ? RCV_SHUTDOWN : 0);
      notify(p, ALL_EVENTS);
    }
  }

  // ---- data ----

  private credFor(t: Task, req: SendRequest, to: UnixSocket): UCred | null {
    if (req.creds) return req.creds;
    return this.opts.passcred || to.opts.passcred ? ucredOf(t) : null;
  }

  private enqueue(to: UnixSocket, skb: Skb): void {
    to.queue.push(skb);
    to.queued += skb.data.length;
    this.wmem += skb.data.length;
    notify(to, POLLIN | POLLRDNORM);
  }

  override sendmsg(t: Task, req: SendRequest): number {
    try {
      return this.connectionOriented && this.type === SOCK_STREAM ? this.sendStream(t, req) : this.sendDgram(t, req);
    } catch (e) {
      // Files not attached to a message go back (a re-run gathers them again).
      releaseRights(req.rights);
      req.rights = null;
      throw e;
    }
  }

  private pipeError(t: Task, req: SendRequest, sent: number): never {
    if (sent === 0 && wantsSigpipe(req.flags)) raiseSigpipe(t);
    throw new Errno(EPIPE);
  }

  private sendStream(t: Task, req: SendRequest): number {
    if (req.addr && req.addr.length) throw new Errno(this.state === 'connected' ? EISCONN : EOPNOTSUPP);
    if (this.state !== 'connected' || !this.peer) throw new Errno(ENOTCONN);
    const total = req.data.length;
    const done = req.nonblock ? 0 : progressOf(t, total);
    const peer = this.peer;
    if (this.shut & SEND_SHUTDOWN || peer.dead || peer.shut & RCV_SHUTDOWN) {
      clearProgress(t);
      if (done > 0) return done;
      this.pipeError(t, req, done);
    }
    if (done > 0) {
      releaseRights(req.rights);
      req.rights = null;
    }
    if (total === 0) {
      releaseRights(req.rights);
      req.rights = null;
      return 0;
    }
    const room = this.opts.sndbuf - this.wmem;
    const n = Math.max(0, Math.min(room, total - done));
    if (n > 0) {
      this.enqueue(peer, { data: Buffer.from(req.data.subarray(done, done + n)), off: 0, rights: req.rights, cred: this.credFor(t, req, peer), sender: this });
      req.rights = null;
    }
    const moved = done + n;
    if (moved === total) {
      clearProgress(t);
      return total;
    }
    if (req.nonblock) {
      if (moved === 0) throw new Errno(EAGAIN);
      return moved;
    }
    setProgress(t, total, moved);
    throw new Errno(EAGAIN);
  }

  private sendDgram(t: Task, req: SendRequest): number {
    if (this.type === SOCK_SEQPACKET) {
      if (this.state !== 'connected') throw new Errno(ENOTCONN);
      req.addr = null; // ignored, as Linux does
    }
    const err = this.takeError();
    if (err) throw new Errno(err);
    const len = req.data.length;
    if (len > this.opts.sndbuf - 32) throw new Errno(EMSGSIZE);
    if (this.shut & SEND_SHUTDOWN) this.pipeError(t, req, 0);
    let target: UnixSocket;
    if (req.addr && req.addr.length) target = this.lookup(t, parseSockaddrUn(req.addr));
    else if (this.peer) target = this.peer;
    else throw new Errno(ENOTCONN);
    if (this.opts.passcred) this.autobind();
    if (target.dead) {
      if (this.type === SOCK_SEQPACKET) this.pipeError(t, req, 0);
      if (target === this.peer) this.peer = null;
      throw new Errno(ECONNREFUSED);
    }
    if (target.type !== this.type) throw new Errno(EPROTOTYPE);
    if (this.type === SOCK_DGRAM && target.peer && target.peer !== this && !target.peer.dead) throw new Errno(EPERM);
    if (target.shut & RCV_SHUTDOWN) this.pipeError(t, req, 0);
    // An unconnected receiver's queue is bounded by count; every sender by its buffer.
    if ((target.peer !== this && target.queue.length > target.backlog) || (this.wmem > 0 && this.wmem + len > this.opts.sndbuf)) {
      target.roomWaiters.add(this);
      throw new Errno(EAGAIN);
    }
    this.enqueue(target, { data: Buffer.from(req.data), off: 0, rights: req.rights, cred: this.credFor(t, req, target), sender: this });
    req.rights = null;
    return len;
  }

  /** Takes bytes out of the queue: the sender gets its buffer space back. */
  private consumed(skb: Skb, n: number): void {
    this.queued -= n;
    skb.sender.wmem -= n;
    notify(skb.sender, POLLOUT | POLLWRNORM);
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.size === 0) return;
    const ws = [...this.roomWaiters];
    this.roomWaiters.clear();
    for (const w of ws) notify(w, POLLOUT | POLLWRNORM);
  }

  /** Nothing queued: the error, end of file, or EAGAIN. */
  private emptyRead(): RecvResult {
    const err = this.takeError();
    if (err) throw new Errno(err);
    if (this.shut & RCV_SHUTDOWN) return { data: Buffer.alloc(0), fullLength: 0, addr: null, rights: null, creds: null, flags: 0, eof: true };
    throw new Errno(EAGAIN);
  }

  override recvmsg(_t: Task, len: number, flags: number, _nonblock: boolean): RecvResult {
    if (this.type === SOCK_STREAM) return this.recvStream(len, flags);
    if (this.type === SOCK_SEQPACKET && this.state !== 'connected') throw new Errno(this.state === 'listening' ? EINVAL : ENOTCONN);
    const skb = this.queue[0];
    if (!skb) return this.emptyRead();
    const peek = (flags & MSG_PEEK) !== 0;
    const full = skb.data.length;
    const n = Math.min(len, full);
    const data = Buffer.from(skb.data.subarray(0, n));
    let rights = skb.rights;
    if (peek) rights = rights ? rights.map((f) => f.ref()) : null;
    else {
      this.queue.shift();
      this.consumed(skb, full);
    }
    return {
      data, fullLength: full, addr: skb.sender.name ? formatSockaddrUn(skb.sender.name) : Buffer.alloc(0),
      rights, creds: this.opts.passcred ? skb.cred ?? NO_CRED : null, flags: full > len ? MSG_TRUNC : 0,
    };
  }

  private recvStream(len: number, flags: number): RecvResult {
    if (this.state !== 'connected') throw new Errno(EINVAL);
    if (this.queue.length === 0) return this.emptyRead();
    const peek = (flags & MSG_PEEK) !== 0;
    const first = this.queue[0]!;
    const parts: Buffer[] = [];
    let copied = 0;
    let rights: File[] | null = null;
    const creds = first.cred;
    let i = 0;
    while (copied < len && i < this.queue.length) {
      const skb = this.queue[i]!;
      // Files, and (under SO_PASSCRED) a change of sender, end a read.
      if (copied > 0 && (skb.rights || (this.opts.passcred && !sameCred(skb.cred, creds)))) break;
      const k = Math.min(len - copied, skb.data.length - skb.off);
      parts.push(skb.data.subarray(skb.off, skb.off + k));
      copied += k;
      if (skb.rights) {
        rights = peek ? skb.rights.map((f) => f.ref()) : skb.rights;
        if (!peek) skb.rights = null;
      }
      if (!peek) {
        skb.off += k;
        if (skb.off === skb.data.length) {
          this.queue.splice(i, 1);
          i--;
        }
        this.consumed(skb, k);
      }
      i++;
      if (rights) break;
    }
    const data = Buffer.concat(parts, copied);
    return {
      data, fullLength: copied, addr: first.sender.name ? formatSockaddrUn(first.sender.name) : Buffer.alloc(0),
      rights, creds: this.opts.passcred ? creds ?? NO_CRED : null, flags: 0,
    };
  }

  /** FIONREAD/SIOCINQ: bytes readable (streams) or the next datagram's size. */
  inq(): number {
    if (this.type === SOCK_STREAM) return this.queued;
    return this.queue[0]?.data.length ?? 0;
  }
  outq(): number {
    return this.wmem;
  }

  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) t.mem.writeI32(arg, this.state === 'listening' ? 0 : this.inq());
    else if (req === SIOCOUTQ) t.mem.writeI32(arg, this.outq());
    else return super.ioctl(t, req, arg);
    return 0;
  }

  // ---- options ----

  override getsockopt(t: Task, level: number, name: number): Buffer {
    if (level === SOL_SOCKET && name === SO_PEERCRED) {
      const c = this.peerCred;
      const b = Buffer.alloc(12);
      b.writeInt32LE(c?.pid ?? 0, 0);
      b.writeInt32LE(c ? c.uid : -1, 4);
      b.writeInt32LE(c ? c.gid : -1, 8);
      return b;
    }
    if (level !== SOL_SOCKET && level !== 0) throw new Errno(ENOPROTOOPT);
    return super.getsockopt(t, level, name);
  }

  protected override afterSetOption(name: number): void {
    if (name === SO_SNDBUF) notify(this, POLLOUT | POLLWRNORM);
  }

  // ---- readiness ----

  override poll(): number {
    let mask = 0;
    if (this.state === 'listening') return this.acceptQueue.length ? POLLIN | POLLRDNORM : 0;
    if (this.error) mask |= POLLERR;
    if (this.shut === SHUTDOWN_MASK) mask |= POLLHUP;
    if (this.shut & RCV_SHUTDOWN) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (this.queue.length) mask |= POLLIN | POLLRDNORM;
    if (this.connectionOriented && this.state === 'unconnected') mask |= POLLHUP;
    let writable = this.wmem * 4 <= this.opts.sndbuf;
    const other = this.peer;
    if (writable && this.type === SOCK_DGRAM && other && other.peer !== this && other.queue.length > other.backlog) {
      writable = false;
      other.roomWaiters.add(this);
    }
    if (writable) mask |= POLLOUT | POLLWRNORM | EPOLLWRBAND;
    return mask;
  }

  // ---- close ----

  protected override release(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.name) {
      const m = this.name.kind === 'path' ? this.ns.byInode : this.ns.abstract;
      if (m.get(this.name.key) === this) m.delete(this.name.key);
    }
    // Connections nobody accepted die with their listener: their clients see a reset.
    for (const embryo of this.acceptQueue.splice(0)) {
      const client = embryo.peer;
      if (client) {
        client.shut = SHUTDOWN_MASK;
        client.error = ECONNRESET;
        notify(client, ALL_EVENTS);
      }
      embryo.dead = true;
      embryo.purge();
    }
    const p = this.peer;
    if (p && this.connectionOriented) {
      p.shut = SHUTDOWN_MASK;
      if (this.queue.length) p.error = ECONNRESET;
      notify(p, ALL_EVENTS);
    }
    this.purge();
    this.wakeRoomWaiters();
  }

  private purge(): void {
    for (const skb of this.queue.splice(0)) {
      releaseRights(skb.rights);
      skb.sender.wmem -= skb.data.length - skb.off;
      notify(skb.sender, POLLOUT | POLLWRNORM);
    }
    this.queued = 0;
  }
}
