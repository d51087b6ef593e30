// The UDP half of the user-mode network. Each guest socket (source address and port) gets a
// host socket of its own (node:dgram, an ephemeral port), so replies find their way back and
// the guest's idea of "connected" UDP holds; flows idle for a while are closed. UDP port
// forwards run the other way: each host client gets a source port on the gateway, and the
// guest's replies to that port go back to the client from the forwarded host port.
import * as dgram from 'node:dgram';
import type { UdpDatagram, VirtualLan } from './gateway.js';

/** QEMU closes idle UDP sockets after a few minutes; DNS-style traffic needs far less. */
const FLOW_IDLE_MS = 120_000;
const FWD_PORT_FIRST = 61000;
const FWD_PORT_LAST = 65535;

interface Flow {
  sock: dgram.Socket;
  idle: NodeJS.Timeout;
}

interface ForwardSession {
  server: dgram.Socket;
  clientAddr: string;
  clientPort: number;
  guestIp: number;
  guestPort: number;
  idle: NodeJS.Timeout;
}

export class UdpRelay {
  private readonly flows = new Map<string, Flow>();
  private readonly sessions = new Map<number, ForwardSession>();
  private readonly sessionByClient = new Map<string, number>();
  private nextPort = FWD_PORT_FIRST;

  constructor(private readonly lan: VirtualLan) {}

  /** A datagram from the guest to somewhere beyond the gateway. */
  input(d: UdpDatagram): void {
    if (d.dst === this.lan.opts.gateway) {
      const s = this.sessions.get(d.dport);
      if (s && s.guestIp === d.src && s.guestPort === d.sport) {
        s.idle.refresh();
        s.server.send(d.data, s.clientPort, s.clientAddr);
        return;
      }
    }
    const host = this.lan.hostAddressFor(d.dst);
    if (host === null || d.dport === 0) return;
    this.flowFor(d.src, d.sport).sock.send(d.data, d.dport, host, () => { /* a lost datagram is UDP */ });
  }

  private flowFor(guestIp: number, guestPort: number): Flow {
    const key = `${guestIp}:${guestPort}`;
    const f = this.flows.get(key);
    if (f) {
      f.idle.refresh();
      return f;
    }
    const sock = dgram.createSocket('udp4');
    const flow: Flow = {
      sock,
      idle: setTimeout(() => {
        this.flows.delete(key);
        sock.close();
      }, FLOW_IDLE_MS),
    };
    flow.idle.unref();
    sock.on('error', () => { /* ICMP errors from the host are not relayed */ });
    sock.on('message', (msg, rinfo) => {
      const src = this.lan.virtualAddressFor(rinfo.address);
      if (src === null) return;
      flow.idle.refresh();
      this.lan.sendUdp(src, rinfo.port, guestIp, guestPort, msg);
    });
    sock.bind(0);
    this.flows.set(key, flow);
    return flow;
  }

  /** A datagram that arrived on a forwarded host port, for guestIp:guestPort. */
  fromForward(server: dgram.Socket, msg: Buffer, clientAddr: string, clientPort: number, guestIp: number, guestPort: number): void {
    const ckey = `${clientAddr}:${clientPort}>${guestIp}:${guestPort}`;
    let port = this.sessionByClient.get(ckey);
    if (port === undefined) {
      port = this.allocPort();
      const p = port;
      const s: ForwardSession = {
        server, clientAddr, clientPort, guestIp, guestPort,
        idle: setTimeout(() => {
          this.sessions.delete(p);
          this.sessionByClient.delete(ckey);
        }, FLOW_IDLE_MS),
      };
      s.idle.unref();
      this.sessions.set(port, s);
      this.sessionByClient.set(ckey, port);
    } else this.sessions.get(port)!.idle.refresh();
    this.lan.sendUdp(this.lan.opts.gateway, port, guestIp, guestPort, msg);
  }

  private allocPort(): number {
    for (let i = FWD_PORT_FIRST; i <= FWD_PORT_LAST; i++) {
      const p = this.nextPort;
      this.nextPort = p === FWD_PORT_LAST ? FWD_PORT_FIRST : p + 1;
      if (!this.sessions.has(p)) return p;
    }
    return this.nextPort;
  }

  close(): void {
    for (const f of this.flows.values()) { clearTimeout(f.idle); f.sock.close(); }
    for (const s of this.sessions.values()) clearTimeout(s.idle);
    this.flows.clear();
    this.sessions.clear();
    this.sessionByClient.clear();
  }
}
