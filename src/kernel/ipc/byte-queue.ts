// A FIFO of bytes kept as the chunks that were written (no copying on write, one copy on
// read): the buffer behind pipes.
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes already consumed from chunks[0]. */
  private head = 0;
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Copies out up to n bytes; consumes them unless peeking. */
  take(n: number, peek = false): Buffer {
    n = Math.min(n, this.length);
    const out = Buffer.allocUnsafe(n);
    let off = 0, i = 0, head = this.head;
    while (off < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length - head, n - off);
      c.copy(out, off, head, head + k);
      off += k;
      head += k;
      if (head === c.length) { i++; head = 0; }
    }
    if (!peek) {
      this.chunks.splice(0, i);
      this.head = head;
      this.length -= n;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}
