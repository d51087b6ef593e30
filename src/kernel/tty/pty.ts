// Unix98 pseudo-terminals (drivers/tty/pty.c): /dev/ptmx makes a master/slave pair, the
// slave shows up as /dev/pts/N (major 136). What the master writes is the slave's input
// (through the slave's line discipline); what the slave writes is the master's input (its
// line discipline is raw). A full side pushes back on the writer. The master's last close
// hangs up the slave; the slave's last close makes master reads give EIO (once drained)
// and poll report POLLHUP.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL, EIO, ENOSPC } from '../abi/errno.js';
import { O_ACCMODE, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDWR } from '../abi/fcntl.js';
import { Tty, TtyFile, type TtyDriver, TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER, TIOCPKT, TIOCGPKT, TIOCSIG } from './tty.js';
import { masterTermios, stdTermios } from './termios.js';
import { makedev } from '../fs/devnums.js';
import { signalPgrp } from './job-control.js';
import { walk } from '../fs/namei.js';

export const UNIX98_PTY_SLAVE_MAJOR = 136, PTY_MAX = 4096;

export class PtyPair {
  readonly master: Tty;
  readonly slave: Tty;
  locked = true;
  packet = false;
  /** Owner of /dev/pts/N (the opener of ptmx) and its mode. */
  uid = 0;
  gid = 5;
  mode = 0o620;
  readonly ctime = { sec: Math.floor(Date.now() / 1000), nsec: 0 };

  constructor(readonly k: Kernel, readonly index: number, private readonly onGone: (p: PtyPair) => void) {
    const pair = this;
    const masterDriver: TtyDriver = {
      write: (b) => pair.slave.receive(b),
      writeRoom: () => pair.slave.inputRoomFor(),
      unthrottle: () => pair.slave.wake(),
      ioctl: (t, f, req, arg) => pair.masterIoctl(t, f, req, arg),
      closed: () => pair.masterClosed(),
    };
    const slaveDriver: TtyDriver = {
      write: (b) => pair.master.receive(b),
      writeRoom: () => pair.master.inputRoomFor(),
      unthrottle: () => pair.master.wake(),
      opened: () => { pair.master.otherClosed = false; },
      closed: () => { pair.master.otherClosed = true; pair.master.wake(); },
    };
    this.master = new Tty(k, `ptm${index}`, makedev(5, 2), masterDriver, masterTermios());
    this.master.isMaster = true;
    this.master.noCtty = true;
    this.slave = new Tty(k, `pts/${index}`, makedev(UNIX98_PTY_SLAVE_MAJOR, index), slaveDriver, stdTermios());
    // A new pty has no window size until someone sets one (stty size says "0 0").
    this.slave.winsize = { rows: 0, cols: 0, xpixel: 0, ypixel: 0 };
    this.master.link = this.slave;
    this.slave.link = this.master;
    // Nothing has the slave open yet.
    this.master.otherClosed = true;
  }

  /** open(2) of /dev/pts/N. */
  openSlave(flags: number): TtyFile {
    if (this.locked || this.slave.dead) throw new Errno(EIO);
    return new TtyFile(this.slave, flags);
  }

  private masterIoctl(t: Task, _f: TtyFile, req: number, arg: number): number | null {
    switch (req) {
      case TIOCGPTN: t.mem.writeU32(arg, this.index); return 0;
      case TIOCSPTLCK: this.locked = t.mem.i32(arg) !== 0; return 0;
      case TIOCGPTLCK: t.mem.writeI32(arg, this.locked ? 1 : 0); return 0;
      case TIOCPKT: this.packet = t.mem.i32(arg) !== 0; return 0;
      case TIOCGPKT: t.mem.writeI32(arg, this.packet ? 1 : 0); return 0;
      case TIOCSIG: {
        const sig = arg | 0;
        if (sig <= 0 || sig >= 65) throw new Errno(EINVAL);
        signalPgrp(this.k, this.slave.pgrp, sig);
        return 0;
      }
      case TIOCGPTPEER: {
        const flags = arg | 0;
        if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) throw new Errno(EINVAL);
        const f = this.openSlave(flags & ~O_CLOEXEC);
        // The peer is the node /dev/pts/N (ttyname compares fstat with it).
        try {
          f.path = walk({ mounts: t.kernel.mounts, root: t.group.fs.root, cred: t.cred, task: t }, t.group.fs.root, `/dev/pts/${this.index}`, { follow: true });
        } catch { /* no devpts mounted there */ }
        return t.fds.install(f, (flags & O_CLOEXEC) !== 0);
      }
      default: return null;
    }
  }

  private masterClosed(): void {
    this.slave.dead = true;
    this.slave.hangup();
    this.onGone(this);
  }
}

/** The machine's pty index space (one devpts instance, shared by every mount of it). */
export class PtyTable {
  private readonly pairs = new Map<number, PtyPair>();
  /** Bumped when pairs come or go, so devpts listings stay fresh. */
  constructor(private readonly k: Kernel) {}

  /** open(2) of /dev/ptmx: a new pair; returns the master file. */
  openMaster(flags: number, t: Task | null): TtyFile {
    let idx = 0;
    while (this.pairs.has(idx)) idx++;
    if (idx >= PTY_MAX) throw new Errno(ENOSPC);
    const p = new PtyPair(this.k, idx, (gone) => this.pairs.delete(gone.index));
    if (t) { p.uid = t.cred.euid; }
    this.pairs.set(idx, p);
    return new TtyFile(p.master, (flags & ~O_ACCMODE) | O_RDWR, makedev(5, 2));
  }

  get(index: number): PtyPair | undefined {
    return this.pairs.get(index);
  }

  indexes(): number[] {
    return [...this.pairs.keys()].sort((a, b) => a - b);
  }
}

const tables = new WeakMap<Kernel, PtyTable>();
export function ptyTable(k: Kernel): PtyTable {
  let t = tables.get(k);
  if (!t) tables.set(k, (t = new PtyTable(k)));
  return t;
}
