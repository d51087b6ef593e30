// A console or serial line (UML's struct line): a tty whose device is a pair of host
// channels served by the main thread. Input flows only when asked for ('want-input'), and
// the line asks again only when the line discipline has taken everything it got, so a full
// tty pushes back on the host instead of dropping (throttling). Output goes straight to a
// host fd for fd:N channels, or to the main thread with a bounded amount in flight.
import type { Kernel } from '../kernel.js';
import { Tty, type TtyDriver, type Winsize } from './tty.js';
import type { LineSpec } from './line-spec.js';
import { makedev } from '../fs/devnums.js';
import * as hostFiles from '../../host/files.js';

/** Output bytes that may be on their way to the host before writers wait. */
const MAX_IN_FLIGHT = 256 * 1024;

export class Line implements TtyDriver {
  readonly tty: Tty;
  private pending: Buffer[] = [];
  private asked = false;
  private inFlight = 0;
  /** Input ended for good (an fd channel's EOF). */
  private ended = false;
  /** Input goes to someone else (con0's pipe-like stdio when stdin is not a terminal). */
  inputDiverted = false;

  constructor(private readonly k: Kernel, readonly spec: LineSpec) {
    this.tty = new Tty(k, spec.name, makedev(4, spec.chan), this);
  }

  get chan(): number {
    return this.spec.chan;
  }

  // ---- input ----

  /** Bytes from the channel. */
  input(data: Uint8Array): void {
    this.asked = false;
    this.pending.push(Buffer.from(data));
    this.pump();
  }

  /** Feeds what is pending to the tty; asks for more only when all of it was taken. */
  pump(): void {
    while (this.pending.length) {
      const b = this.pending[0]!;
      const n = this.tty.receive(b);
      if (n < b.length) {
        this.pending[0] = b.subarray(n);
        return;
      }
      this.pending.shift();
    }
    this.want();
  }

  want(): void {
    if (this.asked || this.ended || this.inputDiverted || this.spec.input.type === 'null') return;
    if (this.tty.inputRoomFor() <= 0) return; // the tty unthrottles us once a read makes room
    this.asked = true;
    this.k.post({ type: 'want-input', chan: this.chan });
  }

  /** The channel's input ended: an fd at EOF ends for good, a port client may come back. */
  eof(): void {
    this.asked = false;
    if (this.spec.input.type === 'fd' || this.spec.input.type === 'tty') this.ended = true;
    this.pending = [];
    this.tty.hangup();
    this.want();
  }

  /** A new client on a port or xterm channel: the line starts afresh. */
  connected(): void {
    this.tty.wake();
    this.want();
  }

  unthrottle(): void {
    this.pump();
  }

  // ---- output ----

  write(data: Buffer): number {
    const out = this.spec.output;
    if (out.type === 'null') return data.length;
    if (out.type === 'fd') {
      try { hostFiles.writeAll(out.fd, data); } catch { /* host side gone: like UML, drop */ }
      return data.length;
    }
    this.inFlight += data.length;
    this.k.post({ type: 'output', chan: this.chan, data: new Uint8Array(data) });
    return data.length;
  }

  writeRoom(): number {
    const t = this.spec.output.type;
    if (t === 'null' || t === 'fd') return 1 << 20;
    return Math.max(0, MAX_IN_FLIGHT - this.inFlight);
  }

  /** The main thread wrote n bytes to the host. */
  acked(n: number): void {
    const before = this.writeRoom();
    this.inFlight = Math.max(0, this.inFlight - n);
    if (before <= 0 || this.inFlight < MAX_IN_FLIGHT / 2) this.tty.wake();
  }

  resized(_w: Winsize): void {}
}
