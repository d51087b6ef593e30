// ethN=daemon: a port on a uml_switch (Debian's, or `tuml switch`), spoken exactly as
// Linux's daemon_user.c does so either switch accepts us (see switch-protocol.ts).
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import { HostSocketError, SOCKADDR_UN_SIZE, UnixDgramSocket } from '../../host/unix-dgram.js';
import { bindDataSocket, DEFAULT_CTL_SOCK, encodeRequestV3, SWITCH_VERSION } from './switch-protocol.js';
import { TransportBase } from './transport.js';

export interface DaemonOptions {
  /** Only "unix" exists (UML ignores the idea of any other). */
  sockType: string;
  ctlSock: string;
}

export const DAEMON_DEFAULTS: DaemonOptions = { sockType: 'unix', ctlSock: DEFAULT_CTL_SOCK };

/** UML's configure-time description (daemon_init). */
export function daemonInfo(o: DaemonOptions): string {
  return `daemon backend (uml_switch version ${SWITCH_VERSION}) - ${o.sockType}:${o.ctlSock}`;
}

function errnoOf(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  const n = code ? (osConstants.errno as Record<string, number>)[code] : undefined;
  return n ?? 0;
}

export class DaemonTransport extends TransportBase {
  readonly name = 'daemon';
  private closed = false;

  private constructor(
    private readonly opts: DaemonOptions,
    private readonly ctl: net.Socket,
    private readonly data: UnixDgramSocket,
    /** The switch's data socket, from its reply. */
    readonly switchAddr: Buffer,
    /** Our own data socket address, as sent in the request. */
    readonly localAddr: Buffer,
  ) {
    super();
    data.onDatagram((d) => this.deliver(d.data));
    ctl.on('close', () => this.signalDisconnect());
    ctl.on('error', () => { /* 'close' follows */ });
    // Anything the switch writes after its reply is meaningless; only EOF matters.
    ctl.on('data', () => {});
    if (ctl.destroyed || ctl.readableEnded) queueMicrotask(() => this.signalDisconnect());
  }

  /** connect_to_switch: control connect, data bind, request, reply. Errors read as UML's. */
  static async open(opts: DaemonOptions): Promise<DaemonTransport> {
    if (opts.sockType !== 'unix') {
      throw new Error(`daemon_open : unsupported sock type '${opts.sockType}' (only 'unix')`);
    }
    const ctl = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ path: opts.ctlSock });
      s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
      // UML's exact words; the host's own error (with the path) rides along as the cause.
      s.once('error', (e) => reject(new Error(`daemon_open : control connect failed, errno = ${errnoOf(e)}`, { cause: e })));
    });
    let data: UnixDgramSocket | null = null;
    try {
      data = UnixDgramSocket.open();
      let local: Buffer;
      try {
        local = bindDataSocket(data);
      } catch (e) {
        throw new Error(`daemon_open : data bind failed, errno = ${e instanceof HostSocketError ? e.errno : 0}`);
      }
      const reply = await exchangeRequest(ctl, encodeRequestV3(local));
      // Unlike UML we connect to the switch's socket: then "writable" means the switch has
      // room, and a burst waits in our queue instead of being lost to the host's tiny
      // datagram queue (net.unix.max_dgram_qlen, 10 by default). The switch may still send
      // to us: a connected AF_UNIX socket accepts datagrams from its peer.
      const err = data.connect(reply);
      if (err !== 0) throw new Error(`daemon_open : connect to the switch's data socket failed, errno = ${err}`);
      data.setBufferSizes(1 << 19);
      return new DaemonTransport(opts, ctl, data, reply, local);
    } catch (e) {
      data?.close();
      ctl.destroy();
      throw e;
    }
  }

  send(frame: Buffer): void {
    if (this.closed) return;
    this.countTx(frame, this.data.queueTo(frame, null));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.data.close();
    this.ctl.destroy();
  }

  describe(): string {
    return `daemon,,${this.opts.sockType},${this.opts.ctlSock}`;
  }

  info(): string {
    return daemonInfo(this.opts);
  }
}

/** Write the request and read exactly sizeof(struct sockaddr_un) back. */
function exchangeRequest(ctl: net.Socket, request: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (err: Error | null, addr?: Buffer): void => {
      ctl.off('data', onData);
      ctl.off('end', onEnd);
      ctl.off('error', onError);
      if (err) reject(err); else resolve(addr!);
    };
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= SOCKADDR_UN_SIZE) {
        // Any bytes past the reply mean nothing, as in UML.
        done(null, Buffer.from(got.subarray(0, SOCKADDR_UN_SIZE)));
      }
    };
    const onEnd = (): void => done(new Error(`daemon_open : read of data socket failed, err = ${got.length} bytes before EOF`));
    const onError = (e: Error): void => done(new Error(`daemon_open : control setup request failed, err = ${errnoOf(e)}`));
    ctl.on('data', onData);
    ctl.once('end', onEnd);
    ctl.once('error', onError);
    ctl.write(request);
  });
}
