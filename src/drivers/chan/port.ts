// port:N — a telnet server on host TCP port N (UML's port channel). Several lines may share
// a port: each new client gets the first line on that port without one. Output written while
// no client is connected waits for the next one; a client leaving hangs the line up.
import * as net from 'node:net';
import type { Channel, ChannelEvents } from './channel.js';
import { TelnetParser, greeting, escapeOutput } from './telnet.js';

const servers = new Map<number, PortServer>();

class PortServer {
  readonly slots: PortChannel[] = [];
  private readonly server: net.Server;
  constructor(readonly port: number, log: (t: string) => void) {
    this.server = net.createServer((s) => this.accept(s));
    this.server.on('error', (e) => log(`tuml: port channel ${port}: ${(e as Error).message}`));
    this.server.listen(port, () => log(`tuml: listening on port ${port} (telnet to reach the line)`));
  }
  private accept(s: net.Socket): void {
    const free = this.slots.find((c) => !c.connected);
    if (!free) {
      s.end('tuml: no free line on this port\r\n');
      return;
    }
    free.attach(s);
  }
  remove(c: PortChannel): void {
    const i = this.slots.indexOf(c);
    if (i >= 0) this.slots.splice(i, 1);
    if (this.slots.length === 0) {
      this.server.close();
      servers.delete(this.port);
    }
  }
}

export class PortChannel implements Channel {
  private sock: net.Socket | null = null;
  private wanted = false;
  /** Bytes the kernel may still be sent before it asks again (the throttle, with slack). */
  private credit = 0;
  private queue: { data: Buffer; done: () => void }[] = [];
  private readonly server: PortServer;

  constructor(port: number, private readonly ev: ChannelEvents) {
    let s = servers.get(port);
    if (!s) servers.set(port, (s = new PortServer(port, ev.log)));
    this.server = s;
    s.slots.push(this);
  }

  get connected(): boolean {
    return this.sock !== null;
  }

  attach(s: net.Socket): void {
    this.sock = s;
    s.setNoDelay(true);
    s.pause();
    const parser = new TelnetParser({
      reply: (b) => { if (!s.destroyed) s.write(b); },
      winsize: (cols, rows) => this.ev.winsize(rows, cols),
    });
    s.write(greeting());
    s.on('data', (d: Buffer) => {
      const clean = parser.input(d);
      if (clean.length === 0) return; // negotiation only: keep reading
      this.credit -= clean.length;
      if (this.credit <= 0) { s.pause(); this.wanted = false; }
      this.ev.input(new Uint8Array(clean));
    });
    const gone = () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.ev.eof();
    };
    s.on('close', gone);
    s.on('error', gone);
    this.ev.connect();
    for (const q of this.queue.splice(0)) this.write(q.data, q.done);
    if (this.wanted) s.resume();
  }

  want(): void {
    this.wanted = true;
    this.credit = 65536;
    this.sock?.resume();
  }

  write(data: Buffer, done: () => void): void {
    const s = this.sock;
    if (!s || s.destroyed) { this.queue.push({ data, done }); return; }
    s.write(escapeOutput(data), () => done());
  }

  close(): void {
    this.sock?.destroy();
    this.server.remove(this);
  }
}
