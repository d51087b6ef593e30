// TCP sockets (net/ipv4/tcp*.c; RFC 9293, 6298, 5681, 6582): the connection state machine,
// send and receive buffers with window management and window scaling, retransmission with
// RTO estimation (Karn + RFC 6298), NewReno fast retransmit/recovery, zero-window probes,
// keepalive, orderly and abortive close, and TIME_WAIT.
import { Errno } from '../../errno.js';
import { EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY, ECONNABORTED, ECONNREFUSED, ECONNRESET, EHOSTUNREACH, EINPROGRESS, EINVAL, EISCONN, ENETUNREACH, ENOENT, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPIPE, ETIMEDOUT } from '../../abi/errno.js';
import {
  IPPROTO_TCP, SOL_TCP, TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
  TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION,
  TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT, TCP_FASTOPEN_CONNECT, TCP_RMEM_DEFAULT, TCP_RMEM_MAX,
  TCP_WMEM_DEFAULT, TCP_WMEM_MAX, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH, ICMP_FRAG_NEEDED,
} from '../../abi/inet.js';
import {
  SOCK_STREAM, MSG_PEEK, MSG_OOB, MSG_TRUNC, MSG_ERRQUEUE, SHUT_RD, SHUT_RDWR, SOMAXCONN, SO_RCVBUF, SO_SNDBUF,
  SO_KEEPALIVE, SO_RCVBUFFORCE, SO_SNDBUFFORCE,
} from '../../abi/socket.js';
import { O_RDWR } from '../../abi/fcntl.js';
import { POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM, POLLRDHUP } from '../../fs/file.js';
import type { Task } from '../../task/task.js';
import { notify } from '../../event/notify.js';
import { monotonicMs } from '../../sched/timers.js';
import { wantsSigpipe, type SendRequest, type RecvResult } from '../socket.js';
import { raiseSigpipe } from '../../ipc/sigpipe.js';
import { progressOf, setProgress, clearProgress } from '../../ipc/progress.js';
import { parseSockaddrIn, formatSockaddrIn, INADDR_ANY, INADDR_LOOPBACK, isMulticast } from './address.js';
import { ipOutput, routeOutput, pathMtu, type IpPacket } from './ip.js';
import { InetSocket, int, optInt } from './inet-socket.js';
import { ByteQueue } from '../../lib/byte-queue.js';
import {
  buildSegment, seqDiff, seqLt, seqLe, seqGt, seqGe, seqAdd, segLen, TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK,
  type Segment,
} from './tcp-segment.js';
import {
  TcpTable, TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT, TCP_CLOSE,
  TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING,
} from './tcp-table.js';
import type { NetStack } from './stack.js';

export { TcpTable };

const RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2, SHUTDOWN_MASK = 3;
const SS_UNCONNECTED = 0, SS_CONNECTING = 1, SS_CONNECTED = 2;
/** RFC 6298 bounds as Linux applies them (TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s, initial 1 s). */
const RTO_MIN = 200, RTO_MAX = 120000, RTO_INIT = 1000;
/** tcp_syn_retries, tcp_synack_retries, tcp_retries2. */
const SYN_RETRIES = 6, SYNACK_RETRIES = 5, RETRIES2 = 15;
/** TCP_TIMEWAIT_LEN and tcp_fin_timeout. */
const TIMEWAIT_MS = 60000, FIN_TIMEOUT_MS = 60000;
/** Our window scale (what Linux picks for its default buffers). */
const OUR_WSCALE = 7;
const DEFAULT_MSS = 536;
const TCP_INFO_SIZE = 232;

export class TcpSocket extends InetSocket {
  state = TCP_CLOSE;
  sockState = SS_UNCONNECTED;
  /** sk_shutdown: what the user shut plus what the peer's FIN or a reset shut. */
  shut = 0;
  // listener side
  backlog = 0;
  readonly acceptQueue: TcpSocket[] = [];
  readonly synQueue = new Set<TcpSocket>();
  parent: TcpSocket | null = null;
  // send sequence space
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndWscale = 0;
  private rcvWscale = 0;
  private wscaleOk = false;
  /** Effective MSS for what we send. */
  mss = DEFAULT_MSS;
  private advMss = DEFAULT_MSS;
  readonly sndQ = new ByteQueue();
  /** close/shutdown(SHUT_WR) asked for a FIN after the data. */
  private finQueued = false;
  private finAcked = false;
  // receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised (never moved left). */
  private rcvAdvEdge = 0;
  readonly rcvQ = new ByteQueue();
  private ooo: { seq: number; data: Buffer; fin: boolean }[] = [];
  private ackPending = false;
  // congestion control (NewReno)
  cwnd = 0;
  ssthresh = 0x7fffffff;
  private dupAcks = 0;
  private inRecovery = false;
  private recover = 0;
  // RTT estimation
  srtt = 0;
  rttvar = 0;
  rto = RTO_INIT;
  private rttSeq: number | null = null;
  private rttStart = 0;
  retransmits = 0;
  totalRetrans = 0;
  private probes = 0;
  // timers
  private rtxCancel: (() => void) | null = null;
  private keepCancel: (() => void) | null = null;
  private twCancel: (() => void) | null = null;
  private lastRecv = monotonicMs();
  // user options
  nodelay = false;
  cork = false;
  keepIdle = 7200;
  keepIntvl = 75;
  keepCnt = 9;
  synCnt = 0;
  userMaxseg = 0;
  linger2 = FIN_TIMEOUT_MS / 1000;
  userTimeout = 0;
  deferAccept = 0;
  windowClamp = 0;
  notsentLowat = 0;
  private rcvLocked = false;
  private sndLocked = false;
  /** The file was closed: nobody will read or write any more. */
  orphan = false;
  private released = false;

  constructor(stack: NetStack, flags: number, uid: number, gid: number) {
    super(stack, SOCK_STREAM, IPPROTO_TCP, flags);
    this.uid = uid;
    this.gid = gid;
    this.opts.rcvbuf = TCP_RMEM_DEFAULT;
    this.opts.sndbuf = TCP_WMEM_DEFAULT;
  }

  private get table(): TcpTable {
    return this.stack.tcp;
  }

  // ---- buffer limits ----

  /** Bytes of receive buffer for data: half of SO_RCVBUF if the user set it, else autotuned. */
  private get rcvSpace(): number {
    const v = this.rcvLocked ? this.opts.rcvbuf >> 1 : TCP_RMEM_MAX >> 1;
    return this.windowClamp ? Math.min(v, this.windowClamp) : v;
  }
  private get sndSpace(): number {
    return this.sndLocked ? Math.max(2048, this.opts.sndbuf >> 1) : TCP_WMEM_MAX >> 1;
  }
  /** Free send-buffer room. */
  private get sndFree(): number {
    return this.sndSpace - this.sndQ.length;
  }
  protected override afterSetOption(name: number): void {
    if (name === SO_RCVBUF || name === SO_RCVBUFFORCE) this.rcvLocked = true;
    if (name === SO_SNDBUF || name === SO_SNDBUFFORCE) { this.sndLocked = true; this.wake(POLLOUT | POLLWRNORM); }
    if (name === SO_KEEPALIVE) this.armKeepalive();
  }

  protected inq(): number {
    if (this.state === TCP_LISTEN) throw new Errno(EINVAL);
    return this.rcvQ.length;
  }
  protected override outq(): number {
    if (this.state === TCP_LISTEN) throw new Errno(EINVAL);
    return this.sndQ.length;
  }

  private wake(events: number): void {
    notify(this, events);
  }

  // ---- addresses ----

  override bind(t: Task, raw: Buffer): void {
    const a = parseSockaddrIn(raw, true) ?? { addr: INADDR_ANY, port: 0 };
    if (a.addr !== INADDR_ANY && raw.readUInt16LE(0) === 0) throw new Errno(EAFNOSUPPORT);
    if (this.state !== TCP_CLOSE || this.localPort !== 0) throw new Errno(EINVAL);
    if (isMulticast(a.addr) || (a.addr >>> 0) === 0xffffffff) throw new Errno(EADDRNOTAVAIL);
    this.checkBindAddr(a.addr);
    if (a.port !== 0 && a.port < 1024 && t.cred.euid !== 0) throw new Errno(EACCES);
    this.table.bind(this, a.addr, a.port);
  }

  override getpeername(): Buffer {
    if (this.remotePort === 0 || this.state === TCP_LISTEN || this.state === TCP_CLOSE || this.state === TCP_SYN_SENT) throw new Errno(ENOTCONN);
    return formatSockaddrIn(this.remoteAddr, this.remotePort);
  }

  override isListening(): boolean {
    return this.state === TCP_LISTEN;
  }

  // ---- connection set-up ----

  override listen(_t: Task, backlog: number): void {
    if (this.sockState !== SS_UNCONNECTED || (this.state !== TCP_CLOSE && this.state !== TCP_LISTEN)) throw new Errno(EINVAL);
    this.backlog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    if (this.state === TCP_LISTEN) return;
    if (this.localPort === 0) this.table.bind(this, this.localAddr, 0);
    else {
      // Another listener on the port (without SO_REUSEPORT on both) makes listen fail.
      for (const o of this.table.listeners.get(this.localPort) ?? []) {
        if (o !== this && (o.localAddr === this.localAddr || !o.localAddr || !this.localAddr) && !(o.opts.reuseport && this.opts.reuseport)) {
          throw new Errno(EADDRINUSE);
        }
      }
    }
    this.state = TCP_LISTEN;
    this.shut = 0;
    this.table.listen(this);
  }

  override connect(_t: Task, raw: Buffer, nonblock: boolean): void {
    const a = parseSockaddrIn(raw, true);
    if (!a) {
      // AF_UNSPEC: tcp_disconnect.
      if (this.state !== TCP_CLOSE && this.state !== TCP_LISTEN) this.abort(0, true);
      else if (this.state === TCP_LISTEN) this.closeListener();
      this.sockState = SS_UNCONNECTED;
      this.shut = 0;
      return;
    }
    switch (this.sockState) {
      case SS_CONNECTED: throw new Errno(EISCONN);
      case SS_CONNECTING:
        if (this.state === TCP_SYN_SENT || this.state === TCP_SYN_RECV) throw new Errno(nonblock ? EALREADY : EAGAIN);
        if (this.state === TCP_CLOSE) {
          this.sockState = SS_UNCONNECTED;
          throw new Errno(this.takeError() || ECONNABORTED);
        }
        this.sockState = SS_CONNECTED;
        return;
    }
    if (this.state !== TCP_CLOSE) throw new Errno(EISCONN);
    const dst = a.addr === INADDR_ANY ? INADDR_LOOPBACK : a.addr;
    if (isMulticast(dst) || (dst >>> 0) === 0xffffffff) throw new Errno(ENETUNREACH);
    const r = routeOutput(this.stack, dst, this.boundDev);
    const bound = this.localPort !== 0;
    if (this.localAddr === INADDR_ANY) {
      if (bound) this.table.unbind(this);
      this.localAddr = r.type === 2 ? dst : r.prefsrc || this.stack.sourceFor(dst);
      if (bound) this.table.addBound(this);
    }
    this.remoteAddr = dst;
    this.remotePort = a.port;
    if (!bound) this.table.bindForConnect(this, dst, a.port);
    try {
      this.table.hash(this);
    } catch (e) {
      this.remoteAddr = INADDR_ANY;
      this.remotePort = 0;
      throw e;
    }
    this.error = 0;
    this.shut = 0;
    this.initSend();
    this.state = TCP_SYN_SENT;
    this.sockState = SS_CONNECTING;
    this.table.counters.activeOpens++;
    this.sendSyn();
    throw new Errno(nonblock ? EINPROGRESS : EAGAIN);
  }

  private initSend(): void {
    this.iss = (Math.random() * 0x100000000) >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndWl2 = this.iss;
    const mtu = pathMtu(this.stack, this.remoteAddr);
    this.advMss = Math.min(mtu - 40, this.userMaxseg || 0xffff);
    this.rto = RTO_INIT;
    this.retransmits = 0;
    this.finQueued = false;
    this.finAcked = false;
  }

  private sendSyn(): void {
    if (this.retransmits === 0) this.synStart = monotonicMs();
    const synAck = this.state === TCP_SYN_RECV;
    this.transmit({
      seq: this.iss, ack: synAck ? this.rcvNxt : 0, flags: TH_SYN | (synAck ? TH_ACK : 0),
      wnd: Math.min(0xffff, this.rcvSpace), mss: this.advMss,
      ...(synAck ? (this.wscaleOk ? { wscale: this.rcvWscale } : {}) : { wscale: OUR_WSCALE }),
    });
    if (synAck) this.rcvAdvEdge = seqAdd(this.rcvNxt, Math.min(0xffff, this.rcvSpace));
    this.armRtx();
  }

  /** A segment for a listening socket: a SYN makes a child in SYN_RECV. */
  listenerSegment(seg: Segment, p: IpPacket): void {
    if (seg.flags & TH_RST) return;
    if (seg.flags & TH_ACK) { this.table.sendReset(seg); return; }
    if (!(seg.flags & TH_SYN)) return;
    if (this.acceptQueue.length + this.synQueue.size > this.backlog) return; // full: the client retries
    const c = new TcpSocket(this.stack, O_RDWR, this.uid, this.gid);
    c.inheritFrom(this);
    c.localAddr = p.dst;
    c.localPort = this.localPort;
    c.remoteAddr = p.src;
    c.remotePort = seg.sport;
    c.parent = this;
    c.state = TCP_SYN_RECV;
    c.irs = seg.seq;
    c.rcvNxt = seqAdd(seg.seq, 1);
    c.initSend();
    c.takeSynOptions(seg);
    c.sndWnd = seg.wnd; // never scaled in a SYN
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    this.table.hash(c);
    this.table.addBound(c);
    this.synQueue.add(c);
    this.table.counters.passiveOpens++;
    c.sendSyn();
  }

  private inheritFrom(l: TcpSocket): void {
    Object.assign(this.opts, l.opts, { linger: { ...l.opts.linger } });
    this.rcvLocked = l.rcvLocked;
    this.sndLocked = l.sndLocked;
    this.nodelay = l.nodelay;
    this.keepIdle = l.keepIdle;
    this.keepIntvl = l.keepIntvl;
    this.keepCnt = l.keepCnt;
    this.userMaxseg = l.userMaxseg;
    this.ttl = l.ttl;
    this.tos = l.tos;
    this.boundDev = l.boundDev;
    this.windowClamp = l.windowClamp;
  }

  private takeSynOptions(seg: Segment): void {
    const mtu = pathMtu(this.stack, this.remoteAddr);
    this.mss = Math.max(64, Math.min(seg.mss ?? DEFAULT_MSS, mtu - 40, this.userMaxseg || 0xffff));
    if (seg.wscale !== undefined) {
      this.wscaleOk = true;
      this.sndWscale = seg.wscale;
      this.rcvWscale = OUR_WSCALE;
    } else {
      this.wscaleOk = false;
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    this.cwnd = 10 * this.mss;
  }

  override accept(_t: Task, _nonblock: boolean): TcpSocket {
    if (this.state !== TCP_LISTEN) throw new Errno(EINVAL);
    const c = this.acceptQueue.shift();
    if (!c) throw new Errno(EAGAIN);
    c.parent = null;
    c.sockState = SS_CONNECTED;
    return c;
  }

  // ---- sending ----

  sendmsg(t: Task, req: SendRequest): number {
    if (req.flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
    const total = req.data.length;
    const done = req.nonblock ? 0 : progressOf(t, total);
    if (this.state !== TCP_ESTABLISHED && this.state !== TCP_CLOSE_WAIT) {
      const err = this.takeError();
      if (err) { clearProgress(t); if (done) return done; throw new Errno(err); }
      if (this.state === TCP_SYN_SENT || this.state === TCP_SYN_RECV) {
        if (req.nonblock) throw new Errno(EAGAIN);
        throw new Errno(EAGAIN);
      }
      clearProgress(t);
      if (done) return done;
      return this.epipe(t, req);
    }
    if (this.shut & SEND_SHUTDOWN) {
      clearProgress(t);
      if (done) return done;
      return this.epipe(t, req);
    }
    if (this.error) {
      clearProgress(t);
      if (done) return done;
      throw new Errno(this.takeError());
    }
    if (total === 0) return 0;
    const n = Math.max(0, Math.min(this.sndFree, total - done));
    if (n > 0) {
      this.sndQ.push(Buffer.from(req.data.subarray(done, done + n)));
      this.output();
    }
    const moved = done + n;
    if (moved === total) { clearProgress(t); return total; }
    if (req.nonblock) {
      if (moved === 0) throw new Errno(EAGAIN);
      return moved;
    }
    setProgress(t, total, moved);
    throw new Errno(EAGAIN);
  }

  private epipe(t: Task, req: SendRequest): never {
    if (wantsSigpipe(req.flags)) raiseSigpipe(t);
    throw new Errno(EPIPE);
  }

  /** Current receive window in bytes. */
  private rcvWindow(): number {
    const free = Math.max(0, this.rcvSpace - this.rcvQ.length);
    const max = 0xffff << this.rcvWscale;
    let w = Math.min(free, max);
    // Round down to the scale so what we advertise is exact; never shrink the right edge.
    w = (w >> this.rcvWscale) << this.rcvWscale;
    const edge = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    return Math.max(w, edge);
  }

  private transmit(o: { seq: number; ack: number; flags: number; wnd: number; data?: Buffer; mss?: number; wscale?: number }): void {
    const seg = buildSegment(this.localAddr, this.remoteAddr, { sport: this.localPort, dport: this.remotePort, ...o });
    this.table.counters.outSegs++;
    try {
      ipOutput(this.stack, { src: this.localAddr, dst: this.remoteAddr, proto: IPPROTO_TCP, payload: seg, ttl: this.effectiveTtl, tos: this.tos, dev: this.boundDev });
    } catch {
      // Lost on the way out (no route now): the retransmission timer will try again.
    }
  }

  /** Sends a segment carrying the current ACK and window. */
  private sendWithAck(seq: number, flags: number, data?: Buffer): void {
    const w = this.rcvWindow();
    this.rcvAdvEdge = seqAdd(this.rcvNxt, w);
    this.ackPending = false;
    this.transmit({ seq, ack: this.rcvNxt, flags: flags | TH_ACK, wnd: w >> this.rcvWscale, ...(data ? { data } : {}) });
  }

  sendAck(): void {
    this.sendWithAck(this.sndNxt, 0);
  }

  /** Acknowledges at the end of the receive batch (one ACK for many segments). */
  private scheduleAck(): void {
    if (this.ackPending) return;
    this.ackPending = true;
    this.stack.batchHooks.add(() => {
      if (this.ackPending && this.state !== TCP_CLOSE) this.sendAck();
    });
  }

  private get finSent(): boolean {
    return this.finAcked || (this.finQueued && seqDiff(this.sndNxt, this.sndUna) > this.sndQ.length);
  }

  private get synchronized(): boolean {
    return this.state !== TCP_CLOSE && this.state !== TCP_LISTEN && this.state !== TCP_SYN_SENT && this.state !== TCP_SYN_RECV;
  }

  /** Sends what the windows allow (tcp_write_xmit), with Nagle and sender SWS avoidance. */
  output(): void {
    if (!this.synchronized || this.state === TCP_TIME_WAIT) return;
    for (;;) {
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const off = Math.min(inFlight, this.sndQ.length);
      const unsent = this.sndQ.length - off;
      const room = Math.min(this.sndWnd, this.cwnd) - inFlight;
      if (unsent > 0) {
        if (room <= 0) break;
        const len = Math.min(unsent, this.mss, room);
        const full = len === this.mss;
        if (!full) {
          if (len < unsent && inFlight > 0) break; // window-limited: wait rather than send a runt
          if (len === unsent && inFlight > 0 && !this.nodelay && !this.finQueued) break; // Nagle
          if (this.cork && !this.finQueued) break;
        }
        const last = off + len === this.sndQ.length;
        const fin = last && this.finQueued && !this.finAcked;
        const data = this.sndQ.peek(off, len);
        if (this.rttSeq === null) { this.rttSeq = seqAdd(this.sndNxt, len); this.rttStart = monotonicMs(); }
        this.sendWithAck(this.sndNxt, (last ? TH_PSH : 0) | (fin ? TH_FIN : 0), data);
        this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
        if (fin) break;
        continue;
      }
      if (this.finQueued && !this.finSent) {
        this.sendWithAck(this.sndNxt, TH_FIN);
        this.sndNxt = seqAdd(this.sndNxt, 1);
      }
      break;
    }
    if (this.sndNxt !== this.sndUna) { if (!this.rtxCancel) this.armRtx(); }
    else if (this.sndQ.length > 0 && this.sndWnd === 0 && !this.rtxCancel) this.armRtx(); // persist
  }

  // ---- timers ----

  private armRtx(): void {
    this.rtxCancel?.();
    this.rtxCancel = this.stack.env.timers.add(monotonicMs() + this.rto, () => {
      this.rtxCancel = null;
      this.onRtxTimeout();
    });
  }

  private stopRtx(): void {
    this.rtxCancel?.();
    this.rtxCancel = null;
  }

  private onRtxTimeout(): void {
    if (this.state === TCP_SYN_SENT || this.state === TCP_SYN_RECV) {
      const limit = this.state === TCP_SYN_SENT ? (this.synCnt || SYN_RETRIES) : SYNACK_RETRIES;
      if (++this.retransmits > limit) { this.abort(ETIMEDOUT, false); return; }
      this.rto = Math.min(this.rto * 2, RTO_MAX);
      this.totalRetrans++;
      this.table.counters.retransSegs++;
      this.sendSyn();
      return;
    }
    if (!this.synchronized || this.state === TCP_TIME_WAIT) return;
    if (this.sndNxt === this.sndUna) {
      // Zero-window probe: an old sequence number makes the peer answer with its window.
      if (this.sndQ.length > 0 && this.sndWnd === 0) {
        if (++this.probes > RETRIES2) { this.abort(ETIMEDOUT, false); return; }
        this.sendWithAck(seqAdd(this.sndUna, -1), 0);
        this.rto = Math.min(this.rto * 2, RTO_MAX);
        this.armRtx();
      }
      return;
    }
    if (++this.retransmits > RETRIES2 || (this.userTimeout && monotonicMs() - this.lastRecv > this.userTimeout)) {
      this.abort(ETIMEDOUT, false);
      return;
    }
    const flight = seqDiff(this.sndNxt, this.sndUna);
    this.ssthresh = Math.max(flight >> 1, 2 * this.mss);
    this.cwnd = this.mss;
    this.inRecovery = false;
    this.dupAcks = 0;
    this.rttSeq = null; // Karn: no samples from retransmitted data
    this.rto = Math.min(this.rto * 2, RTO_MAX);
    this.totalRetrans++;
    this.table.counters.retransSegs++;
    this.sndNxt = this.sndUna; // go back and resend from the first unacknowledged byte
    this.output();
    this.armRtx();
  }

  /** RFC 6298 §2 with Linux's floor. */
  private rttSample(ms: number): void {
    if (this.srtt === 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
      this.srtt = 0.875 * this.srtt + 0.125 * ms;
    }
    this.rto = Math.min(RTO_MAX, Math.max(RTO_MIN, this.srtt + Math.max(1, 4 * this.rttvar)));
  }

  private armKeepalive(): void {
    this.keepCancel?.();
    this.keepCancel = null;
    if (!this.opts.keepalive || !this.synchronized || this.state === TCP_TIME_WAIT) return;
    const wait = this.probes > 0 ? this.keepIntvl * 1000 : Math.max(0, this.lastRecv + this.keepIdle * 1000 - monotonicMs());
    this.keepCancel = this.stack.env.timers.add(monotonicMs() + wait, () => {
      this.keepCancel = null;
      if (!this.opts.keepalive || !this.synchronized) return;
      const idle = monotonicMs() - this.lastRecv;
      if (this.probes === 0 && idle < this.keepIdle * 1000) { this.armKeepalive(); return; }
      if (this.probes >= this.keepCnt) { this.abort(ETIMEDOUT, true); return; }
      this.probes++;
      this.sendWithAck(seqAdd(this.sndUna, -1), 0);
      this.armKeepalive();
    });
  }

  private enterTimeWait(): void {
    this.state = TCP_TIME_WAIT;
    this.stopRtx();
    this.keepCancel?.();
    this.keepCancel = null;
    this.shut = SHUTDOWN_MASK;
    this.twCancel?.();
    this.twCancel = this.stack.env.timers.add(monotonicMs() + TIMEWAIT_MS, () => { this.twCancel = null; this.finish(); });
    this.wake(POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
  }

  // ---- receiving ----

  segmentArrives(seg: Segment): void {
    this.lastRecv = monotonicMs();
    this.probes = 0;
    if (this.state === TCP_SYN_SENT) { this.synSentSegment(seg); return; }
    if (this.state === TCP_CLOSE) { this.table.sendReset(seg); return; }
    const len = segLen(seg);
    // RFC 9293 §3.10.7.4: acceptability.
    const wnd = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    let ok: boolean;
    if (len === 0) ok = wnd === 0 ? seg.seq === this.rcvNxt : seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, Math.max(wnd, 1)));
    else ok = wnd > 0 && (seqInWindow(seg.seq, this.rcvNxt, wnd) || seqInWindow(seqAdd(seg.seq, len - 1), this.rcvNxt, wnd) || (seqLt(seg.seq, this.rcvNxt) && seqGt(seqAdd(seg.seq, len), this.rcvNxt)));
    if (!ok && len > 0 && wnd === 0 && seg.seq === this.rcvNxt) ok = true; // a probe: process its ACK
    if (!ok) {
      if (!(seg.flags & TH_RST)) {
        if (this.state === TCP_TIME_WAIT && seg.flags & TH_FIN) this.enterTimeWait();
        this.sendAck();
      }
      return;
    }
    if (seg.flags & TH_RST) { this.resetArrives(); return; }
    if (seg.flags & TH_SYN) {
      // A SYN in a synchronized state: challenge ACK (RFC 5961 §4).
      if (this.state === TCP_SYN_RECV && seg.seq === this.irs) { this.sendSyn(); return; }
      this.sendAck();
      return;
    }
    if (!(seg.flags & TH_ACK)) return;
    if (this.state === TCP_SYN_RECV) {
      if (seqLe(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndNxt)) { this.table.sendReset(seg); return; }
      this.established();
      this.sndWnd = seg.wnd << this.sndWscale;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      const p = this.parent;
      if (p) {
        p.synQueue.delete(this);
        if (p.state === TCP_LISTEN) {
          p.acceptQueue.push(this);
          p.wake(POLLIN | POLLRDNORM);
        } else { this.abort(0, true); return; }
      }
    }
    if (!this.processAck(seg)) return;
    if (this.state === TCP_TIME_WAIT) {
      if (seg.flags & TH_FIN) { this.sendAck(); this.enterTimeWait(); }
      return;
    }
    this.processData(seg);
    this.output();
  }

  private established(): void {
    this.state = TCP_ESTABLISHED;
    this.sndUna = seqAdd(this.iss, 1);
    this.retransmits = 0;
    this.rto = this.srtt ? this.rto : RTO_INIT;
    this.stopRtx();
    this.armKeepalive();
  }

  private synSentSegment(seg: Segment): void {
    const ackOk = (seg.flags & TH_ACK) !== 0 && seqGt(seg.ack, this.iss) && seqLe(seg.ack, this.sndNxt);
    if (seg.flags & TH_ACK && !ackOk) {
      if (!(seg.flags & TH_RST)) this.table.sendReset(seg);
      return;
    }
    if (seg.flags & TH_RST) {
      if (ackOk) { this.table.counters.attemptFails++; this.abort(ECONNREFUSED, false); }
      return;
    }
    if (!(seg.flags & TH_SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg);
    if (!ackOk) {
      // Simultaneous open.
      this.state = TCP_SYN_RECV;
      this.sndWnd = seg.wnd;
      this.sendSyn();
      return;
    }
    if (this.retransmits === 0) this.rttSample(monotonicMs() - this.rttStartOfSyn());
    this.established();
    this.sndWnd = seg.wnd; // not scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.rcvAdvEdge = this.rcvNxt;
    this.sendAck();
    this.wake(POLLOUT | POLLWRNORM);
    this.output();
  }

  private synStart = monotonicMs();
  private rttStartOfSyn(): number {
    return this.synStart;
  }

  private resetArrives(): void {
    switch (this.state) {
      case TCP_SYN_RECV:
        if (this.parent) { this.parent.synQueue.delete(this); this.finish(); return; }
        this.abort(ECONNREFUSED, false);
        return;
      case TCP_CLOSE_WAIT: this.table.counters.estabResets++; this.abort(EPIPE, false); return;
      case TCP_ESTABLISHED: case TCP_FIN_WAIT1: case TCP_FIN_WAIT2:
        this.table.counters.estabResets++;
        this.abort(ECONNRESET, false);
        return;
      default: this.finish();
    }
  }

  /** ACK processing; false if the segment must be dropped. */
  private processAck(seg: Segment): boolean {
    if (seqGt(seg.ack, this.sndNxt)) {
      // Acknowledges something not sent yet. (After a go-back-N, a late ACK may cover data
      // sent before; accept anything up to the highest byte ever sent.)
      const highest = seqAdd(this.sndUna, this.sndQ.length + (this.finQueued ? 1 : 0));
      if (seqGt(seg.ack, highest)) { this.sendAck(); return false; }
      this.sndNxt = seg.ack;
    }
    const acked = seqDiff(seg.ack, this.sndUna);
    if (acked > 0) {
      let dataAcked = acked;
      if (this.finQueued && !this.finAcked && seqDiff(seg.ack, this.sndUna) > this.sndQ.length) {
        this.finAcked = true;
        dataAcked = acked - 1;
      }
      this.sndQ.consume(dataAcked);
      this.sndUna = seg.ack;
      if (this.rttSeq !== null && seqGe(seg.ack, this.rttSeq)) {
        this.rttSample(monotonicMs() - this.rttStart);
        this.rttSeq = null;
      }
      this.retransmits = 0;
      this.probes = 0;
      if (this.inRecovery) {
        if (seqGe(seg.ack, this.recover)) {
          this.inRecovery = false;
          this.cwnd = this.ssthresh;
        } else {
          // Partial ACK (RFC 6582): resend the next hole, deflate by what was acknowledged.
          this.retransmitHead();
          this.cwnd = Math.max(this.mss, this.cwnd - dataAcked + this.mss);
        }
      } else if (this.cwnd < this.ssthresh) {
        this.cwnd += Math.min(dataAcked, this.mss);
      } else {
        this.cwnd += Math.max(1, Math.floor((this.mss * this.mss) / this.cwnd));
      }
      this.dupAcks = 0;
      if (this.sndNxt === this.sndUna) this.stopRtx();
      else this.armRtx();
      // Wake writers once a good part of the buffer is free (sk_stream_write_space): a blocked
      // send re-runs from the start of its user buffer, so fewer, bigger wake-ups are cheaper.
      if (dataAcked > 0 && (this.sndFree >= this.sndSpace >> 1 || this.sndQ.length === 0)) this.wake(POLLOUT | POLLWRNORM);
    } else if (acked === 0 && seg.data.length === 0 && !(seg.flags & (TH_SYN | TH_FIN)) && this.sndNxt !== this.sndUna
      && (seg.wnd << this.sndWscale) === this.sndWnd) {
      this.dupAcks++;
      if (this.dupAcks === 3 && !this.inRecovery) {
        // Fast retransmit (RFC 5681 §3.2).
        const flight = seqDiff(this.sndNxt, this.sndUna);
        this.ssthresh = Math.max(flight >> 1, 2 * this.mss);
        this.cwnd = this.ssthresh + 3 * this.mss;
        this.inRecovery = true;
        this.recover = this.sndNxt;
        this.rttSeq = null;
        this.retransmitHead();
      } else if (this.inRecovery) {
        this.cwnd += this.mss;
      }
    }
    // Window update (RFC 9293 §3.10.7.4, SND.WL1/WL2 rule).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, seg.ack))) {
      const opened = (seg.wnd << this.sndWscale) > this.sndWnd;
      this.sndWnd = seg.wnd << this.sndWscale;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (opened && this.sndNxt === this.sndUna) { this.stopRtx(); this.rto = Math.max(RTO_MIN, this.srtt ? this.rto : RTO_INIT); }
    }
    if (this.finAcked) {
      switch (this.state) {
        case TCP_FIN_WAIT1:
          this.state = TCP_FIN_WAIT2;
          if (this.orphan) this.armFinWait2();
          break;
        case TCP_CLOSING: this.enterTimeWait(); return false;
        case TCP_LAST_ACK: this.finish(); return false;
      }
    }
    return true;
  }

  private armFinWait2(): void {
    this.twCancel?.();
    this.twCancel = this.stack.env.timers.add(monotonicMs() + this.linger2 * 1000, () => { this.twCancel = null; this.finish(); });
  }

  private retransmitHead(): void {
    const len = Math.min(this.mss, this.sndQ.length);
    const fin = this.finQueued && len === this.sndQ.length;
    if (len === 0 && !fin) return;
    this.totalRetrans++;
    this.table.counters.retransSegs++;
    this.sendWithAck(this.sndUna, (fin ? TH_FIN : 0) | (len ? TH_PSH : 0), len ? this.sndQ.peek(0, len) : undefined);
    this.armRtx();
  }

  private processData(seg: Segment): void {
    let data = seg.data;
    let seq = seg.seq;
    let fin = (seg.flags & TH_FIN) !== 0;
    const receiving = this.state === TCP_ESTABLISHED || this.state === TCP_FIN_WAIT1 || this.state === TCP_FIN_WAIT2;
    if (!receiving) {
      // CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent its FIN; ignore (retransmissions).
      if (data.length || fin) this.scheduleAck();
      return;
    }
    if (data.length > 0 && this.orphan) {
      // Data for a socket nobody will read: reset (tcp_rcv_state_process).
      this.sendWithAck(this.sndNxt, TH_RST);
      this.finish();
      return;
    }
    // Trim what we already have.
    const dup = seqDiff(this.rcvNxt, seq);
    if (dup > 0) {
      if (dup > data.length) fin = false;
      data = data.subarray(Math.min(dup, data.length));
      seq = this.rcvNxt;
    }
    // Trim what falls beyond the window.
    const room = seqDiff(this.rcvAdvEdge, seq);
    if (data.length > room) { data = data.subarray(0, Math.max(0, room)); fin = false; }
    if (seq !== this.rcvNxt) {
      if (data.length || fin) this.oooInsert(seq, Buffer.from(data), fin);
      this.sendAck(); // duplicate ACK at once: it drives the sender's fast retransmit
      return;
    }
    if (data.length) {
      this.rcvQ.push(Buffer.from(data));
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    }
    const hadOoo = this.ooo.length > 0;
    fin = this.drainOoo(fin);
    if (data.length) this.wake(POLLIN | POLLRDNORM);
    if (fin) this.finArrives();
    else if (data.length) {
      if (hadOoo) this.sendAck(); else this.scheduleAck();
    }
  }

  private oooInsert(seq: number, data: Buffer, fin: boolean): void {
    if (this.ooo.some((o) => o.seq === seq && o.data.length >= data.length)) return;
    this.ooo.push({ seq, data, fin });
    this.ooo.sort((a, b) => seqDiff(a.seq, b.seq));
  }

  /** Moves now-contiguous out-of-order data into the queue; returns whether a FIN is reached. */
  private drainOoo(fin: boolean): boolean {
    while (!fin && this.ooo.length) {
      const o = this.ooo[0]!;
      const d = seqDiff(this.rcvNxt, o.seq);
      if (d < 0) break;
      this.ooo.shift();
      if (d < o.data.length) {
        this.rcvQ.push(o.data.subarray(d));
        this.rcvNxt = seqAdd(this.rcvNxt, o.data.length - d);
        this.wake(POLLIN | POLLRDNORM);
      }
      if (o.fin && d <= o.data.length) fin = true;
    }
    return fin;
  }

  private finArrives(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ooo = [];
    this.shut |= RCV_SHUTDOWN;
    switch (this.state) {
      case TCP_ESTABLISHED: this.state = TCP_CLOSE_WAIT; break;
      case TCP_FIN_WAIT1: this.state = this.finAcked ? TCP_TIME_WAIT : TCP_CLOSING; break;
      case TCP_FIN_WAIT2: this.state = TCP_TIME_WAIT; break;
    }
    this.sendAck();
    if (this.state === TCP_TIME_WAIT) this.enterTimeWait();
    this.wake(POLLIN | POLLRDNORM | POLLRDHUP);
  }

  icmpError(type: number, code: number): void {
    if (type !== ICMP_DEST_UNREACH) return;
    if (code === ICMP_FRAG_NEEDED) return;
    const err = code === ICMP_PORT_UNREACH || code === ICMP_PROT_UNREACH ? ECONNREFUSED : code === 0 ? ENETUNREACH : EHOSTUNREACH;
    if (this.state === TCP_SYN_SENT || this.state === TCP_SYN_RECV) { this.abort(err, false); return; }
    if (this.recvErr) { this.error = err; this.wake(POLLERR); }
  }

  // ---- receiving (user side) ----

  recvmsg(_t: Task, len: number, flags: number, _nonblock: boolean): RecvResult {
    if (flags & MSG_OOB) throw new Errno(EINVAL);
    if (flags & MSG_ERRQUEUE) throw new Errno(EAGAIN);
    if (this.state === TCP_LISTEN) throw new Errno(ENOTCONN);
    if (this.rcvQ.length > 0) {
      const n = Math.min(len, this.rcvQ.length);
      const peek = (flags & MSG_PEEK) !== 0;
      const data = peek ? this.rcvQ.peek(0, n) : this.rcvQ.take(n);
      if (!peek) this.maybeWindowUpdate();
      // MSG_TRUNC on TCP discards the bytes and returns how many (tuml returns them anyway).
      void MSG_TRUNC;
      return { data, fullLength: data.length, addr: null, rights: null, creds: null, flags: 0 };
    }
    const err = this.takeError();
    if (err) throw new Errno(err);
    if (this.shut & RCV_SHUTDOWN) return { data: Buffer.alloc(0), fullLength: 0, addr: null, rights: null, creds: null, flags: 0, eof: true };
    if (this.state === TCP_CLOSE) throw new Errno(ENOTCONN);
    if (len === 0) return { data: Buffer.alloc(0), fullLength: 0, addr: null, rights: null, creds: null, flags: 0 };
    throw new Errno(EAGAIN);
  }

  /** After the reader makes room: tell the peer when the window opened enough (tcp_cleanup_rbuf). */
  private maybeWindowUpdate(): void {
    if (!this.synchronized || this.state === TCP_TIME_WAIT || this.shut & RCV_SHUTDOWN) return;
    const cur = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    const free = Math.min(Math.max(0, this.rcvSpace - this.rcvQ.length), 0xffff << this.rcvWscale);
    if (free - cur >= Math.min(this.rcvSpace >> 1, 2 * this.advMss)) this.sendAck();
  }

  // ---- shutdown and close ----

  override shutdown(_t: Task, how: number): void {
    if (how < SHUT_RD || how > SHUT_RDWR) throw new Errno(EINVAL);
    const bits = how + 1;
    switch (this.state) {
      case TCP_CLOSE: throw new Errno(ENOTCONN);
      case TCP_LISTEN:
        if (bits & RCV_SHUTDOWN) { this.closeListener(); this.state = TCP_CLOSE; this.shut = 0; }
        this.wake(POLLIN | POLLOUT | POLLHUP);
        return;
      case TCP_SYN_SENT:
        this.abort(0, false);
        this.sockState = SS_UNCONNECTED;
        return;
    }
    this.shut |= bits;
    if (bits & SEND_SHUTDOWN) this.closeSend();
    this.wake(POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  }

  /** Queues our FIN (tcp_close_state). */
  private closeSend(): void {
    switch (this.state) {
      case TCP_ESTABLISHED: case TCP_SYN_RECV: this.state = TCP_FIN_WAIT1; break;
      case TCP_CLOSE_WAIT: this.state = TCP_LAST_ACK; break;
      default: return;
    }
    this.finQueued = true;
    this.output();
  }

  private closeListener(): void {
    this.table.unlisten(this);
    for (const c of [...this.synQueue, ...this.acceptQueue]) {
      c.parent = null;
      c.orphan = true;
      c.released = true;
      c.abort(0, true);
    }
    this.synQueue.clear();
    this.acceptQueue.length = 0;
  }

  /** The last file reference is gone (tcp_close). */
  protected override release(): void {
    this.orphan = true;
    this.released = true;
    if (this.state === TCP_LISTEN) {
      this.closeListener();
      this.state = TCP_CLOSE;
      this.finish();
      return;
    }
    if (this.state === TCP_CLOSE || this.state === TCP_SYN_SENT) { this.abort(0, false); this.finish(); return; }
    const unread = this.rcvQ.length > 0;
    this.rcvQ.clear();
    this.shut = SHUTDOWN_MASK;
    if (unread || (this.opts.linger.onoff && this.opts.linger.linger === 0)) {
      // Unread data or SO_LINGER {1, 0}: abortive close with a reset.
      this.abort(0, true);
      return;
    }
    if (this.state === TCP_FIN_WAIT2) this.armFinWait2();
    this.closeSend();
    if (this.state === TCP_TIME_WAIT || this.state === TCP_CLOSE) this.finish();
  }

  /** Ends the connection with an error (tcp_done / tcp_reset), optionally sending RST. */
  abort(err: number, sendRst: boolean): void {
    if (sendRst && this.state !== TCP_CLOSE && this.state !== TCP_LISTEN && this.state !== TCP_TIME_WAIT && this.state !== TCP_SYN_SENT) {
      this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TH_RST | TH_ACK, wnd: 0 });
      this.table.counters.outRsts++;
    }
    if (err) this.error = err;
    this.finish();
  }

  /** To CLOSE: timers off, out of the tables; the port is kept while the file is open. */
  finish(): void {
    const was = this.state;
    this.state = TCP_CLOSE;
    this.shut = SHUTDOWN_MASK;
    this.stopRtx();
    this.keepCancel?.();
    this.keepCancel = null;
    this.twCancel?.();
    this.twCancel = null;
    this.ackPending = false;
    this.table.unhash(this);
    if (this.parent) { this.parent.synQueue.delete(this); this.parent = null; this.released = true; this.orphan = true; }
    if (this.released) { this.table.unbind(this); this.sndQ.clear(); }
    void was;
    this.wake(POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP | POLLRDNORM | POLLWRNORM);
  }

  override poll(): number {
    if (this.state === TCP_LISTEN) return this.acceptQueue.length ? POLLIN | POLLRDNORM : 0;
    let m = 0;
    if (this.shut === SHUTDOWN_MASK || this.state === TCP_CLOSE) m |= POLLHUP;
    if (this.shut & RCV_SHUTDOWN) m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (this.state !== TCP_SYN_SENT && this.state !== TCP_SYN_RECV) {
      if (this.rcvQ.length >= Math.max(1, this.opts.rcvlowat)) m |= POLLIN | POLLRDNORM;
      if (!(this.shut & SEND_SHUTDOWN)) {
        if (this.sndFree >= Math.min(this.sndSpace / 3, 65536) || this.sndQ.length === 0) m |= POLLOUT | POLLWRNORM;
      } else {
        m |= POLLOUT | POLLWRNORM;
      }
    }
    if (this.error) m |= POLLERR;
    return m;
  }

  // ---- SOL_TCP options ----

  protected override protoGetsockopt(t: Task, level: number, name: number): Buffer {
    if (level !== SOL_TCP) return super.protoGetsockopt(t, level, name);
    switch (name) {
      case TCP_NODELAY: return int(+this.nodelay);
      case TCP_MAXSEG: return int(this.synchronized ? this.mss : this.userMaxseg || DEFAULT_MSS);
      case TCP_CORK: return int(+this.cork);
      case TCP_KEEPIDLE: return int(this.keepIdle);
      case TCP_KEEPINTVL: return int(this.keepIntvl);
      case TCP_KEEPCNT: return int(this.keepCnt);
      case TCP_SYNCNT: return int(this.synCnt || SYN_RETRIES);
      case TCP_LINGER2: return int(this.linger2);
      case TCP_DEFER_ACCEPT: return int(this.deferAccept);
      case TCP_WINDOW_CLAMP: return int(this.windowClamp || (this.rcvSpace));
      case TCP_QUICKACK: return int(1);
      case TCP_USER_TIMEOUT: return int(this.userTimeout);
      case TCP_NOTSENT_LOWAT: return int(this.notsentLowat);
      case TCP_FASTOPEN: case TCP_FASTOPEN_CONNECT: return int(0);
      case TCP_CONGESTION: return Buffer.from('reno\0'.padEnd(16, '\0'));
      case TCP_INFO: return this.tcpInfo();
      default: throw new Errno(ENOPROTOOPT);
    }
  }

  protected override protoSetsockopt(t: Task, level: number, name: number, val: Buffer): void {
    if (level !== SOL_TCP) { super.protoSetsockopt(t, level, name, val); return; }
    if (name === TCP_CONGESTION) {
      const n = val.toString('latin1').replace(/\0.*$/s, '');
      if (n !== 'reno' && n !== 'cubic') throw new Errno(ENOENT);
      return;
    }
    const v = optInt(val);
    switch (name) {
      case TCP_NODELAY: this.nodelay = v !== 0; if (this.nodelay) this.output(); return;
      case TCP_CORK: this.cork = v !== 0; if (!this.cork) this.output(); return;
      case TCP_MAXSEG:
        if (v !== 0 && (v < 88 || v > 32767)) throw new Errno(EINVAL);
        this.userMaxseg = v;
        return;
      case TCP_KEEPIDLE: case TCP_KEEPINTVL:
        if (v < 1 || v > 32767) throw new Errno(EINVAL);
        if (name === TCP_KEEPIDLE) this.keepIdle = v; else this.keepIntvl = v;
        this.armKeepalive();
        return;
      case TCP_KEEPCNT: if (v < 1 || v > 127) throw new Errno(EINVAL); this.keepCnt = v; return;
      case TCP_SYNCNT: if (v < 1 || v > 127) throw new Errno(EINVAL); this.synCnt = v; return;
      case TCP_LINGER2: this.linger2 = v < 0 ? 0 : Math.min(v, 120); return;
      case TCP_DEFER_ACCEPT: this.deferAccept = Math.max(0, v); return;
      case TCP_WINDOW_CLAMP: if (v < 0) throw new Errno(EINVAL); this.windowClamp = v; return;
      case TCP_QUICKACK: if (v) this.sendAckIfPending(); return;
      case TCP_USER_TIMEOUT: if (v < 0) throw new Errno(EINVAL); this.userTimeout = v; return;
      case TCP_NOTSENT_LOWAT: this.notsentLowat = v; return;
      case TCP_FASTOPEN: case TCP_FASTOPEN_CONNECT: return;
      default: throw new Errno(ENOPROTOOPT);
    }
  }

  private sendAckIfPending(): void {
    if (this.ackPending) this.sendAck();
  }

  /** struct tcp_info (the fields ss and programs read most). */
  private tcpInfo(): Buffer {
    const b = Buffer.alloc(TCP_INFO_SIZE);
    b[0] = this.state;
    b[1] = this.inRecovery ? 3 : 0;
    b[2] = this.retransmits;
    b[3] = this.probes;
    b[6] = (this.sndWscale & 0xf) | ((this.rcvWscale & 0xf) << 4);
    b[5] = this.wscaleOk ? 4 : 0; // TCPI_OPT_WSCALE
    b.writeUInt32LE(Math.round(this.rto * 1000), 8);
    b.writeUInt32LE(40000, 12);
    b.writeUInt32LE(this.mss, 16);
    b.writeUInt32LE(this.advMss, 20);
    b.writeUInt32LE(Math.ceil(seqDiff(this.sndNxt, this.sndUna) / Math.max(1, this.mss)), 24);
    b.writeUInt32LE(pathMtu(this.stack, this.remoteAddr || INADDR_LOOPBACK), 60);
    b.writeUInt32LE(this.rcvSpace, 64);
    b.writeUInt32LE(Math.round(this.srtt * 1000), 68);
    b.writeUInt32LE(Math.round(this.rttvar * 1000), 72);
    b.writeUInt32LE(Math.min(this.ssthresh, 0x7fffffff), 76);
    b.writeUInt32LE(Math.max(1, Math.round(this.cwnd / Math.max(1, this.mss))), 80);
    b.writeUInt32LE(this.advMss, 84);
    b.writeUInt32LE(3, 88);
    b.writeUInt32LE(this.totalRetrans, 100);
    return b;
  }
}

function seqInWindow(s: number, start: number, wnd: number): boolean {
  return seqGe(s, start) && seqLt(s, seqAdd(start, wnd));
}
