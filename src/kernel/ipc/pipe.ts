// Pipes and FIFOs: a bounded byte buffer with reader and writer counts. Writes of at most
// PIPE_BUF bytes are atomic (never split, never interleaved); a write with no readers gets
// SIGPIPE and EPIPE; a read with no writers sees EOF. Named FIFOs share one Pipe per inode
// among all who open it, with open(2) waiting for the other side as fifo_open does.
import { Errno } from '../errno.js';
import { EAGAIN, EBUSY, EINVAL, ENXIO, EPERM, EPIPE } from '../abi/errno.js';
import { O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO, F_GETPIPE_SZ, F_SETPIPE_SZ } from '../abi/fcntl.js';
import { FIONREAD } from '../abi/event.js';
import { File, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM } from '../fs/file.js';
import type { Stat, Inode } from '../fs/inode.js';
import type { Task, SyscallState } from '../task/task.js';
import { Block } from '../task/task.js';
import { WaitQueue } from '../sched/wait-queue.js';
import { ByteQueue } from '../lib/byte-queue.js';
import { progressOf, setProgress, clearProgress } from './progress.js';
import { raiseSigpipe } from './sigpipe.js';
import { notify } from '../event/notify.js';
import { pipefs, allocIno, pseudoStat, nowTs } from '../event/anon-inode.js';

export const PIPE_BUF = 4096;
export const PAGE_SIZE = 4096;
/** Default capacity: 16 pages, as Linux. */
export const PIPE_DEF_SIZE = 16 * PAGE_SIZE;
/** /proc/sys/fs/pipe-max-size: the ceiling for F_SETPIPE_SZ without CAP_SYS_RESOURCE. */
export let pipeMaxSize = 1048576;
export function setPipeMaxSize(n: number): void { pipeMaxSize = n; }

/** Linux's round_pipe_size: whole pages, a power of two of them. */
export function roundPipeSize(size: number): number {
  if (size > 2 ** 31) return 0;
  const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
  return 2 ** Math.ceil(Math.log2(pages)) * PAGE_SIZE;
}

export class Pipe {
  readonly buf = new ByteQueue();
  capacity = PIPE_DEF_SIZE;
  /** Open read and write ends (an O_RDWR FIFO open counts as both). */
  openReaders = 0;
  openWriters = 0;
  /** How many writers ever came (fifo w_counter): a reader's POLLHUP waits for one. */
  wCounter = 0;
  rCounter = 0;
  /** Every open end, to wake them all. */
  readonly files = new Set<PipeFile>();
  readonly ino = allocIno(pipefs);
  readonly ctime = nowTs();
  /** Openers of a FIFO waiting for the other side (counted as present, as Linux does). */
  readonly waitingReaders = new Map<Task, Waiter>();
  readonly waitingWriters = new Map<Task, Waiter>();
  /** Woken when an end opens (FIFO openers wait here). */
  readonly openQueue = new WaitQueue();

  constructor(readonly uid = 0, readonly gid = 0) {}

  get readers(): number {
    return this.openReaders + liveWaiters(this.waitingReaders);
  }
  get writers(): number {
    return this.openWriters + liveWaiters(this.waitingWriters);
  }
  get free(): number {
    return Math.max(0, this.capacity - this.buf.length);
  }

  /** Reads up to len bytes: EOF (empty) with no writers, EAGAIN when empty. */
  read(len: number): Buffer {
    if (len === 0) return Buffer.alloc(0);
    if (this.buf.length === 0) {
      if (this.writers === 0) return Buffer.alloc(0);
      throw new Errno(EAGAIN);
    }
    const out = this.buf.take(len);
    this.wake(POLLOUT | POLLWRNORM);
    return out;
  }

  /**
   * Writes with pipe_write's rules; `nonblock` says whether the caller may sleep. A blocking
   * write larger than the free space moves what fits, remembers how far it got, and throws
   * EAGAIN; its re-run continues from there.
   */
  write(t: Task, data: Buffer, nonblock: boolean): number {
    const total = data.length;
    const done = nonblock ? 0 : progressOf(t, total);
    if (this.readers === 0) {
      clearProgress(t);
      raiseSigpipe(t);
      if (done > 0) return done;
      throw new Errno(EPIPE);
    }
    if (total === 0) return 0;
    const free = this.free;
    if (total <= PIPE_BUF) {
      if (free < total) throw new Errno(EAGAIN);
      this.buf.push(Buffer.from(data));
      this.wake(POLLIN | POLLRDNORM);
      return total;
    }
    const n = Math.min(free, total - done);
    if (n > 0) {
      this.buf.push(Buffer.from(data.subarray(done, done + n)));
      this.wake(POLLIN | POLLRDNORM);
    }
    const moved = done + n;
    if (moved === total) {
      clearProgress(t);
      return total;
    }
    if (nonblock) {
      if (moved === 0) throw new Errno(EAGAIN);
      return moved;
    }
    setProgress(t, total, moved);
    throw new Errno(EAGAIN);
  }

  /** F_SETPIPE_SZ: returns the new capacity. */
  setCapacity(size: number, privileged: boolean): number {
    const n = roundPipeSize(size);
    if (n === 0) throw new Errno(EINVAL);
    if (n > pipeMaxSize && !privileged) throw new Errno(EPERM);
    if (n < this.buf.length) throw new Errno(EBUSY);
    this.capacity = n;
    this.wake(POLLOUT | POLLWRNORM);
    return n;
  }

  wake(events: number): void {
    for (const f of this.files) notify(f, events);
  }
}

interface Waiter { state: SyscallState | null; counter: number }

/** A waiter whose open call is over (signal, exit) no longer counts. */
function liveWaiters(m: Map<Task, Waiter>): number {
  let n = 0;
  for (const [t, w] of m) {
    if (w.state !== null && t.syscall !== w.state) m.delete(t);
    else n++;
  }
  return n;
}

/** One open end of a pipe or FIFO. */
export class PipeFile extends File {
  /** The writer count when this end opened: POLLHUP needs a writer that came and went. */
  private readonly wCounterAtOpen: number;
  private released = false;

  constructor(readonly pipe: Pipe, flags: number) {
    super(flags);
    const acc = flags & O_ACCMODE;
    if (acc !== O_WRONLY) pipe.openReaders++;
    if (acc !== O_RDONLY) pipe.openWriters++;
    this.wCounterAtOpen = pipe.wCounter;
    pipe.files.add(this);
  }

  /** How /proc/<pid>/fd shows it when it has no path. */
  get anonName(): string {
    return `pipe:[${this.pipe.ino}]`;
  }

  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    return pseudoStat({ fs: pipefs, ino: this.pipe.ino, mode: S_IFIFO | 0o600, uid: this.pipe.uid, gid: this.pipe.gid, time: this.pipe.ctime });
  }

  override read(_t: Task, len: number): Buffer {
    return this.pipe.read(len);
  }
  override write(t: Task, data: Buffer): number {
    return this.pipe.write(t, data, (this.flags & O_NONBLOCK) !== 0);
  }

  override poll(): number {
    const p = this.pipe;
    let mask = 0;
    if (this.readable) {
      if (p.buf.length > 0) mask |= POLLIN | POLLRDNORM;
      if (p.writers === 0 && p.wCounter !== this.wCounterAtOpen) mask |= POLLHUP;
    }
    if (this.writable) {
      if (p.free >= Math.min(PIPE_BUF, p.capacity)) mask |= POLLOUT | POLLWRNORM;
      if (p.readers === 0) mask |= POLLERR;
    }
    return mask;
  }

  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) {
      t.mem.writeI32(arg, this.pipe.buf.length);
      return 0;
    }
    return super.ioctl(t, req, arg);
  }

  /** F_GETPIPE_SZ/F_SETPIPE_SZ, as the fcntl handler calls it (`t` decides privilege). */
  fcntl(cmd: number, arg: number, t?: Task): number {
    if (cmd === F_GETPIPE_SZ) return this.getPipeSize();
    if (cmd === F_SETPIPE_SZ) return this.setPipeSize(arg >>> 0, t ? t.cred.euid === 0 : true);
    throw new Errno(EINVAL);
  }

  getPipeSize(): number {
    return this.pipe.capacity;
  }
  setPipeSize(size: number, privileged: boolean): number {
    return this.pipe.setCapacity(size, privileged);
  }

  protected override release(): void {
    if (this.released) return;
    this.released = true;
    const p = this.pipe;
    const acc = this.flags & O_ACCMODE;
    if (acc !== O_WRONLY) p.openReaders--;
    if (acc !== O_RDONLY) p.openWriters--;
    p.files.delete(this);
    // Readers see EOF/POLLHUP, writers EPIPE/POLLERR.
    p.wake(POLLIN | POLLOUT | POLLHUP | POLLERR);
    if (p.openReaders === 0 && p.openWriters === 0) p.buf.clear();
    onPipeIdle.get(p)?.();
  }
}

/** pipe(2): a new pipe's read and write ends. `flags` may hold O_NONBLOCK. */
export function newPipe(t: Task | null, flags = 0): [PipeFile, PipeFile] {
  const pipe = new Pipe(t?.cred.fsuid ?? 0, t?.cred.fsgid ?? 0);
  const nb = flags & O_NONBLOCK;
  const ends: [PipeFile, PipeFile] = [new PipeFile(pipe, O_RDONLY | nb), new PipeFile(pipe, O_WRONLY | nb)];
  // As Linux: the counters start at 1 while the ends saw 0, so a reader gets POLLHUP once
  // the writer is gone.
  pipe.wCounter = 1;
  pipe.rCounter = 1;
  return ends;
}

/** F_SETPIPE_SZ / F_GETPIPE_SZ for the fcntl handler; null when `file` is not a pipe. */
export function pipeFcntl(t: Task, file: File, cmd: number, arg: number): number | null {
  if (!(file instanceof PipeFile)) return null;
  if (cmd === F_GETPIPE_SZ) return file.getPipeSize();
  if (cmd === F_SETPIPE_SZ) return file.setPipeSize(arg >>> 0, t.cred.euid === 0);
  return null;
}

// ---- named FIFOs ----

const onPipeIdle = new WeakMap<Pipe, () => void>();
const fifoRegistries = new WeakMap<object, Map<string, Pipe>>();

function fifoRegistry(kernel: object): Map<string, Pipe> {
  let m = fifoRegistries.get(kernel);
  if (!m) fifoRegistries.set(kernel, (m = new Map()));
  return m;
}

/** The key openFifo expects for a FIFO inode: its (st_dev, st_ino). */
export function fifoKey(inode: Inode): string {
  const st = inode.getattr();
  return `${st.dev}:${st.ino}`;
}

/**
 * open(2) of a named FIFO (fifo_open): O_RDONLY waits for a writer unless O_NONBLOCK;
 * O_WRONLY waits for a reader, or fails with ENXIO under O_NONBLOCK; O_RDWR never waits.
 * A Block result means: sleep, then call again with the same task and arguments.
 */
export function openFifo(inodeKey: string, flags: number, task: Task): File | Block {
  const reg = fifoRegistry(task.kernel);
  let pipe = reg.get(inodeKey);
  if (!pipe) {
    pipe = new Pipe(task.cred.fsuid, task.cred.fsgid);
    reg.set(inodeKey, pipe);
    const p = pipe;
    onPipeIdle.set(p, () => {
      if (p.openReaders === 0 && p.openWriters === 0 && p.readers === 0 && p.writers === 0 && reg.get(inodeKey) === p) reg.delete(inodeKey);
    });
  }
  const nonblock = (flags & O_NONBLOCK) !== 0;
  const acc = flags & O_ACCMODE;
  const open = (): File => {
    pipe!.waitingReaders.delete(task);
    pipe!.waitingWriters.delete(task);
    const f = new PipeFile(pipe!, flags);
    pipe!.openQueue.wake();
    return f;
  };
  if (acc === O_RDWR) {
    pipe.rCounter++;
    pipe.wCounter++;
    return open();
  }
  if (acc === O_RDONLY) {
    const w = pipe.waitingReaders.get(task);
    if (w && w.state === task.syscall) {
      // Re-run after a wake-up: done once a writer is there or has come and gone.
      if (pipe.writers > 0 || pipe.wCounter !== w.counter) return open();
      return new Block([pipe.openQueue]);
    }
    pipe.rCounter++;
    if (pipe.writers > 0 || nonblock) {
      const f = open();
      return f;
    }
    pipe.waitingReaders.set(task, { state: task.syscall, counter: pipe.wCounter });
    pipe.openQueue.wake();
    return new Block([pipe.openQueue]);
  }
  // O_WRONLY
  const w = pipe.waitingWriters.get(task);
  if (w && w.state === task.syscall) {
    if (pipe.readers > 0 || pipe.rCounter !== w.counter) return open();
    return new Block([pipe.openQueue]);
  }
  if (nonblock && pipe.readers === 0) {
    onPipeIdle.get(pipe)?.();
    throw new Errno(ENXIO);
  }
  pipe.wCounter++;
  if (pipe.readers > 0) return open();
  pipe.waitingWriters.set(task, { state: task.syscall, counter: pipe.rCounter });
  pipe.openQueue.wake();
  return new Block([pipe.openQueue]);
}
