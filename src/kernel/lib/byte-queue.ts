// A FIFO of bytes kept as the chunks that were pushed (no copy on write, one on read): the
// buffer behind pipes and TCP. Reading at an offset copies without consuming (retransmission).
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Copies up to `len` bytes starting `off` bytes from the front. */
  peek(off: number, len: number): Buffer {
    len = Math.max(0, Math.min(len, this.length - off));
    const out = Buffer.allocUnsafe(len);
    this.copyTo(off, len, out, 0);
    return out;
  }

  /** Copies up to `len` bytes starting `off` bytes from the front into `dst` at `at`. */
  copyTo(off: number, len: number, dst: Buffer, at: number): number {
    len = Math.max(0, Math.min(len, this.length - off));
    let skip = off + this.head, o = 0;
    for (const c of this.chunks) {
      if (o >= len) break;
      if (skip >= c.length) { skip -= c.length; continue; }
      const n = Math.min(c.length - skip, len - o);
      c.copy(dst, at + o, skip, skip + n);
      o += n;
      skip = 0;
    }
    return len;
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    n = Math.min(n, this.length);
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (n < avail) { this.head += n; return; }
      n -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  take(n: number): Buffer {
    const b = this.peek(0, n);
    this.consume(b.length);
    return b;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}
