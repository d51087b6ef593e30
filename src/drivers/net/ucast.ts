// ethN=ucast: a point-to-point link over UDP (Linux umcast_kern.c, unicast mode): listen on
// a local port, send every frame to remote addr:port.
import type * as dgram from 'node:dgram';
import { TransportBase } from './transport.js';
import { bindUdp } from './udp-socket.js';

export interface UcastOptions {
  addr: string;
  listenPort: number;
  remotePort: number;
  /** UML binds INADDR_ANY; tuml lets a caller bind one address (tests use 127.0.0.1). */
  bindAddress?: string;
}

export const UCAST_DEFAULTS: UcastOptions = { addr: '127.0.0.1', listenPort: 1102, remotePort: 1102 };

/** UML's configure-time description (umcast_init). */
export function ucastInfo(o: UcastOptions): string {
  return `ucast backend address: ${o.addr}:${o.remotePort} listen port: ${o.listenPort}`;
}

export class UcastTransport extends TransportBase {
  readonly name = 'ucast';
  private closed = false;

  private constructor(private readonly opts: UcastOptions, private readonly sock: dgram.Socket) {
    super();
    sock.on('message', (msg) => this.deliver(msg));
    sock.on('error', () => { /* a failed send is a dropped frame */ });
  }

  static async open(opts: UcastOptions): Promise<UcastTransport> {
    const sock = await bindUdp(opts.bindAddress ?? '0.0.0.0', opts.listenPort);
    return new UcastTransport(opts, sock);
  }

  /** The port actually bound (differs from the option when it was 0). */
  get localPort(): number {
    return this.sock.address().port;
  }

  send(frame: Buffer): void {
    if (this.closed) return;
    this.sock.send(frame, this.opts.remotePort, this.opts.addr, (err) => this.countTx(frame, !err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }

  describe(): string {
    return `ucast,,${this.opts.addr},${this.opts.listenPort},${this.opts.remotePort}`;
  }

  info(): string {
    return ucastInfo(this.opts);
  }
}
