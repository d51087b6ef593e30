// Host port forwards (`hostfwd=tcp:127.0.0.1:8022-:22`): a listening host socket per rule;
// each TCP client becomes a connection from the gateway to the guest's port, each UDP
// client a flow from a gateway port.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { HostForward } from './options.js';
import type { TcpProxy } from './tcp-proxy.js';
import type { UdpRelay } from './udp-relay.js';
import { ipToString } from './packet.js';

export interface ForwardListener {
  close(): void;
}

function describe(f: HostForward): string {
  return `${f.proto}:${f.hostAddr}:${f.hostPort}-${ipToString(f.guestAddr)}:${f.guestPort}`;
}

/** Starts listening for one rule; rejects with a clear message when the port cannot be had. */
export function listenForward(f: HostForward, tcp: TcpProxy, udp: UdpRelay): Promise<ForwardListener> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => reject(new Error(`slirp: could not set up host forwarding rule '${describe(f)}': ${e.code ?? e.message}`));
    if (f.proto === 'tcp') {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => tcp.forward(sock, f.guestAddr, f.guestPort));
      server.once('error', fail);
      server.listen({ host: f.hostAddr, port: f.hostPort }, () => {
        server.off('error', fail);
        server.on('error', () => { /* accept errors leave the listener up */ });
        resolve({ close: () => server.close() });
      });
    } else {
      const sock = dgram.createSocket('udp4');
      sock.once('error', fail);
      sock.on('message', (msg, rinfo) => udp.fromForward(sock, msg, rinfo.address, rinfo.port, f.guestAddr, f.guestPort));
      sock.bind({ address: f.hostAddr, port: f.hostPort }, () => {
        sock.off('error', fail);
        sock.on('error', () => { /* a failed reply is a lost datagram */ });
        resolve({ close: () => sock.close() });
      });
    }
  });
}
