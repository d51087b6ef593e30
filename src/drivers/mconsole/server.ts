// The mconsole server: a datagram socket at <uml_dir>/<umid>/mconsole that parses requests as
// Linux's mconsole_get_request() does, runs them one at a time through the command table, and
// sends each reply back to the request's origin.
//
// Replies never block the machine. A client that does not read fills its socket queue after
// about ten datagrams (net.unix.max_dgram_qlen); UML then loses the rest of the reply. Here the
// rest waits in a per-client queue and is sent when the client drains (a connected helper
// socket polls writable exactly when the client's queue has room again).
import { unlinkSync } from 'node:fs';
import { EAGAIN } from '../../kernel/abi/errno.js';
import { UnixDgramSocket, sockaddrUn, type Datagram } from '../../host/unix-dgram.js';
import {
  BAD_VERSION, MCONSOLE_MAGIC, MCONSOLE_MAX_DATA, MCONSOLE_VERSION, REQUEST_SIZE, TOO_LARGE,
  UNKNOWN_COMMAND, V0_REPLY, encodeReply,
} from './protocol.js';
import { COMMANDS, findCommand, type MachineControl, type McCommand, type McContext, type McRequest } from './commands.js';

/** Bytes of replies kept for one client that does not read; beyond this its replies are dropped. */
const MAX_QUEUED_BYTES = 1 << 20;
/** Clients with queued replies at once (each holds a helper socket). */
const MAX_QUEUED_CLIENTS = 64;
/** Requests waiting for the one being served. */
const MAX_PENDING_REQUESTS = 4096;

interface ClientQueue {
  addr: Buffer;
  packets: Buffer[];
  bytes: number;
  helper: UnixDgramSocket | null;
}

interface Pending { cmd: McCommand; data: string; raw: Buffer; origin: Buffer }

/** The boot message UML prints once the console is up. */
export function mconsoleInitMessage(path: string): string {
  return `mconsole (version ${MCONSOLE_VERSION}) initialized on ${path}\n`;
}

export class MconsoleServer {
  private readonly sock: UnixDgramSocket;
  /** UML keeps one static request struct: short packets reuse what the last one left there. */
  private readonly reqBuf = Buffer.alloc(REQUEST_SIZE);
  private readonly queues = new Map<string, ClientQueue>();
  private readonly pending: Pending[] = [];
  private serving = false;
  private referenced = true;
  /** Clients whose replies wait for room in our own send buffer. */
  private readonly sockWaiters = new Set<string>();
  private readonly ctx: McContext;
  /** Errors of handlers (a machine bug) land here instead of killing the console. */
  onError: (e: unknown) => void = (e) => { process.emitWarning(`mconsole: ${String(e)}`); };

  private constructor(readonly path: string, ctl: MachineControl, private readonly table: readonly McCommand[]) {
    this.ctx = { ctl, stopped: false };
    this.sock = UnixDgramSocket.open(REQUEST_SIZE + 1);
    try {
      this.sock.bind(sockaddrUn(path));
    } catch (e) {
      this.sock.close();
      throw e;
    }
    this.sock.whenReadable(() => this.drain());
  }

  /** Bind `path` (which must not exist) and start answering. */
  static listen(path: string, ctl: MachineControl, table: readonly McCommand[] = COMMANDS): MconsoleServer {
    return new MconsoleServer(path, ctl, table);
  }

  /** Whether the machine is stopped by `stop`. */
  get stopped(): boolean {
    return this.ctx.stopped;
  }

  /** Keep the process alive while listening (default), or not. */
  ref(on = true): void {
    this.referenced = on;
    this.sock.ref(on);
    for (const q of this.queues.values()) q.helper?.ref(on);
  }

  /** Stop listening and remove the socket file. */
  close(): void {
    for (const q of this.queues.values()) q.helper?.close();
    this.queues.clear();
    this.sock.close();
    try { unlinkSync(this.path); } catch { /* already gone */ }
  }

  private drain(): void {
    for (;;) {
      let d: Datagram | null;
      try {
        d = this.sock.recvFrom();
      } catch (e) {
        this.onError(e);
        return;
      }
      if (d === null) return;
      this.receive(d);
    }
  }

  /** mconsole_get_request(), byte for byte in what it replies. */
  private receive(d: Datagram): void {
    const b = this.reqBuf;
    d.data.copy(b, 0, 0, Math.min(d.data.length, REQUEST_SIZE));
    const data = b.subarray(12);
    if (b.readUInt32LE(0) !== MCONSOLE_MAGIC) {
      // A version-0 client: the whole packet was the command. Answer with a bare string.
      const nul = b.indexOf(0);
      const len = Math.min(MCONSOLE_MAX_DATA - 1, nul < 0 ? REQUEST_SIZE : nul);
      b.copy(b, 12, 0, len);
      data[len] = 0;
      b.writeUInt32LE(MCONSOLE_MAGIC, 0);
      b.writeUInt32LE(0, 4);
      b.writeUInt32LE(len, 8);
      this.send([Buffer.from(V0_REPLY, 'latin1')], d.from);
      return;
    }
    const len = b.readUInt32LE(8);
    if (len >= MCONSOLE_MAX_DATA) {
      this.reply(d.from, TOO_LARGE, 1, false);
      return;
    }
    // UML answers a wrong version and then serves the request anyway.
    if (b.readUInt32LE(4) !== MCONSOLE_VERSION) this.reply(d.from, BAD_VERSION, 1, false);
    data[len] = 0;
    const text = data.subarray(0, data.indexOf(0)).toString('utf8');
    const cmd = findCommand(text, this.table);
    if (!cmd) {
      this.reply(d.from, UNKNOWN_COMMAND, 1, false);
      return;
    }
    if (this.pending.length >= MAX_PENDING_REQUESTS) return;
    this.pending.push({ cmd, data: text, raw: Buffer.from(data), origin: d.from });
    if (!this.serving) void this.serve();
  }

  /** Requests run one at a time, in arrival order, as UML's work queue runs them. */
  private async serve(): Promise<void> {
    this.serving = true;
    try {
      for (let p = this.pending.shift(); p; p = this.pending.shift()) {
        const origin = p.origin;
        const req: McRequest = {
          data: p.data,
          raw: p.raw,
          reply: (text, err, more) => this.reply(origin, text, err, more),
        };
        try {
          await p.cmd.handler(req, this.ctx);
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      this.serving = false;
    }
  }

  private reply(to: Buffer, text: string, err: number, more: boolean): void {
    if (this.sock.isClosed) return;
    this.send(encodeReply(text, err, more), to);
  }

  /** Send datagrams in order; whatever the client cannot take yet waits in its queue. */
  private send(packets: Buffer[], to: Buffer): void {
    const key = to.toString('hex');
    let q = this.queues.get(key);
    if (!q) {
      let i = 0;
      for (; i < packets.length; i++) {
        const e = this.sock.sendTo(packets[i], to);
        if (e === EAGAIN) break;
        if (e !== 0) return; // The client is gone (ECONNREFUSED, ENOENT): nobody to answer.
      }
      if (i === packets.length) return;
      if (this.queues.size >= MAX_QUEUED_CLIENTS) return;
      q = { addr: to, packets: [], bytes: 0, helper: null };
      this.queues.set(key, q);
      packets = packets.slice(i);
      this.enqueue(q, packets);
      this.waitForRoom(key, q, true);
      return;
    }
    this.enqueue(q, packets);
  }

  private enqueue(q: ClientQueue, packets: Buffer[]): void {
    for (const p of packets) {
      if (q.bytes + p.length > MAX_QUEUED_BYTES) return;
      q.packets.push(p);
      q.bytes += p.length;
    }
  }

  /**
   * Wait until the client's queue has room: the helper is connected to the client, so it polls
   * writable when the client drains. If that wake-up made no progress, the limit was our own
   * send buffer instead, so the next wait is on the server socket.
   */
  private waitForRoom(key: string, q: ClientQueue, onPeer: boolean): void {
    if (onPeer) {
      if (!q.helper) {
        const h = UnixDgramSocket.open(1);
        if (h.connect(q.addr) !== 0) { h.close(); this.dropQueue(key); return; }
        h.ref(this.referenced);
        q.helper = h;
      }
      q.helper.whenWritable(() => this.flush(key, true));
    } else {
      this.sockWaiters.add(key);
      this.sock.whenWritable(() => {
        const keys = [...this.sockWaiters];
        this.sockWaiters.clear();
        for (const k of keys) this.flush(k, false);
      });
    }
  }

  private flush(key: string, wokeOnPeer: boolean): void {
    const q = this.queues.get(key);
    if (!q || this.sock.isClosed) return;
    let sent = 0;
    while (q.packets.length > 0) {
      const e = this.sock.sendTo(q.packets[0], q.addr);
      if (e === EAGAIN) break;
      if (e !== 0) { this.dropQueue(key); return; }
      q.bytes -= q.packets.shift()!.length;
      sent++;
    }
    if (q.packets.length === 0) { this.dropQueue(key); return; }
    this.waitForRoom(key, q, sent > 0 || !wokeOnPeer);
  }

  private dropQueue(key: string): void {
    const q = this.queues.get(key);
    if (!q) return;
    q.helper?.close();
    this.queues.delete(key);
  }
}
