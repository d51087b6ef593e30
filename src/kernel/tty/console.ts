// The machine's consoles and serial lines (k.console): the lines the command line
// configures (con0 = /dev/tty0 = /dev/console, conN = /dev/ttyN, sslN = /dev/ttySN) on
// host channels, their device numbers and /dev nodes, the messages from the main thread
// that feed them, runtime add/remove (for mconsole's config), and the stdio of init.
// When con0 is the default fd:0,fd:1 and the host's stdin/stdout are not terminals, init's
// stdio stays pipe-like (as `docker run` without -t) while /dev/console is still a tty.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { File } from '../fs/file.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { Tty, TtyFile, type TtyDriver } from './tty.js';
import { Line } from './line.js';
import { HostInput, HostInputFile, HostOutputFile } from './host-stream.js';
import { O_RDONLY, O_WRONLY, O_RDWR } from '../abi/fcntl.js';
import { makedev, major, minor } from '../fs/devnums.js';
import { registerCharDevice } from '../fs/dev/registry.js';
import { addNode } from '../fs/dev/devtmpfs.js';
import { walk } from '../fs/namei.js';
import type { Path } from '../fs/path.js';
import { Cred } from '../task/cred.js';
import { Errno } from '../errno.js';
import { ENODEV, ENXIO } from '../abi/errno.js';
import { parseLines, parseChanPair, type LineSpec, describeChan, MAX_CONSOLES, MAX_SERIAL, SERIAL_MINOR_BASE } from './line-spec.js';
import * as jc from './job-control.js';
import { installTtyLog } from './tty-log.js';
import * as hostFiles from '../../host/files.js';

export interface StdioKinds { stdinTty: boolean; stdoutTty: boolean; stderrTty: boolean }

const nullDriver: TtyDriver = { write: (b) => b.length, writeRoom: () => 1 << 20, unthrottle: () => {} };

export class Console {
  readonly lines = new Map<number, Line>();
  /** The system console's tty (con0, or a null tty when con0=none). */
  readonly tty: Tty;
  readonly input: HostInput;
  readonly stdioKinds: StdioKinds;
  private readonly pipeStdio: boolean;

  constructor(private readonly k: Kernel, kinds: StdioKinds, devices: ReadonlyMap<string, string> = new Map()) {
    this.stdioKinds = kinds;
    let specs: LineSpec[];
    try {
      specs = parseLines(devices);
    } catch (e) {
      k.log.warn(`tuml: ${(e as Error).message}; using the default lines`);
      specs = parseLines(new Map());
    }
    installTtyLog(k, devices);
    const con0 = specs.find((s) => s.chan === 0);
    this.pipeStdio = !!con0 && con0.input.type === 'fd' && con0.input.fd === 0 && con0.output.type === 'fd' && !kinds.stdinTty;
    this.input = new HostInput(() => k.post({ type: 'want-input', chan: 0 }));
    for (const s of specs) this.addLine(s, false);
    const l0 = this.lines.get(0);
    if (l0 && this.pipeStdio) {
      l0.inputDiverted = true;
      // Output of /dev/console goes where the host's terminal is, if any.
      if (!kinds.stdoutTty && kinds.stderrTty) l0.spec.output = { type: 'fd', fd: 2 };
    }
    this.tty = l0?.tty ?? new Tty(k, 'console', makedev(5, 1), nullDriver);
    const openCon = (flags: number) => new TtyFile(this.tty, flags, makedev(5, 1));
    registerCharDevice(5, 1, (flags) => openCon(flags), '/dev/console');
    registerCharDevice(4, 0, (flags) => new TtyFile(this.tty, flags, makedev(4, 0)), 'tty');
    registerCharDevice(5, 0, (flags, t) => {
      const tty = t ? jc.controllingTty(t) : null;
      if (!tty) throw new Errno(ENXIO);
      return new TtyFile(tty, flags, makedev(5, 0));
    }, '/dev/tty');

    k.onMessage('input', (m) => {
      if (m.type !== 'input') return;
      if (m.chan === 0 && this.pipeStdio) { this.input.push(m.data); return; }
      this.lines.get(m.chan)?.input(m.data);
    });
    k.onMessage('eof', (m) => {
      if (m.type !== 'eof') return;
      if (m.chan === 0 && this.pipeStdio) { this.input.end(); return; }
      this.lines.get(m.chan)?.eof();
    });
    k.onMessage('winch', (m) => {
      if (m.type === 'winch') this.lines.get(m.chan ?? 0)?.tty.resize({ rows: m.rows, cols: m.cols });
    });
    k.onMessage('output-ack', (m) => {
      if (m.type === 'output-ack') this.lines.get(m.chan)?.acked(m.n);
    });
    k.onMessage('chan-connect', (m) => {
      if (m.type === 'chan-connect') this.lines.get(m.chan)?.connected();
    });
    k.onMessage('chan-log', (m) => {
      if (m.type === 'chan-log') k.log.info(m.text);
    });
    for (const l of this.lines.values()) l.want();
  }

  /** A line from its spec: the tty, its device, its /dev node, its host channels. */
  private addLine(s: LineSpec, announce: boolean): Line {
    const line = new Line(this.k, s);
    this.lines.set(s.chan, line);
    registerCharDevice(4, s.chan, (flags, _t, rdev) => {
      const l = this.lines.get(minor(rdev));
      if (!l) throw new Errno(ENODEV);
      return new TtyFile(l.tty, flags, rdev);
    }, s.kind === 'con' ? 'tty' : 'ttyS');
    if (s.chan !== 0) this.mknod(s);
    if (announce) this.k.post({ type: 'chan-open', spec: s });
    return line;
  }

  private walkOrNull(path: string): Path | null {
    try {
      return walk({ mounts: this.k.mounts, root: this.k.mounts.rootPath, cred: new Cred() }, this.k.mounts.rootPath, path, { follow: true });
    } catch {
      return null;
    }
  }

  private mknod(s: LineSpec): void {
    try {
      const dev = this.walkOrNull('/dev');
      if (!dev) return;
      const dir = dev.dentry.inode;
      if (dir.lookup?.(s.name)) return;
      addNode(dir, s.kind === 'con' ? { name: s.name, major: 4, minor: s.chan, mode: 0o620, gid: 5 } : { name: s.name, major: 4, minor: s.chan, mode: 0o660, gid: 20 });
    } catch { /* no /dev: nothing to show */ }
  }

  /** mconsole `config con3=pts`: adds (or replaces an unused) line at run time. */
  config(name: string, value: string): string | null {
    const m = /^(con|ssl)(\d+)$/.exec(name);
    if (!m) return `unknown device '${name}'`;
    const idx = Number(m[2]);
    if (idx >= (m[1] === 'con' ? MAX_CONSOLES : MAX_SERIAL)) return 'line number out of range';
    const chan = m[1] === 'con' ? idx : SERIAL_MINOR_BASE + idx;
    const old = this.lines.get(chan);
    if (old && old.tty.openCount > 0) return 'Device is open';
    let pair;
    try { pair = parseChanPair(value); } catch (e) { return (e as Error).message; }
    if (old) this.remove(name);
    if (!pair) return null;
    this.addLine({ kind: m[1] as 'con' | 'ssl', index: idx, chan, name: m[1] === 'con' ? `tty${idx}` : `ttyS${idx}`, ...pair, text: value }, true).want();
    return null;
  }

  /** mconsole `config conN` (query): the line's channels. */
  query(name: string): string | null {
    const l = [...this.lines.values()].find((x) => `${x.spec.kind}${x.spec.index}` === name);
    if (!l) return null;
    const i = describeChan(l.spec.input), o = describeChan(l.spec.output);
    return i === o ? i : `${i},${o}`;
  }

  /** mconsole `remove conN`. */
  remove(name: string): string | null {
    const l = [...this.lines.values()].find((x) => `${x.spec.kind}${x.spec.index}` === name);
    if (!l) return 'no such device';
    if (l.tty.openCount > 0) return 'Device is open';
    this.lines.delete(l.chan);
    jc.ttySet(this.k).delete(l.tty);
    this.k.post({ type: 'chan-close', chan: l.chan });
    return null;
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
    if (!this.pipeStdio) {
      // As if init had opened /dev/console: fstat and ttyname see that node.
      const path = this.walkOrNull('/dev/console');
      const f = () => { const x = new TtyFile(this.tty, O_RDWR, makedev(5, 1)); x.path = path; return x; };
      return [f(), f(), f()];
    }
    const f0: File = new HostInputFile(this.input, O_RDONLY);
    const f1: File = k.stdoutTty ? new TtyFile(this.tty, O_RDWR) : new HostOutputFile((b) => this.writeHost(1, b), O_WRONLY, 101);
    const f2: File = k.stderrTty ? new TtyFile(this.tty, O_RDWR) : new HostOutputFile((b) => this.writeHost(2, b), O_WRONLY, 102);
    return [f0, f1, f2];
  }

  /** A file for /dev/console. */
  openConsole(flags: number): File {
    return new TtyFile(this.tty, flags, makedev(5, 1));
  }

  /** The init process's session owns the console as its controlling terminal. */
  attachInit(g: ThreadGroup): void {
    this.tty.sid = g.sid;
    this.tty.pgrp = g.pgid;
  }

  /** open(2) of a tty without O_NOCTTY by a session leader without one makes it the controlling tty. */
  maybeAcquireControllingTty(t: Task, f: File): void {
    if (!(f instanceof TtyFile)) return;
    const dev = f.openedAs;
    // /dev/console, /dev/tty0, /dev/tty and ptmx never become a controlling tty by open.
    if (major(dev) === 5 || dev === makedev(4, 0)) return;
    jc.maybeAcquire(t, f.tty);
  }

  /** setsid(2): the new session has no controlling terminal (nothing to undo on the tty). */
  detachSession(_g: ThreadGroup): void {}

  /** The controlling tty of a task (for /dev/tty). */
  controllingTty(t: Task): Tty | null {
    return jc.controllingTty(t);
  }

  /** The controlling tty of a session (for /proc/<pid>/stat's tty_nr and tpgid). */
  ttyOfSession(sid: number): Tty | null {
    return jc.ttyOfSession(this.k, sid);
  }

  /** Called when a process exits, before its children are reparented. */
  processExit(g: ThreadGroup): void {
    jc.onProcessExit(this.k, g);
  }

  kernel(): Kernel {
    return this.k;
  }
}
