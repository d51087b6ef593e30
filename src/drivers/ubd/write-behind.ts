// Write-behind for ubd disks: a large write is handed to the I/O thread (io-worker.ts) and
// the kernel thread goes on serving other tasks, as UML's ubd hands requests to its AIO
// thread. Until a write has landed, reads of its range are served from its buffer; a small
// write overlapping it, flush() and close() wait for it first, so the host file
// sees writes in the order the guest made them (discards are zero writes through here), and a flush (the journal's commit barrier)
// covers every write before it. A failed background write is reported at the next flush
// (EIO), as Linux reports writeback errors at fsync.
import { Worker } from 'node:worker_threads';
import type { BlockBackend } from './block-backend.js';
import { CowError, EIO } from './cow-header.js';
import { CTL_DONE, CTL_ERRNO, type IoRequest } from './io-worker.js';

/** A backend whose writes can be a single plain pwrite into one host file. */
export interface PlainWritable {
  /** Where [offset, offset+length) lands as one pwrite, or null when it can't (then write()). */
  plainWriteTarget(offset: number, length: number): { fd: number; pos: number } | null;
  /** Bookkeeping once such a pwrite has landed (a COW file sets its bitmap bits). */
  plainWriteDone(offset: number, length: number): void;
}

/** Writes at least this big go to the I/O thread; smaller ones are cheaper done in place. */
export const WRITE_BEHIND_MIN = 256 << 10;
/** At most this much in flight; a write beyond it first waits for the oldest (throttling). */
export const WRITE_BEHIND_MAX = 64 << 20;

interface InFlight {
  id: number;
  offset: number;
  data: Buffer;
}

/** One I/O thread for all disks, started at the first large write. */
class IoThread {
  private static instance: IoThread | null = null;
  readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private nextId = 0;

  private constructor() {
    this.worker = new Worker(new URL('./io-worker.js', import.meta.url), { workerData: { ctl: this.ctl.buffer } });
    // Never what keeps a finished machine alive.
    this.worker.unref();
  }

  static get(): IoThread {
    return (IoThread.instance ??= new IoThread());
  }

  submit(fd: number, pos: number, data: Buffer): { id: number; copy: Buffer } {
    const sab = new SharedArrayBuffer(data.length);
    const copy = Buffer.from(sab);
    data.copy(copy);
    const id = this.nextId++;
    const req: IoRequest = { id, fd, pos, data: sab };
    this.worker.postMessage(req);
    return { id, copy };
  }

  done(id: number): boolean {
    return Atomics.load(this.ctl, CTL_DONE) > id;
  }

  /** Blocks the calling thread until request `id` has completed. */
  waitFor(id: number): void {
    for (;;) {
      const c = Atomics.load(this.ctl, CTL_DONE);
      if (c > id) return;
      Atomics.wait(this.ctl, CTL_DONE, c);
    }
  }

  /** The first background write error (an errno), cleared by reading it. */
  takeError(): number {
    return Atomics.exchange(this.ctl, CTL_ERRNO, 0);
  }
}

export function isPlainWritable(b: object): b is PlainWritable {
  return typeof (b as Partial<PlainWritable>).plainWriteTarget === 'function';
}

export class WriteBehindStore implements BlockBackend {
  private readonly inFlight: InFlight[] = [];
  private inFlightBytes = 0;
  private usedThread = false;

  constructor(private readonly backend: BlockBackend & PlainWritable) {}

  get size(): number { return this.backend.size; }
  get readOnly(): boolean { return this.backend.readOnly; }
  /** Bytes handed to the I/O thread and not yet known to have landed (for tests). */
  get pendingBytes(): number { return this.inFlightBytes; }

  read(offset: number, length: number): Buffer {
    this.reap();
    const out = this.backend.read(offset, length);
    // Oldest first, so the newest of overlapping writes wins.
    for (const w of this.inFlight) {
      const s = Math.max(offset, w.offset);
      const e = Math.min(offset + length, w.offset + w.data.length);
      if (s < e) w.data.copy(out, s - offset, s - w.offset, e - w.offset);
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    this.reap();
    const target = data.length >= WRITE_BEHIND_MIN ? this.backend.plainWriteTarget(offset, data.length) : null;
    if (!target) {
      this.waitOverlapping(offset, data.length);
      this.backend.write(offset, data);
      return;
    }
    while (this.inFlight.length && this.inFlightBytes + data.length > WRITE_BEHIND_MAX) this.complete(this.inFlight[0]!);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.usedThread = true;
    const { id, copy } = IoThread.get().submit(target.fd, target.pos, buf);
    this.inFlight.push({ id, offset, data: copy });
    this.inFlightBytes += copy.length;
  }

  flush(): void {
    this.drain();
    const errno = this.usedThread ? IoThread.get().takeError() : 0;
    this.backend.flush();
    if (errno) throw new CowError(EIO, `a background write failed (errno ${errno})`);
  }

  close(): void {
    try {
      this.drain();
    } finally {
      this.backend.close();
    }
  }

  /** Waits for every write handed to the I/O thread. */
  drain(): void {
    while (this.inFlight.length) this.complete(this.inFlight[0]!);
  }

  /** Finishes writes that have landed, oldest first, without waiting. */
  private reap(): void {
    if (!this.inFlight.length) return;
    const io = IoThread.get();
    while (this.inFlight.length && io.done(this.inFlight[0]!.id)) this.finish(this.inFlight.shift()!);
  }

  /** Waits for `w` (and so, in order, everything before it) and finishes them. */
  private complete(w: InFlight): void {
    IoThread.get().waitFor(w.id);
    this.reap();
  }

  private finish(w: InFlight): void {
    this.inFlightBytes -= w.data.length;
    this.backend.plainWriteDone(w.offset, w.data.length);
  }

  private waitOverlapping(offset: number, length: number): void {
    let last: InFlight | null = null;
    for (const w of this.inFlight) if (w.offset < offset + length && offset < w.offset + w.data.length) last = w;
    if (last) this.complete(last);
  }
}

/** Wraps `backend` for write-behind when it supports plain writes, else returns it as is. */
export function withWriteBehind(backend: BlockBackend): BlockBackend {
  return isPlainWritable(backend) && !backend.readOnly ? new WriteBehindStore(backend) : backend;
}
