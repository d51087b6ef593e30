// A uml_switch: a virtual Ethernet switch (or hub) whose ports are UMLs and tumls speaking
// the daemon protocol (switch-protocol.ts). Behaviour follows uml_utilities' uml_switch:
// one SOCK_STREAM control socket, source MACs learned with a 100 s expiry swept every 2 s,
// group and unknown destinations flooded to every port but the one the frame came in on.
// One difference inside the protocol's freedom: uml_switch has one data socket and tells
// ports apart by sender address; we give each port its own data socket (its address is the
// reply to that port's request) connected to the peer, so the host tells us when a busy
// peer has room again and a burst waits in the port's queue instead of being lost.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { HostSocketError, UnixDgramSocket } from '../../host/unix-dgram.js';
import { bindDataSocket, decodeRequest, DEFAULT_CTL_SOCK } from './switch-protocol.js';
import { ETH_HLEN, formatMac, isMulticastMac } from './transport.js';

export const GC_INTERVAL_MS = 2_000;
export const GC_EXPIRE_MS = 100_000;

/** One port of the switch: a daemon-protocol peer, or (later) a tap device. */
export interface SwitchPort {
  readonly id: number;
  /** What uml_switch's messages call it. */
  readonly label: string;
  send(frame: Buffer): void;
}

export interface SwitchOptions {
  ctlPath?: string;
  hub?: boolean;
  /** uml_switch's stdout messages ("New connection", " Addr: ... New port N", "Disconnect"). */
  log?: (line: string) => void;
  /**
   * Called for every frame before it is forwarded: return false to drop it. The seam for
   * impairment (loss, reordering) in tests; absent in normal use.
   */
  ingressFilter?: (frame: Buffer, from: SwitchPort) => boolean;
  /** A bad link for tests of the protocols above: loss and reordering (tuml only). */
  impair?: Impairment;
  /** Clock in ms, for tests of expiry. */
  now?: () => number;
}

export interface Impairment {
  /** Percentage of frames dropped at random. */
  lossPercent: number;
  /** Percentage of frames held back and sent after the next frame from the same port. */
  reorderPercent: number;
  /** PRNG seed, so a failing run can be replayed. */
  seed?: number;
}

/** A held frame is released after this long even when no later frame overtakes it. */
const REORDER_HOLD_MS = 20;

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface MacEntry {
  port: SwitchPort;
  seen: number;
}

/** A port whose peer speaks the daemon protocol, with its own data socket. */
class SockPort implements SwitchPort {
  readonly label: string;

  constructor(readonly id: number, readonly control: net.Socket, readonly peer: Buffer, readonly data: UnixDgramSocket, readonly addr: Buffer) {
    this.label = String(id);
  }

  send(frame: Buffer): void {
    // A peer that stays full past the queue loses frames; uml_switch would block entirely.
    this.data.queueTo(frame, null);
  }

  get dropped(): number {
    return this.data.txDropped;
  }
}

export class UmlSwitch {
  readonly ctlPath: string;
  readonly hub: boolean;
  private readonly ports = new Map<number, SwitchPort>();
  private readonly sockPorts = new Set<SockPort>();
  private readonly macs = new Map<string, MacEntry>();
  private nextId = 1;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly gcTimer: NodeJS.Timeout;
  private closed = false;
  private readonly ingressFilter: SwitchOptions['ingressFilter'];
  private readonly impair: Impairment | undefined;
  private readonly random: () => number;
  private readonly held = new Map<SwitchPort, { frame: Buffer; timer: NodeJS.Timeout }>();
  /** Frames dropped on purpose by the impairment. */
  impairDropped = 0;
  /** Frames dropped because they were too short to be Ethernet. */
  runtFrames = 0;

  private constructor(opts: SwitchOptions, private readonly server: net.Server) {
    this.ctlPath = opts.ctlPath ?? DEFAULT_CTL_SOCK;
    this.hub = opts.hub ?? false;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.ingressFilter = opts.ingressFilter;
    this.impair = opts.impair;
    this.random = prng(opts.impair?.seed ?? 1);
    server.on('connection', (c) => this.onControl(c));
    this.gcTimer = setInterval(() => this.gc(), GC_INTERVAL_MS);
    this.gcTimer.unref();
  }

  /** Listen on the control socket and start switching. A stale socket file is replaced. */
  static async start(opts: SwitchOptions = {}): Promise<UmlSwitch> {
    const server = await listenControl(opts.ctlPath ?? DEFAULT_CTL_SOCK);
    return new UmlSwitch(opts, server);
  }

  get portCount(): number {
    return this.ports.size;
  }

  /** The learned addresses, for inspection: MAC → port id. */
  macTable(): Map<string, number> {
    const t = new Map<string, number>();
    for (const [mac, e] of this.macs) t.set(mac, e.port.id);
    return t;
  }

  /** Attach a port that is not a daemon-protocol peer (e.g. a tap device); returns a feeder for its frames. */
  attachPort(make: (id: number) => SwitchPort): { port: SwitchPort; receive: (frame: Buffer) => void; detach: () => void } {
    const port = make(this.nextId++);
    this.ports.set(port.id, port);
    return { port, receive: (f) => this.forward(f, port), detach: () => this.removePort(port) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.gcTimer);
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    for (const p of this.sockPorts) {
      p.control.destroy();
      p.data.close();
    }
    // Closing a listening unix socket unlinks its path (libuv).
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onControl(c: net.Socket): void {
    let buf = Buffer.alloc(0);
    let port: SockPort | null = null;
    c.on('error', () => { /* 'close' follows */ });
    c.on('data', (chunk) => {
      if (port !== null) return; // after the request the control stream only signals EOF
      buf = Buffer.concat([buf, chunk]);
      const req = decodeRequest(buf);
      if (req.kind === 'incomplete') return;
      if (req.kind === 'error') {
        this.log(req.message);
        c.destroy();
        return;
      }
      if (this.closed) { c.destroy(); return; }
      const data = UnixDgramSocket.open();
      let addr: Buffer;
      try {
        addr = bindDataSocket(data);
        const err = data.connect(req.dataAddr);
        if (err !== 0) throw new HostSocketError(err, 'connect');
        data.setBufferSizes(1 << 19);
      } catch (e) {
        this.log(`setup_sock_port : connect to the port's data socket failed, errno = ${e instanceof HostSocketError ? e.errno : 0}`);
        data.close();
        c.destroy();
        return;
      }
      const p = new SockPort(this.nextId++, c, req.dataAddr, data, addr);
      port = p;
      this.ports.set(p.id, p);
      this.sockPorts.add(p);
      data.onDatagram((d) => this.forward(d.data, p), (e) => this.log(`handle_sock_data: recvfrom failed, errno = ${e.errno}`));
      this.log('New connection');
      c.write(addr);
    });
    c.on('close', () => {
      if (port === null || this.closed) return;
      this.log('Disconnect');
      this.removePort(port);
    });
  }

  private removePort(port: SwitchPort): void {
    this.ports.delete(port.id);
    if (port instanceof SockPort) {
      this.sockPorts.delete(port);
      port.data.close();
    }
    for (const [mac, e] of this.macs) if (e.port === port) this.macs.delete(mac);
  }

  private forward(frame: Buffer, from: SwitchPort): void {
    if (frame.length < ETH_HLEN) {
      this.runtFrames++;
      return;
    }
    if (this.ingressFilter && !this.ingressFilter(frame, from)) return;
    if (this.impair) this.impairedForward(frame, from, this.impair);
    else this.switchFrame(frame, from);
  }

  private impairedForward(frame: Buffer, from: SwitchPort, imp: Impairment): void {
    if (this.random() * 100 < imp.lossPercent) {
      this.impairDropped++;
      return;
    }
    const h = this.held.get(from);
    if (h !== undefined) {
      // This frame overtakes the one held back.
      clearTimeout(h.timer);
      this.held.delete(from);
      this.switchFrame(frame, from);
      this.switchFrame(h.frame, from);
      return;
    }
    if (this.random() * 100 < imp.reorderPercent) {
      const timer = setTimeout(() => {
        if (this.held.get(from)?.frame !== frame) return;
        this.held.delete(from);
        if (this.ports.has(from.id)) this.switchFrame(frame, from);
      }, REORDER_HOLD_MS);
      this.held.set(from, { frame, timer });
      return;
    }
    this.switchFrame(frame, from);
  }

  private switchFrame(frame: Buffer, from: SwitchPort): void {
    if (!this.hub) this.learn(frame, from);
    const dst = this.hub || isMulticastMac(frame, 0) ? undefined : this.lookup(frame.subarray(0, 6));
    if (dst !== undefined) {
      if (dst !== from) dst.send(frame);
      return;
    }
    for (const p of this.ports.values()) if (p !== from) p.send(frame);
  }

  private learn(frame: Buffer, from: SwitchPort): void {
    if (isMulticastMac(frame, 6)) return;
    const mac = formatMac(frame.subarray(6, 12));
    const e = this.macs.get(mac);
    if (e === undefined || e.port !== from) {
      this.log(` Addr: ${mac} New port ${from.label}${e ? ` old port ${e.port.label}` : ''}`);
      this.macs.set(mac, { port: from, seen: this.now() });
    } else {
      e.seen = this.now();
    }
  }

  private lookup(dst: Buffer): SwitchPort | undefined {
    const e = this.macs.get(formatMac(dst));
    if (e === undefined) return undefined;
    if (this.now() - e.seen > GC_EXPIRE_MS) {
      this.macs.delete(formatMac(dst));
      return undefined;
    }
    return e.port;
  }

  /** Forget addresses not seen for GC_EXPIRE_MS. Public so tests can drive the clock. */
  gc(): void {
    const t = this.now();
    for (const [mac, e] of this.macs) if (t - e.seen > GC_EXPIRE_MS) this.macs.delete(mac);
  }
}

/**
 * listen() on the control path. If it exists and a server answers there, refuse as
 * uml_switch does; if nobody answers, it is stale: remove it and retry.
 */
async function listenControl(path: string): Promise<net.Server> {
  const tryListen = (): Promise<net.Server> => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ path, backlog: 15 }, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  try {
    return await tryListen();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.createConnection({ path });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`The control socket '${path}' has another server attached to it`);
  fs.unlinkSync(path);
  return tryListen();
}
