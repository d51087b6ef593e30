// A terminal: termios, window size, the n_tty line discipline (canonical editing, echo,
// signal characters), and job control (foreground process group, session, SIGTTIN/SIGTTOU).
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL, EIO, ENOTTY, EPERM, EINTR } from '../abi/errno.js';
import { S_IFCHR, O_NONBLOCK } from '../abi/fcntl.js';
import { SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGHUP, SIGCONT } from '../abi/signals.js';
import { File, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, POLLHUP } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { Block } from '../task/task.js';
import { WaitQueue } from '../sched/wait-queue.js';
import type { Kernel } from '../kernel.js';
import {
  defaultTermios, decodeTermios, encodeTermios, type Termios, ECHO, ECHOE, ECHOK, ECHOCTL, ECHONL,
  ICANON, ISIG, ICRNL, IGNCR, INLCR, OPOST, ONLCR, OCRNL, TOSTOP, IEXTEN, NOFLSH, ECHOKE,
  VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VQUIT, VSUSP, VWERASE, VLNEXT, VMIN, VTIME, VREPRINT,
} from './termios.js';
import { killTargets } from '../syscalls/sys_signal.js';
import { sendToGroup } from '../signal/deliver.js';
import { makedev } from '../fs/devnums.js';
import { monotonicMs } from '../sched/timers.js';

export const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCSBRK = 0x5409,
  TCXONC = 0x540a, TCFLSH = 0x540b, TIOCEXCL = 0x540c, TIOCNXCL = 0x540d, TIOCSCTTY = 0x540e,
  TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411, TIOCSTI = 0x5412, TIOCGWINSZ = 0x5413,
  TIOCSWINSZ = 0x5414, FIONREAD = 0x541b, TIOCNOTTY = 0x5422, TIOCGSID = 0x5429, TCSBRKP = 0x5425,
  TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGDEV = 0x80045432, TIOCVHANGUP = 0x5437,
  TIOCGEXCL = 0x80045440, TCGETS2 = 0x802c542a, TCSETS2 = 0x402c542b;

export interface Winsize { rows: number; cols: number }

export class Tty {
  termios: Termios = defaultTermios();
  winsize: Winsize = { rows: 24, cols: 80 };
  /** Foreground process group and owning session (0: none). */
  pgrp = 0;
  sid = 0;
  /** Bytes ready for read(): complete lines in canonical mode, everything otherwise. */
  private ready: number[] = [];
  /** The line being edited (canonical mode). */
  private line: number[] = [];
  private eofPending = 0;
  private lnext = false;
  hungUp = false;
  readonly readers = new WaitQueue();
  /** Called when the tty would like more input from its channel. */
  onWantInput: () => void = () => {};

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly rdev: number,
    /** Where output goes (the channel's host side). */
    private readonly sink: (b: Buffer) => void,
  ) {}

  // ---- input side (from the channel) ----
  receive(data: Uint8Array): void {
    const t = this.termios;
    for (let c of data) {
      if (this.lnext) {
        this.lnext = false;
        this.addChar(c, true);
        continue;
      }
      if (c === 13 && (t.iflag & IGNCR)) continue;
      if (c === 13 && (t.iflag & ICRNL)) c = 10;
      else if (c === 10 && (t.iflag & INLCR)) c = 13;
      if (t.lflag & ISIG) {
        const sig = c === t.cc[VINTR] ? SIGINT : c === t.cc[VQUIT] ? SIGQUIT : c === t.cc[VSUSP] ? SIGTSTP : 0;
        if (sig && c !== 0) {
          if (!(t.lflag & NOFLSH)) { this.line = []; this.ready = []; }
          this.echoCtl(c);
          this.signalForeground(sig);
          continue;
        }
      }
      if ((t.lflag & IEXTEN) && c === t.cc[VLNEXT] && (t.lflag & ICANON)) {
        this.lnext = true;
        continue;
      }
      this.addChar(c, false);
    }
    this.readers.wake();
  }

  private addChar(c: number, literal: boolean): void {
    const t = this.termios;
    if (!(t.lflag & ICANON)) {
      this.ready.push(c);
      if (t.lflag & ECHO) this.echoCtl(c);
      return;
    }
    if (!literal) {
      if (c === t.cc[VERASE] || (c === 8 && t.cc[VERASE] === 0x7f)) {
        if (this.line.length) {
          const gone = this.line.pop()!;
          if ((t.lflag & ECHO) && (t.lflag & ECHOE)) this.output(Buffer.from(gone < 32 && (t.lflag & ECHOCTL) ? '\b\b  \b\b' : '\b \b'), true);
        }
        return;
      }
      if (c === t.cc[VWERASE] && (t.lflag & IEXTEN)) {
        while (this.line.length && this.line[this.line.length - 1] === 32) this.eraseOne();
        while (this.line.length && this.line[this.line.length - 1] !== 32) this.eraseOne();
        return;
      }
      if (c === t.cc[VKILL]) {
        if ((t.lflag & ECHO) && (t.lflag & (ECHOK | ECHOKE))) while (this.line.length) this.eraseOne();
        this.line = [];
        return;
      }
      if (c === t.cc[VREPRINT] && (t.lflag & IEXTEN)) {
        this.echoCtl(c);
        this.output(Buffer.from('\n' + Buffer.from(this.line).toString('latin1')), true);
        return;
      }
      if (c === t.cc[VEOF] && c !== 0) {
        if (this.line.length === 0) this.eofPending++;
        this.ready.push(...this.line);
        this.line = [];
        return;
      }
    }
    this.line.push(c);
    if (t.lflag & ECHO) this.echoCtl(c);
    else if (c === 10 && (t.lflag & ECHONL)) this.output(Buffer.from('\n'), true);
    if (!literal && (c === 10 || (c === t.cc[VEOL] && c !== 0) || (c === t.cc[VEOL2] && c !== 0))) {
      this.ready.push(...this.line);
      this.line = [];
    }
  }

  private eraseOne(): void {
    this.line.pop();
    if (this.termios.lflag & ECHO) this.output(Buffer.from('\b \b'), true);
  }

  private echoCtl(c: number): void {
    const t = this.termios;
    if (!(t.lflag & ECHO)) return;
    if ((t.lflag & ECHOCTL) && (c < 32 && c !== 10 && c !== 9) || c === 127) {
      if (t.lflag & ECHOCTL) {
        this.output(Buffer.from([0x5e, c === 127 ? 0x3f : c + 64]), true);
        return;
      }
    }
    this.output(Buffer.from([c]), true);
  }

  private signalForeground(sig: number): void {
    if (!this.pgrp) return;
    const k = this.kernel;
    for (const g of [...k.groups.values()]) if (g.alive && g.pgid === this.pgrp) sendToGroup(k, g, sig, { pid: 0, uid: 0, code: 0x80 /* SI_KERNEL */ });
  }

  hangup(): void {
    this.hungUp = true;
    if (this.sid) {
      for (const g of [...this.kernel.groups.values()]) {
        if (g.alive && g.sid === this.sid && g.tgid === this.sid) { sendToGroup(this.kernel, g, SIGHUP); sendToGroup(this.kernel, g, SIGCONT); }
      }
    }
    this.readers.wake();
  }

  resize(w: Winsize): void {
    if (w.rows === this.winsize.rows && w.cols === this.winsize.cols) return;
    this.winsize = w;
    this.signalForeground(SIGWINCH);
  }

  get available(): number {
    return this.ready.length;
  }

  // ---- output side ----
  output(data: Buffer, isEcho = false): void {
    void isEcho;
    const t = this.termios;
    if (t.oflag & OPOST) {
      if ((t.oflag & ONLCR) && data.includes(10)) {
        const out: number[] = [];
        for (const c of data) {
          if (c === 10) out.push(13, 10);
          else if (c === 13 && (t.oflag & OCRNL)) out.push(10);
          else out.push(c);
        }
        data = Buffer.from(out);
      }
    }
    this.sink(data);
  }

  // ---- job control checks (tty_check_change, n_tty read side) ----
  private isBackground(t: Task): boolean {
    return this.sid !== 0 && t.group.sid === this.sid && this.pgrp !== 0 && t.group.pgid !== this.pgrp;
  }

  checkRead(t: Task): void {
    if (!this.isBackground(t)) return;
    const acts = t.group.sigactions;
    const blocked = (t.tracee.sigmask() & (1n << BigInt(SIGTTIN - 1))) !== 0n;
    if (acts.isIgnored(SIGTTIN) || blocked) throw new Errno(EIO);
    for (const g of killTargets(t, -t.group.pgid)) sendToGroup(this.kernel, g, SIGTTIN, { pid: 0, uid: 0, code: 0x80 });
    throw new Errno(EINTR);
  }

  checkWrite(t: Task): void {
    if (!(this.termios.lflag & TOSTOP) || !this.isBackground(t)) return;
    const acts = t.group.sigactions;
    const blocked = (t.tracee.sigmask() & (1n << BigInt(SIGTTOU - 1))) !== 0n;
    if (acts.isIgnored(SIGTTOU) || blocked) return;
    for (const g of killTargets(t, -t.group.pgid)) sendToGroup(this.kernel, g, SIGTTOU, { pid: 0, uid: 0, code: 0x80 });
    throw new Errno(EINTR);
  }

  /** One read(2). Throws EAGAIN when nothing is ready yet. */
  read(t: Task, len: number, nonblock: boolean, state: { deadline?: number }): Buffer | Block {
    this.checkRead(t);
    const tio = this.termios;
    const canon = (tio.lflag & ICANON) !== 0;
    if (this.ready.length === 0) {
      if (canon && this.eofPending) { this.eofPending--; return Buffer.alloc(0); }
      if (this.hungUp) return Buffer.alloc(0);
      if (!canon && tio.cc[VMIN] === 0) {
        if (tio.cc[VTIME] === 0) return Buffer.alloc(0);
        const deadline = state.deadline ?? (state.deadline = monotonicMs() + tio.cc[VTIME]! * 100);
        if (monotonicMs() >= deadline) return Buffer.alloc(0);
        return new Block([this.readers], deadline);
      }
      if (nonblock) throw new Errno(EAGAIN);
      this.onWantInput();
      return new Block([this.readers]);
    }
    let n = Math.min(len, this.ready.length);
    if (canon) {
      const nl = this.ready.indexOf(10);
      if (nl >= 0 && nl < n) n = nl + 1;
    }
    const out = Buffer.from(this.ready.splice(0, n));
    if (this.ready.length < 4096) this.onWantInput();
    return out;
  }

  ioctl(t: Task, file: File, req: number, arg: number): number {
    const k = this.kernel;
    switch (req) {
      case TCGETS: t.mem.write(arg, encodeTermios(this.termios)); return 0;
      case TCSETS: case TCSETSW: case TCSETSF: {
        this.checkWriteIoctl(t);
        const nt = decodeTermios(t.mem.read(arg, 36));
        if (req === TCSETSF) this.ready = [];
        const wasCanon = this.termios.lflag & ICANON;
        this.termios = nt;
        if (wasCanon && !(nt.lflag & ICANON)) { this.ready.push(...this.line); this.line = []; }
        this.readers.wake();
        return 0;
      }
      case TIOCGWINSZ: {
        const b = Buffer.alloc(8);
        b.writeUInt16LE(this.winsize.rows, 0);
        b.writeUInt16LE(this.winsize.cols, 2);
        t.mem.write(arg, b);
        return 0;
      }
      case TIOCSWINSZ: {
        const b = t.mem.read(arg, 8);
        this.resize({ rows: b.readUInt16LE(0), cols: b.readUInt16LE(2) });
        return 0;
      }
      case TIOCGPGRP:
        if (t.group.sid !== this.sid) throw new Errno(ENOTTY);
        t.mem.writeI32(arg, this.pgrp);
        return 0;
      case TIOCSPGRP: {
        if (t.group.sid !== this.sid) throw new Errno(ENOTTY);
        this.checkWriteIoctl(t);
        const pg = t.mem.i32(arg);
        if (pg < 0) throw new Errno(EINVAL);
        if (![...k.groups.values()].some((g) => g.alive && g.pgid === pg && g.sid === this.sid)) throw new Errno(EPERM);
        this.pgrp = pg;
        return 0;
      }
      case TIOCGSID:
        if (t.group.sid !== this.sid || !this.sid) throw new Errno(ENOTTY);
        t.mem.writeI32(arg, this.sid);
        return 0;
      case TIOCSCTTY: {
        const g = t.group;
        if (g.sid !== g.tgid) throw new Errno(EPERM);
        if (this.sid && this.sid !== g.sid && !(arg === 1 && t.cred.euid === 0)) throw new Errno(EPERM);
        this.sid = g.sid;
        this.pgrp = g.pgid;
        return 0;
      }
      case TIOCNOTTY:
        if (t.group.sid !== this.sid) throw new Errno(ENOTTY);
        if (t.group.tgid === this.sid) { this.hangupSession(); }
        return 0;
      case FIONREAD: t.mem.writeI32(arg, this.ready.length); return 0;
      case TIOCOUTQ: t.mem.writeI32(arg, 0); return 0;
      case TCFLSH: {
        const q = arg | 0;
        if (q === 0 || q === 2) { this.ready = []; this.line = []; }
        return 0;
      }
      case TCXONC: case TCSBRK: case TCSBRKP: case TIOCEXCL: case TIOCNXCL: return 0;
      case TIOCGEXCL: t.mem.writeI32(arg, 0); return 0;
      case TIOCSTI: {
        if (t.cred.euid !== 0) throw new Errno(EPERM);
        this.receive(t.mem.read(arg, 1));
        return 0;
      }
      case TIOCGDEV: t.mem.writeU32(arg, this.rdev); return 0;
      case TIOCVHANGUP: this.hangup(); return 0;
      default:
        void file;
        throw new Errno(ENOTTY);
    }
  }

  private checkWriteIoctl(t: Task): void {
    if (!this.isBackground(t)) return;
    const blocked = (t.tracee.sigmask() & (1n << BigInt(SIGTTOU - 1))) !== 0n;
    if (t.group.sigactions.isIgnored(SIGTTOU) || blocked) return;
    for (const g of killTargets(t, -t.group.pgid)) sendToGroup(this.kernel, g, SIGTTOU, { pid: 0, uid: 0, code: 0x80 });
    throw new Errno(EINTR);
  }

  private hangupSession(): void {
    const sid = this.sid;
    this.sid = 0;
    this.pgrp = 0;
    void sid;
  }

  poll(): number {
    let ev = POLLOUT | POLLWRNORM;
    if (this.ready.length || this.eofPending || this.hungUp) ev |= POLLIN | POLLRDNORM;
    if (this.hungUp) ev |= POLLHUP;
    return ev;
  }
}

export class TtyFile extends File {
  private readState: { deadline?: number } = {};
  constructor(readonly tty: Tty, flags: number) {
    super(flags);
    tty.readers.add(() => this.waitQueue.wake());
  }
  stat(): Stat {
    const now = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
    return { dev: 5, ino: 2 + (this.tty.rdev & 0xffff), mode: S_IFCHR | 0o620, nlink: 1, uid: 0, gid: 5, rdev: this.tty.rdev, size: 0, blksize: 1024, blocks: 0, atime: now, mtime: now, ctime: now };
  }
  override read(t: Task, len: number): Buffer {
    const r = this.tty.read(t, len, (this.flags & O_NONBLOCK) !== 0, this.readState);
    if (r instanceof Block) {
      // Let the syscall layer sleep on our wait queue (woken with the tty's readers).
      throw new Errno(EAGAIN);
    }
    this.readState = {};
    return r;
  }
  override write(t: Task, data: Buffer): number {
    this.tty.checkWrite(t);
    this.tty.output(data);
    return data.length;
  }
  override ioctl(t: Task, req: number, arg: number): number {
    return this.tty.ioctl(t, this, req, arg);
  }
  override poll(): number {
    return this.tty.poll();
  }
  override seek(): number {
    throw new Errno(29 /* ESPIPE */);
  }
}

export { makedev };
