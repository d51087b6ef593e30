// ethN=slirp: the user-mode network as a transport. Frames the guest sends go to the
// virtual gateway, which answers ARP, ICMP, DHCP and DNS itself and proxies TCP and UDP
// through host sockets; what the gateway sends back is delivered as received frames. No
// helper process and no privileges: the guest reaches only what the user could.
import { TransportBase } from '../transport.js';
import { DhcpServer, BOOTPS_PORT } from './dhcp-server.js';
import { DnsForwarder, DNS_PORT } from './dns-forwarder.js';
import { Gateway } from './gateway.js';
import { listenForward, type ForwardListener } from './hostfwd.js';
import { describeSlirpOptions, slirpInfo, type SlirpOptions } from './options.js';
import { TcpProxy } from './tcp-proxy.js';
import { UdpRelay } from './udp-relay.js';

export class SlirpTransport extends TransportBase {
  readonly name = 'slirp';
  readonly gateway: Gateway;
  readonly tcp: TcpProxy;
  readonly udp: UdpRelay;
  private readonly dhcp: DhcpServer;
  private readonly dnsFwd: DnsForwarder;
  private listeners: ForwardListener[] = [];
  private closed = false;

  private constructor(private readonly opts: SlirpOptions) {
    super();
    this.gateway = new Gateway(opts, (frame) => {
      if (!this.closed) this.deliver(frame);
    });
    this.tcp = new TcpProxy(this.gateway);
    this.udp = new UdpRelay(this.gateway);
    this.dhcp = new DhcpServer(this.gateway);
    this.dnsFwd = new DnsForwarder(this.gateway);
    this.gateway.onTcp = (s) => this.tcp.input(s);
    this.gateway.onUdp = (d) => {
      if (d.dport === BOOTPS_PORT) this.dhcp.input(d);
      else if (d.dst === opts.dns && d.dport === DNS_PORT) this.dnsFwd.input(d);
      else this.udp.input(d);
    };
  }

  /** Sets up the network and its port forwards (all of them, or none and an error). */
  static async open(opts: SlirpOptions): Promise<SlirpTransport> {
    const t = new SlirpTransport(opts);
    try {
      for (const f of opts.forwards) t.listeners.push(await listenForward(f, t.tcp, t.udp));
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }

  /** A frame from the guest. */
  send(frame: Buffer): void {
    if (this.closed) return;
    this.countTx(frame, true);
    this.gateway.input(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.listeners) l.close();
    this.listeners = [];
    this.tcp.close();
    this.udp.close();
    this.gateway.close();
  }

  describe(): string {
    const o = describeSlirpOptions(this.opts);
    return o === '' ? 'slirp' : `slirp,,${o}`;
  }

  info(): string {
    return slirpInfo(this.opts);
  }
}
