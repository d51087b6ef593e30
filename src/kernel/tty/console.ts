// The machine's console (con0): the guest's stdin/stdout/stderr wired to the host streams
// tuml was started with. A host terminal becomes a guest tty with its own line discipline
// (the host terminal is put in raw mode); pipes and files stay pipe-like for the guest.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { File } from '../fs/file.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { Tty, TtyFile } from './tty.js';
import { HostInput, HostInputFile, HostOutputFile } from './host-stream.js';
import { O_RDONLY, O_WRONLY, O_RDWR } from '../abi/fcntl.js';
import { makedev } from '../fs/devnums.js';
import * as hostFiles from '../../host/files.js';

export interface StdioKinds { stdinTty: boolean; stdoutTty: boolean; stderrTty: boolean }

export class Console {
  readonly tty: Tty;
  readonly input: HostInput;
  readonly stdioKinds: StdioKinds;

  constructor(private readonly k: Kernel, kinds: StdioKinds) {
    this.stdioKinds = kinds;
    this.input = new HostInput(() => k.post({ type: 'want-input', chan: 0 }));
    this.tty = new Tty(k, 'console', makedev(5, 1), (b) => this.writeHost(kinds.stdoutTty ? 1 : 2, b));
    this.tty.onWantInput = () => this.input.demand();
    k.onMessage('input', (m) => {
      if (m.type !== 'input') return;
      if (this.stdioKinds.stdinTty) this.tty.receive(m.data);
      else this.input.push(m.data);
      if (this.stdioKinds.stdinTty) k.post({ type: 'want-input', chan: 0 });
    });
    k.onMessage('eof', () => {
      if (this.stdioKinds.stdinTty) this.tty.hangup();
      else this.input.end();
    });
    k.onMessage('winch', (m) => {
      if (m.type === 'winch') this.tty.resize({ rows: m.rows, cols: m.cols });
    });
    if (kinds.stdinTty) k.post({ type: 'want-input', chan: 0 });
  }

  private writeHost(fd: number, b: Buffer): boolean {
    try {
      hostFiles.writeAll(fd, b);
      return true;
    } catch {
      return false;
    }
  }

  /** Open files for the first process's fds 0, 1 and 2. */
  stdio(): [File, File, File] {
    const k = this.stdioKinds;
    const f0: File = k.stdinTty ? new TtyFile(this.tty, O_RDWR) : new HostInputFile(this.input, O_RDONLY);
    const f1: File = k.stdoutTty ? new TtyFile(this.tty, O_RDWR) : new HostOutputFile((b) => this.writeHost(1, b), O_WRONLY, 101);
    const f2: File = k.stderrTty ? new TtyFile(this.tty, O_RDWR) : new HostOutputFile((b) => this.writeHost(2, b), O_WRONLY, 102);
    return [f0, f1, f2];
  }

  /** A file for /dev/console and /dev/tty0. */
  openConsole(flags: number): File {
    return new TtyFile(this.tty, flags);
  }

  /** The init process's session owns the console as its controlling terminal. */
  attachInit(g: ThreadGroup): void {
    this.tty.sid = g.sid;
    this.tty.pgrp = g.pgid;
  }

  /** open(2) of a tty by a session leader without one makes it the controlling tty. */
  maybeAcquireControllingTty(t: Task, f: File): void {
    if (!(f instanceof TtyFile)) return;
    const g = t.group;
    if (g.sid === g.tgid && f.tty.sid === 0) {
      f.tty.sid = g.sid;
      f.tty.pgrp = g.pgid;
    }
  }

  /** setsid(2): the new session has no controlling terminal. */
  detachSession(_g: ThreadGroup): void {}

  /** The controlling tty of a task (for /dev/tty). */
  controllingTty(t: Task): Tty | null {
    return this.tty.sid !== 0 && this.tty.sid === t.group.sid ? this.tty : null;
  }

  kernel(): Kernel {
    return this.k;
  }
}
