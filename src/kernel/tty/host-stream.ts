// The guest's end of a host stream that is not a terminal (a pipe or a file given to
// `tuml -- cmd`): it looks like a pipe to the guest, as docker run without -t does.
import { Errno } from '../errno.js';
import { EAGAIN, EPIPE, ESPIPE } from '../abi/errno.js';
import { S_IFIFO } from '../abi/fcntl.js';
import { File, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, POLLHUP, POLLERR } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { SIGPIPE } from '../abi/signals.js';
import { sendToTask } from '../signal/deliver.js';

const FIONREAD = 0x541b;

function fifoStat(ino: number): Stat {
  const now = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
  return { dev: 12, ino, mode: S_IFIFO | 0o600, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0, atime: now, mtime: now, ctime: now };
}

/** Bytes arriving from the main thread for one host input channel. */
export class HostInput {
  private chunks: Buffer[] = [];
  private size = 0;
  eof = false;
  private asked = false;
  readonly files = new Set<HostInputFile>();
  constructor(private readonly want: () => void) {}

  push(data: Uint8Array): void {
    this.asked = false;
    this.chunks.push(Buffer.from(data));
    this.size += data.length;
    this.wakeAll();
  }
  end(): void {
    this.asked = false;
    this.eof = true;
    this.wakeAll();
  }
  private wakeAll(): void {
    for (const f of this.files) f.waitQueue.wake();
  }
  /** Asks the main thread for more if none is buffered or on the way. */
  demand(): void {
    if (!this.asked && !this.eof && this.size < 65536) {
      this.asked = true;
      this.want();
    }
  }
  take(len: number): Buffer | null {
    if (this.size === 0) {
      if (this.eof) return Buffer.alloc(0);
      this.demand();
      return null;
    }
    const out: Buffer[] = [];
    let n = 0;
    while (n < len && this.chunks.length) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, len - n);
      out.push(c.subarray(0, k));
      n += k;
      if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k);
    }
    this.size -= n;
    this.demand();
    return Buffer.concat(out, n);
  }
  get available(): number {
    return this.size;
  }
}

export class HostInputFile extends File {
  constructor(private readonly input: HostInput, flags: number) {
    super(flags);
    input.files.add(this);
  }
  stat(): Stat { return fifoStat(100); }
  override read(_t: Task, len: number): Buffer {
    const b = this.input.take(len);
    if (b === null) throw new Errno(EAGAIN);
    return b;
  }
  override poll(): number {
    if (this.input.available) return POLLIN | POLLRDNORM;
    if (this.input.eof) return POLLHUP;
    this.input.demand();
    return 0;
  }
  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) { t.mem.writeI32(arg, this.input.available); return 0; }
    return super.ioctl(t, req, arg);
  }
  override seek(): number { throw new Errno(ESPIPE); }
  protected override release(): void { this.input.files.delete(this); }
}

export class HostOutputFile extends File {
  broken = false;
  constructor(private readonly sink: (b: Buffer) => boolean, flags: number, private readonly ino: number) {
    super(flags);
  }
  stat(): Stat { return fifoStat(this.ino); }
  override write(t: Task, data: Buffer): number {
    if (this.broken || !this.sink(data)) {
      this.broken = true;
      sendToTask(t.kernel, t, SIGPIPE);
      throw new Errno(EPIPE);
    }
    return data.length;
  }
  override poll(): number { return this.broken ? POLLERR : POLLOUT | POLLWRNORM; }
  override seek(): number { throw new Errno(ESPIPE); }
}
