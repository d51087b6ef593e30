// Host channels (UML's chan_kern.c table): the host end of a console or serial line, in
// the main thread. Each delivers input one chunk per request (the kernel asks again only
// when its tty took everything: that is the throttle) and writes output, calling back when
// it is written so the kernel can bound what is in flight.
import * as fs from 'node:fs';

export interface ChannelEvents {
  input(data: Uint8Array): void;
  eof(): void;
  /** A client came (port) or a window opened (xterm). */
  connect(): void;
  winsize(rows: number, cols: number): void;
  log(text: string): void;
}

export interface Channel {
  /** Deliver the next chunk of input (at most one, then wait for the next call). */
  want(): void;
  /** Write output; `done` when it has reached the host (or was dropped for good). */
  write(data: Buffer, done: () => void): void;
  close(): void;
}

/** fd:N — an fd tuml inherited. Reads go through libuv's thread pool, one at a time. */
export class FdChannel implements Channel {
  private reading = false;
  private ended = false;
  private readonly buf = Buffer.alloc(65536);
  constructor(private readonly fd: number, private readonly ev: ChannelEvents) {}
  want(): void {
    if (this.reading || this.ended) return;
    this.reading = true;
    fs.read(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      this.reading = false;
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') { setTimeout(() => this.want(), 10); return; }
      if (err || n === 0) { this.ended = true; this.ev.eof(); return; }
      this.ev.input(new Uint8Array(this.buf.subarray(0, n)));
    });
  }
  write(data: Buffer, done: () => void): void {
    fs.write(this.fd, data, (err) => { void err; done(); });
  }
  close(): void {}
}

/** null — reads never return, writes vanish. */
export class NullChannel implements Channel {
  want(): void {}
  write(_d: Buffer, done: () => void): void { done(); }
  close(): void {}
}
