// The TCP half of the user-mode network: the guest's TCP connections are terminated here
// (one TcpEndpoint each) and carried on host sockets, so the guest reaches exactly what an
// ordinary program of the user could reach. A connection to the gateway's address goes to
// the host's loopback, as in QEMU. Port forwards come in the other way: a host client's
// connection becomes a connection from the gateway to the guest.
import * as net from 'node:net';
import type { TcpSegmentIn, VirtualLan } from './gateway.js';
import { sendReset, TcpEndpoint, TH_ACK, TH_RST, TH_SYN, type TcpFourTuple } from './tcp-endpoint.js';

/** Source ports the gateway uses toward the guest for forwarded connections. */
const FWD_PORT_FIRST = 32768;
const FWD_PORT_LAST = 60999;

function keyOf(t: TcpFourTuple): string {
  return `${t.guestIp}:${t.guestPort}>${t.peerIp}:${t.peerPort}`;
}

export class TcpProxy {
  private readonly conns = new Map<string, TcpEndpoint>();
  private nextFwdPort = FWD_PORT_FIRST;

  constructor(private readonly lan: VirtualLan) {}

  /** How many connections are open (for tests and mconsole). */
  get size(): number {
    return this.conns.size;
  }

  input(s: TcpSegmentIn): void {
    const seg = s.seg;
    const tuple: TcpFourTuple = { guestIp: s.src, guestPort: seg.readUInt16BE(0), peerIp: s.dst, peerPort: seg.readUInt16BE(2) };
    const key = keyOf(tuple);
    const c = this.conns.get(key);
    if (c) { c.input(seg); return; }
    const flags = seg[13]!;
    if ((flags & (TH_SYN | TH_ACK | TH_RST)) !== TH_SYN) { sendReset(this.lan, tuple, seg); return; }
    const host = this.lan.hostAddressFor(s.dst);
    if (host === null) { sendReset(this.lan, tuple, seg); return; }
    const e = TcpEndpoint.fromGuestSyn(this.lan, tuple, seg, () => net.connect({ host, port: tuple.peerPort, allowHalfOpen: true }));
    this.add(key, e);
  }

  /** A host client of a port forward: connect it to guestIp:guestPort. */
  forward(sock: net.Socket, guestIp: number, guestPort: number): void {
    const tuple: TcpFourTuple = { guestIp, guestPort, peerIp: this.lan.opts.gateway, peerPort: this.allocPort(guestIp, guestPort) };
    this.add(keyOf(tuple), TcpEndpoint.toGuest(this.lan, tuple, sock));
  }

  private allocPort(guestIp: number, guestPort: number): number {
    for (let i = FWD_PORT_FIRST; i <= FWD_PORT_LAST; i++) {
      const p = this.nextFwdPort;
      this.nextFwdPort = p === FWD_PORT_LAST ? FWD_PORT_FIRST : p + 1;
      if (!this.conns.has(keyOf({ guestIp, guestPort, peerIp: this.lan.opts.gateway, peerPort: p }))) return p;
    }
    return this.nextFwdPort;
  }

  private add(key: string, e: TcpEndpoint): void {
    this.conns.set(key, e);
    e.onClose = () => {
      if (this.conns.get(key) === e) this.conns.delete(key);
    };
  }

  close(): void {
    for (const c of [...this.conns.values()]) c.close(true);
    this.conns.clear();
  }
}
