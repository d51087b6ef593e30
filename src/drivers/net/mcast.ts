// ethN=mcast: a virtual LAN on an IPv4 multicast group (Linux umcast_kern.c/umcast_user.c).
// Every member binds group:port and sends to group:port; IP_MULTICAST_LOOP is on, so
// UMLs on one host hear each other (and each hears its own frames, as in UML).
import type * as dgram from 'node:dgram';
import { TransportBase } from './transport.js';
import { bindUdp } from './udp-socket.js';

export interface McastOptions {
  addr: string;
  port: number;
  ttl: number;
  /**
   * Local interface address for IP_MULTICAST_IF and IP_ADD_MEMBERSHIP. UML always uses
   * INADDR_ANY (the routing table picks); tuml lets a caller pin it, e.g. to 127.0.0.1.
   */
  iface?: string;
}

export const MCAST_DEFAULTS: McastOptions = { addr: '239.192.168.1', port: 1102, ttl: 1 };

/** UML's configure-time description (umcast_init). */
export function mcastInfo(o: McastOptions): string {
  return `mcast backend multicast address: ${o.addr}:${o.port}, TTL:${o.ttl}`;
}

export class McastTransport extends TransportBase {
  readonly name = 'mcast';
  private closed = false;

  private constructor(private readonly opts: McastOptions, private readonly sock: dgram.Socket) {
    super();
    sock.on('message', (msg) => this.deliver(msg));
    sock.on('error', () => { /* a failed send is a dropped frame */ });
  }

  static async open(opts: McastOptions): Promise<McastTransport> {
    const sock = await bindUdp(opts.addr, opts.port);
    const step = (what: string, f: () => void): void => {
      try {
        f();
      } catch (e) {
        sock.close();
        throw new Error(`umcast_open: ${what} failed, error = ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    step('IP_MULTICAST_TTL', () => sock.setMulticastTTL(opts.ttl));
    step('IP_MULTICAST_LOOP', () => sock.setMulticastLoopback(true));
    if (opts.iface !== undefined) step('IP_MULTICAST_IF', () => sock.setMulticastInterface(opts.iface!));
    step('IP_ADD_MEMBERSHIP', () => sock.addMembership(opts.addr, opts.iface));
    return new McastTransport(opts, sock);
  }

  send(frame: Buffer): void {
    if (this.closed) return;
    this.sock.send(frame, this.opts.port, this.opts.addr, (err) => this.countTx(frame, !err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.sock.dropMembership(this.opts.addr, this.opts.iface); } catch { /* closing anyway */ }
    this.sock.close();
  }

  describe(): string {
    return `mcast,,${this.opts.addr},${this.opts.port},${this.opts.ttl}`;
  }

  info(): string {
    return mcastInfo(this.opts);
  }
}
