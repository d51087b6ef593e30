// A uml_switch: a virtual Ethernet switch (or hub) whose ports are UMLs and tumls speaking
// the daemon protocol (switch-protocol.ts). Behaviour follows uml_utilities' uml_switch:
// one SOCK_STREAM control socket, one SOCK_DGRAM data socket, ports told apart by the
// sender's address, source MACs learned with a 100 s expiry swept every 2 s, group and
// unknown destinations flooded to every port but the one the frame came in on.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { HostSocketError, UnixDgramSocket, type Datagram } from '../../host/unix-dgram-net.js';
import { EADDRINUSE } from '../../kernel/abi/errno.js';
import { abstractDataAddress, addressKey, decodeRequest, DEFAULT_CTL_SOCK } from './switch-protocol.js';
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
  /** Clock in ms, for tests of expiry. */
  now?: () => number;
}

interface MacEntry {
  port: SwitchPort;
  seen: number;
}

/** A port whose peer speaks the daemon protocol: frames go by sendto on our data socket. */
class SockPort implements SwitchPort {
  readonly label: string;
  dropped = 0;

  constructor(readonly id: number, readonly control: net.Socket, readonly addr: Buffer, private readonly data: UnixDgramSocket) {
    this.label = String(id);
  }

  send(frame: Buffer): void {
    // A full or vanished peer loses the frame; uml_switch would block the whole switch.
    if (this.data.sendTo(frame, this.addr) !== 0) this.dropped++;
  }
}

export class UmlSwitch {
  readonly ctlPath: string;
  readonly hub: boolean;
  /** Our data socket's address: the reply to every request. */
  readonly dataAddr: Buffer;
  private readonly ports = new Map<number, SwitchPort>();
  private readonly byAddr = new Map<string, SockPort>();
  private readonly macs = new Map<string, MacEntry>();
  private nextId = 1;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly gcTimer: NodeJS.Timeout;
  private closed = false;
  private readonly ingressFilter: SwitchOptions['ingressFilter'];
  /** Frames dropped because they came from no known port or were too short. */
  strayFrames = 0;

  private constructor(opts: SwitchOptions, private readonly server: net.Server, private readonly data: UnixDgramSocket) {
    this.ctlPath = opts.ctlPath ?? DEFAULT_CTL_SOCK;
    this.hub = opts.hub ?? false;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.ingressFilter = opts.ingressFilter;
    this.dataAddr = data.address();
    server.on('connection', (c) => this.onControl(c));
    data.onDatagram((d) => this.onData(d), (e) => this.log(`handle_sock_data: recvfrom failed, errno = ${e.errno}`));
    this.gcTimer = setInterval(() => this.gc(), GC_INTERVAL_MS);
    this.gcTimer.unref();
  }

  /** Bind the sockets and start switching. A stale control socket file is replaced. */
  static async start(opts: SwitchOptions = {}): Promise<UmlSwitch> {
    const ctlPath = opts.ctlPath ?? DEFAULT_CTL_SOCK;
    const data = UnixDgramSocket.open();
    try {
      for (let usecs = Math.floor(performance.now() * 1000) % 1_000_000, tries = 0; ; usecs = (usecs + 1) % 1_000_000, tries++) {
        try {
          data.bind(abstractDataAddress(process.pid, usecs));
          break;
        } catch (e) {
          if (!(e instanceof HostSocketError) || e.errno !== EADDRINUSE || tries > 1000) throw e;
        }
      }
      data.setBufferSizes(1 << 20);
      const server = await listenControl(ctlPath);
      return new UmlSwitch(opts, server, data);
    } catch (e) {
      data.close();
      throw e;
    }
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
    for (const p of this.byAddr.values()) p.control.destroy();
    this.data.close();
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
      port = new SockPort(this.nextId++, c, req.dataAddr, this.data);
      this.ports.set(port.id, port);
      this.byAddr.set(addressKey(req.dataAddr), port);
      this.log('New connection');
      c.write(this.dataAddr);
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
      const k = addressKey(port.addr);
      if (this.byAddr.get(k) === port) this.byAddr.delete(k);
    }
    for (const [mac, e] of this.macs) if (e.port === port) this.macs.delete(mac);
  }

  private onData(d: Datagram): void {
    const port = this.byAddr.get(addressKey(d.from));
    if (port === undefined) {
      this.strayFrames++;
      this.log("Unknown connection for packet, shouldn't happen.");
      return;
    }
    this.forward(d.data, port);
  }

  private forward(frame: Buffer, from: SwitchPort): void {
    if (frame.length < ETH_HLEN) {
      this.strayFrames++;
      return;
    }
    if (this.ingressFilter && !this.ingressFilter(frame, from)) return;
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
