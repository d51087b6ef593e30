// A terminal (struct tty_struct): termios, window size, the n_tty line discipline, the
// foreground process group and session, and its driver (a host channel, or the other half
// of a pty). TtyFile is an open file on it; read/write/poll/ioctl follow drivers/tty/tty_io.c,
// tty_ioctl.c and n_tty.c.
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL, EIO, ENOTTY, EPERM, ESPIPE, ESRCH } from '../abi/errno.js';
import { S_IFCHR, O_NONBLOCK } from '../abi/fcntl.js';
import { SIGWINCH } from '../abi/signals.js';
import { File, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, POLLHUP, POLLERR } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import type { Kernel } from '../kernel.js';
import { monotonicMs } from '../sched/timers.js';
import {
  type Termios, defaultTermios, copyTermios, decodeTermios, encodeTermios, ICANON, TOSTOP, FLUSHO,
  VMIN, VTIME, VSTART, VSTOP, TERMIOS_SIZE, TERMIOS2_SIZE, ECHO,
} from './termios.js';
import { NTty, type LdiscPort } from './n-tty.js';
import * as jc from './job-control.js';
import { makedev } from '../fs/devnums.js';

export const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCGETA = 0x5405,
  TCSETA = 0x5406, TCSETAW = 0x5407, TCSETAF = 0x5408, TCSBRK = 0x5409, TCXONC = 0x540a, TCFLSH = 0x540b,
  TIOCEXCL = 0x540c, TIOCNXCL = 0x540d, TIOCSCTTY = 0x540e, TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410,
  TIOCOUTQ = 0x5411, TIOCSTI = 0x5412, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, TIOCMGET = 0x5415,
  TIOCMBIS = 0x5416, TIOCMBIC = 0x5417, TIOCMSET = 0x5418, TIOCGSOFTCAR = 0x5419, TIOCSSOFTCAR = 0x541a,
  FIONREAD = 0x541b, TIOCINQ = 0x541b, TIOCLINUX = 0x541c, TIOCCONS = 0x541d, TIOCPKT = 0x5420,
  TIOCNOTTY = 0x5422, TIOCSETD = 0x5423, TIOCGETD = 0x5424, TCSBRKP = 0x5425, TIOCSBRK = 0x5427,
  TIOCCBRK = 0x5428, TIOCGSID = 0x5429, TCGETS2 = 0x802c542a, TCSETS2 = 0x402c542b, TCSETSW2 = 0x402c542c,
  TCSETSF2 = 0x402c542d, TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGDEV = 0x80045432,
  TIOCSIG = 0x40045436, TIOCVHANGUP = 0x5437, TIOCGPKT = 0x80045438, TIOCGPTLCK = 0x80045439,
  TIOCGEXCL = 0x80045440, TIOCGPTPEER = 0x5441, TIOCGLCKTRMIOS = 0x5456, TIOCSLCKTRMIOS = 0x5457;
export const TCOOFF = 0, TCOON = 1, TCIOFF = 2, TCION = 3;
export const TCIFLUSH = 0, TCOFLUSH = 1, TCIOFLUSH = 2;
const TIOCM_DTR = 0x002, TIOCM_RTS = 0x004, TIOCM_CTS = 0x020, TIOCM_CAR = 0x040, TIOCM_DSR = 0x100;

export interface Winsize { rows: number; cols: number; xpixel?: number; ypixel?: number }

/** The device side of a tty. */
export interface TtyDriver {
  /** Takes output bytes toward the device; returns how many it took. */
  write(data: Buffer): number;
  /** How many bytes write() would take now. */
  writeRoom(): number;
  /** The line discipline refused input earlier and has room again. */
  unthrottle(): void;
  /** Extra ioctls (a pty master's); null when not the driver's. */
  ioctl?(t: Task, file: TtyFile, req: number, arg: number): number | null;
  /** The first open / last close of the tty. */
  opened?(): void;
  closed?(): void;
  /** The window size changed (a pty tells nobody; a line may tell its channel). */
  resized?(w: Winsize): void;
}

/** A sink for tty logging (direction 1: input read by the tty, 2: output written). */
export interface TtyLogger { data(tty: Tty, dir: 1 | 2, b: Buffer): void; open(tty: Tty): void; close(tty: Tty): void }
let logger: TtyLogger | null = null;
export function setTtyLogger(l: TtyLogger | null): void {
  logger = l;
}

let nextLogId = 1;

export class Tty implements LdiscPort {
  termios: Termios;
  winsize: Winsize = { rows: 24, cols: 80, xpixel: 0, ypixel: 0 };
  /** Foreground process group and owning session (0: none). */
  pgrp = 0;
  sid = 0;
  readonly ldisc: NTty;
  readonly files = new Set<TtyFile>();
  outputStopped = false;
  /** A pty master whose slave is closed (reads give EIO once drained). */
  otherClosed = false;
  /** The other half of a pty pair. */
  link: Tty | null = null;
  isMaster = false;
  /** Never becomes a controlling tty by open(2) (pty masters). */
  noCtty = false;
  exclusive = false;
  /** Gone for good (a pty pair whose master closed): opens fail. */
  dead = false;
  private throttled = false;
  private opens = 0;
  readonly logId = nextLogId++;
  /** Where a VTIME read's timer is. */
  private timer: (() => void) | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly rdev: number,
    public driver: TtyDriver,
    termios: Termios = defaultTermios(),
  ) {
    this.termios = termios;
    this.ldisc = new NTty(this);
    jc.ttySet(kernel).add(this);
  }

  // ---- LdiscPort ----
  echo(b: Buffer): void {
    if (b.length === 0) return;
    this.driver.write(b);
    logger?.data(this, 2, b);
  }
  signal(sig: number): void {
    jc.signalPgrp(this.kernel, this.pgrp, sig);
  }
  stopOutput(): void {
    this.outputStopped = true;
  }
  startOutput(): void {
    if (!this.outputStopped) return;
    this.outputStopped = false;
    this.wake();
  }

  /** Wakes every file on this tty (readers, writers, pollers). */
  wake(): void {
    for (const f of this.files) f.waitQueue.wake();
  }

  // ---- input from the device ----

  /** Input bytes from the device. Returns how many were taken; the caller keeps the rest. */
  receive(data: Uint8Array): number {
    const n = this.ldisc.receive(data);
    if (n > 0) logger?.data(this, 1, Buffer.from(data.subarray(0, n)));
    if (n < data.length) this.throttled = true;
    this.wake();
    return n;
  }

  /** How much receive() would take now (a canonical tty without a whole line takes and drops). */
  get inputRoom(): number {
    const r = this.ldisc.room;
    if (r <= 0 && (this.termios.lflag & ICANON) && !this.ldisc.readable) return 512;
    return r;
  }

  /** inputRoom for a writer that will sleep when it is 0: a read making room wakes it. */
  inputRoomFor(): number {
    const r = this.inputRoom;
    if (r <= 0) this.throttled = true;
    return r;
  }

  // ---- files ----

  open(f: TtyFile): void {
    if (this.opens++ === 0) {
      this.driver.opened?.();
      logger?.open(this);
    }
    this.files.add(f);
  }

  close(f: TtyFile): void {
    this.files.delete(f);
    if (--this.opens === 0) {
      logger?.close(this);
      this.driver.closed?.();
    }
  }

  get openCount(): number {
    return this.opens;
  }

  /**
   * Hangup (the channel went away, a pty master closed, vhangup): every open file is hung
   * up (reads give EOF, writes EIO) and the session leader gets SIGHUP and SIGCONT.
   */
  hangup(): void {
    for (const f of this.files) f.hungUp = true;
    jc.hangupSession(this.kernel, this);
    this.ldisc.flush();
    this.outputStopped = false;
    this.wake();
  }

  resize(w: Winsize): void {
    const o = this.winsize;
    if (w.rows === o.rows && w.cols === o.cols && (w.xpixel ?? 0) === (o.xpixel ?? 0) && (w.ypixel ?? 0) === (o.ypixel ?? 0)) return;
    this.winsize = { rows: w.rows, cols: w.cols, xpixel: w.xpixel ?? 0, ypixel: w.ypixel ?? 0 };
    this.driver.resized?.(this.winsize);
    jc.signalPgrp(this.kernel, this.pgrp, SIGWINCH);
  }

  setTermios(nt: Termios): void {
    const old = this.termios;
    this.termios = nt;
    this.ldisc.modeChanged();
    // Turning IXON off restarts stopped output.
    if (this.outputStopped && !(nt.iflag & 0o2000)) this.startOutput();
    void old;
    this.unthrottleIfRoom();
    this.wake();
  }

  private unthrottleIfRoom(): void {
    if (this.throttled && this.ldisc.room > 0) {
      this.throttled = false;
      this.driver.unthrottle();
    }
  }

  // ---- read ----

  /** One read(2): data, or EAGAIN (the caller sleeps on the file's wait queue). */
  read(t: Task, f: TtyFile, len: number): Buffer {
    if (f.hungUp) return Buffer.alloc(0);
    jc.checkRead(t, this);
    const tio = this.termios;
    const canon = (tio.lflag & ICANON) !== 0;
    const nonblock = (f.flags & O_NONBLOCK) !== 0;
    let out: Buffer | null;
    if (canon) {
      out = this.ldisc.read(len);
    } else {
      const vmin = tio.cc[VMIN]!, vtime = tio.cc[VTIME]!;
      const st = f.readStateFor(t);
      const avail = this.ldisc.available;
      const want = Math.min(vmin, len);
      if (avail >= Math.max(want, 1) || (avail > 0 && vtime > 0 && st.deadline !== undefined && monotonicMs() >= st.deadline)) {
        out = this.ldisc.read(len);
      } else if (vmin === 0 && vtime === 0) {
        out = Buffer.alloc(0);
      } else if (nonblock) {
        out = avail > 0 ? this.ldisc.read(len) : null;
      } else {
        if (vtime > 0 && (vmin === 0 || avail > 0)) {
          // MIN=0: a read timeout; MIN>0: an inter-byte timer restarted by each byte.
          if (st.deadline === undefined || (vmin > 0 && avail !== st.seen)) st.deadline = monotonicMs() + vtime * 100;
          st.seen = avail;
          if (monotonicMs() >= st.deadline) out = vmin === 0 ? Buffer.alloc(0) : this.ldisc.read(len);
          else { this.armTimer(st.deadline); out = null; }
        } else out = null;
      }
    }
    if (out === null) {
      if (this.otherClosed) throw new Errno(EIO);
      throw new Errno(EAGAIN);
    }
    f.clearReadState();
    this.unthrottleIfRoom();
    return out;
  }

  private armTimer(at: number): void {
    this.timer?.();
    this.timer = this.kernel.timers.add(at, () => { this.timer = null; this.wake(); });
  }

  // ---- write ----

  write(t: Task, f: TtyFile, data: Buffer): number {
    if (f.hungUp) throw new Errno(EIO);
    if (this.termios.lflag & TOSTOP) jc.checkWrite(t, this);
    if (data.length === 0) return 0;
    if (this.termios.lflag & FLUSHO) return data.length;
    if (this.outputStopped) throw new Errno(EAGAIN);
    const room = this.driver.writeRoom();
    if (room <= 0) throw new Errno(EAGAIN);
    const { out, consumed } = this.ldisc.processOutput(data, room);
    if (consumed === 0) throw new Errno(EAGAIN);
    this.driver.write(out);
    logger?.data(this, 2, out);
    return consumed;
  }

  /** Output from inside the kernel (printk to the console): no job control, no blocking. */
  kernelWrite(data: Buffer): void {
    const { out } = this.ldisc.processOutput(data);
    this.driver.write(out);
    logger?.data(this, 2, out);
  }

  poll(f: TtyFile): number {
    if (f.hungUp) return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLHUP | POLLERR;
    let ev = 0;
    const tio = this.termios;
    const canon = (tio.lflag & ICANON) !== 0;
    if (canon ? this.ldisc.readable : this.ldisc.available >= Math.max(1, tio.cc[VMIN]!) || (this.ldisc.available > 0 && tio.cc[VTIME]! > 0)) ev |= POLLIN | POLLRDNORM;
    if (this.otherClosed) ev |= POLLHUP | (this.ldisc.available ? 0 : POLLIN | POLLRDNORM);
    if (!this.outputStopped && this.driver.writeRoom() > 0) ev |= POLLOUT | POLLWRNORM;
    return ev;
  }

  // ---- ioctl ----

  ioctl(t: Task, f: TtyFile, req: number, arg: number): number {
    const d = this.driver.ioctl?.(t, f, req, arg);
    if (d !== undefined && d !== null) return d;
    // Mode, window and job-control ioctls on a pty master act on its slave.
    const real = this.isMaster && this.link ? this.link : this;
    const k = this.kernel;
    switch (req) {
      case TCGETS: t.mem.write(arg, encodeTermios(real.termios)); return 0;
      case TCGETS2: t.mem.write(arg, encodeTermios(real.termios, true)); return 0;
      case TCSETS: case TCSETSW: case TCSETSF: case TCSETS2: case TCSETSW2: case TCSETSF2: {
        jc.checkChange(t, real, jc.SIGTTOU, true);
        const v2 = req === TCSETS2 || req === TCSETSW2 || req === TCSETSF2;
        const nt = decodeTermios(t.mem.read(arg, v2 ? TERMIOS2_SIZE : TERMIOS_SIZE), v2);
        if (req === TCSETSF || req === TCSETSF2) real.ldisc.flush();
        real.setTermios(nt);
        return 0;
      }
      case TCGETA: case TCSETA: case TCSETAW: case TCSETAF: throw new Errno(EINVAL);
      case TIOCGLCKTRMIOS: t.mem.write(arg, Buffer.alloc(TERMIOS_SIZE)); return 0;
      case TIOCSLCKTRMIOS: if (t.cred.euid !== 0) throw new Errno(EPERM); return 0;
      case TIOCGWINSZ: {
        const b = Buffer.alloc(8);
        const w = real.winsize;
        b.writeUInt16LE(w.rows, 0); b.writeUInt16LE(w.cols, 2); b.writeUInt16LE(w.xpixel ?? 0, 4); b.writeUInt16LE(w.ypixel ?? 0, 6);
        t.mem.write(arg, b);
        return 0;
      }
      case TIOCSWINSZ: {
        const b = t.mem.read(arg, 8);
        real.resize({ rows: b.readUInt16LE(0), cols: b.readUInt16LE(2), xpixel: b.readUInt16LE(4), ypixel: b.readUInt16LE(6) });
        return 0;
      }
      case TIOCGPGRP:
        if (jc.controllingTty(t) !== real) throw new Errno(ENOTTY);
        t.mem.writeI32(arg, real.pgrp);
        return 0;
      case TIOCSPGRP: {
        if (jc.controllingTty(t) !== real) throw new Errno(ENOTTY);
        jc.checkChange(t, real, jc.SIGTTOU, true);
        const pg = t.mem.i32(arg);
        if (pg < 0) throw new Errno(EINVAL);
        if (![...k.groups.values()].some((g) => g.alive && g.pgid === pg)) throw new Errno(ESRCH);
        if (![...k.groups.values()].some((g) => g.alive && g.pgid === pg && g.sid === real.sid)) throw new Errno(EPERM);
        real.pgrp = pg;
        return 0;
      }
      case TIOCGSID:
        if (jc.controllingTty(t) !== real || !real.sid) throw new Errno(ENOTTY);
        t.mem.writeI32(arg, real.sid);
        return 0;
      case TIOCSCTTY: {
        const g = t.group;
        if (g.sid === g.tgid && jc.ttyOfSession(k, g.sid) === real) return 0;
        if (g.sid !== g.tgid || jc.ttyOfSession(k, g.sid)) throw new Errno(EPERM);
        if (real.sid) {
          // Stealing another session's tty needs CAP_SYS_ADMIN and arg 1.
          if (!(arg === 1 && t.cred.euid === 0)) throw new Errno(EPERM);
          jc.hangupSession(k, real);
        }
        real.sid = g.sid;
        real.pgrp = g.pgid;
        return 0;
      }
      case TIOCNOTTY:
        if (jc.controllingTty(t) !== real) throw new Errno(ENOTTY);
        if (t.group.tgid === t.group.sid) jc.disassociate(k, t.group, false);
        return 0;
      case FIONREAD: t.mem.writeI32(arg, this.ldisc.available); return 0;
      case TIOCOUTQ: t.mem.writeI32(arg, 0); return 0;
      case TCFLSH: {
        jc.checkChange(t, real, jc.SIGTTOU, true);
        const q = arg | 0;
        if (q < 0 || q > 2) throw new Errno(EINVAL);
        if (q === TCIFLUSH || q === TCIOFLUSH) { this.ldisc.flush(); this.unthrottleIfRoom(); }
        return 0;
      }
      case TCXONC: {
        jc.checkChange(t, real, jc.SIGTTOU, true);
        switch (arg | 0) {
          case TCOOFF: this.stopOutput(); return 0;
          case TCOON: this.startOutput(); return 0;
          case TCIOFF: if (this.termios.cc[VSTOP]) this.echo(Buffer.from([this.termios.cc[VSTOP]!])); return 0;
          case TCION: if (this.termios.cc[VSTART]) this.echo(Buffer.from([this.termios.cc[VSTART]!])); return 0;
          default: throw new Errno(EINVAL);
        }
      }
      case TCSBRK: case TCSBRKP: case TIOCSBRK: case TIOCCBRK: return 0;
      case TIOCEXCL: this.exclusive = true; return 0;
      case TIOCNXCL: this.exclusive = false; return 0;
      case TIOCGEXCL: t.mem.writeI32(arg, this.exclusive ? 1 : 0); return 0;
      case TIOCGETD: t.mem.writeI32(arg, 0); return 0;
      case TIOCSETD: if (t.mem.i32(arg) !== 0) throw new Errno(EINVAL); return 0;
      case TIOCSTI: {
        if (jc.controllingTty(t) !== this && t.cred.euid !== 0) throw new Errno(EPERM);
        const c = t.mem.read(arg, 1);
        this.ldisc.receive(c);
        this.wake();
        return 0;
      }
      case TIOCGDEV: t.mem.writeU32(arg, real.rdev); return 0;
      case TIOCVHANGUP:
        if (t.cred.euid !== 0) throw new Errno(EPERM);
        this.hangup();
        return 0;
      case TIOCMGET: t.mem.writeI32(arg, TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_CAR | TIOCM_DSR); return 0;
      case TIOCMSET: case TIOCMBIS: case TIOCMBIC: return 0;
      case TIOCGSOFTCAR: t.mem.writeI32(arg, (this.termios.cflag & 0o4000) ? 1 : 0); return 0;
      case TIOCSSOFTCAR: return 0;
      default:
        throw new Errno(ENOTTY);
    }
  }
}

/** An open file on a tty (/dev/console, /dev/ttyN, /dev/ttySN, /dev/pts/N, ptmx). */
export class TtyFile extends File {
  hungUp = false;
  private readState: { task: Task | null; syscall: unknown; deadline?: number; seen?: number } = { task: null, syscall: null };
  private released = false;

  constructor(readonly tty: Tty, flags: number, readonly openedAs = tty.rdev) {
    super(flags);
    tty.open(this);
  }

  /** Per-read(2) state of a VMIN/VTIME wait (survives the call's re-runs). */
  readStateFor(t: Task): { deadline?: number; seen?: number } {
    const s = this.readState;
    if (s.task !== t || s.syscall !== t.syscall) this.readState = { task: t, syscall: t.syscall };
    return this.readState;
  }
  clearReadState(): void {
    this.readState = { task: null, syscall: null };
  }

  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    const now = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
    return { dev: 6, ino: 2 + (this.tty.rdev & 0xffff), mode: S_IFCHR | 0o620, nlink: 1, uid: 0, gid: 5, rdev: this.openedAs, size: 0, blksize: 1024, blocks: 0, atime: now, mtime: now, ctime: now };
  }
  override read(t: Task, len: number): Buffer {
    return this.tty.read(t, this, len);
  }
  override write(t: Task, data: Buffer): number {
    return this.tty.write(t, this, data);
  }
  override ioctl(t: Task, req: number, arg: number): number {
    return this.tty.ioctl(t, this, req, arg);
  }
  override poll(): number {
    return this.tty.poll(this);
  }
  override seek(): number {
    throw new Errno(ESPIPE);
  }
  protected override release(): void {
    if (this.released) return;
    this.released = true;
    this.tty.close(this);
  }
}

export { makedev, copyTermios, ECHO };
