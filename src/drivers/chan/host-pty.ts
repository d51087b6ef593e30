// pts, pty, tty:<dev> and xterm channels: a host terminal device.
//  - pts: a new host pty; its slave's name is announced ("Virtual console 1 assigned device
//    '/dev/pts/7'") for a terminal program (screen, minicom) to open. tuml keeps the slave
//    open itself so the line survives those programs coming and going.
//  - pty: UML's BSD ptys (/dev/ptyXX) are gone from modern hosts; tuml gives a pts instead.
//  - tty:<dev>: an existing host terminal, put in raw mode.
//  - xterm: a pts shown in a terminal emulator (`xterm=` names it) that runs a copy loop
//    between its own terminal and the pts slave.
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Channel, ChannelEvents } from './channel.js';
import * as libc from '../../host/libc.js';
import { makeRaw } from '../../host/terminal.js';

const TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431;

/** A terminal fd read through a libuv tty handle, written through the thread pool. */
class TermChannel implements Channel {
  private readonly rs: tty.ReadStream;
  private wanted = false;
  private closed = false;
  constructor(protected readonly fd: number, protected readonly ev: ChannelEvents) {
    this.rs = new tty.ReadStream(fd);
    this.rs.pause();
    this.rs.on('data', (d: Buffer) => {
      this.rs.pause();
      this.wanted = false;
      this.ev.input(new Uint8Array(d));
    });
    this.rs.on('error', () => { if (!this.closed) this.ev.eof(); });
    this.rs.on('end', () => { if (!this.closed) this.ev.eof(); });
  }
  want(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.rs.resume();
  }
  write(data: Buffer, done: () => void): void {
    const step = (off: number) => {
      if (off >= data.length || this.closed) { done(); return; }
      fs.write(this.fd, data, off, data.length - off, null, (err, n) => {
        if (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') { setTimeout(() => step(off), 5); return; }
          done();
          return;
        }
        step(off + n);
      });
    };
    step(0);
  }
  close(): void {
    this.closed = true;
    this.rs.destroy();
  }
}

/** Opens a new host pty: [master fd, slave path, slave fd (raw)]. */
export function openHostPty(): { master: number; slavePath: string; slave: number } {
  const master = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const b = Buffer.alloc(4);
  if (libc.ioctlBuf(master, TIOCSPTLCK, b) < 0) throw new Error('unlockpt failed');
  if (libc.ioctlBuf(master, TIOCGPTN, b) < 0) throw new Error('ptsname failed');
  const slavePath = `/dev/pts/${b.readUInt32LE(0)}`;
  const slave = fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  makeRaw(slave);
  return { master, slavePath, slave };
}

export class PtsChannel extends TermChannel {
  readonly slavePath: string;
  private readonly slave: number;
  constructor(ev: ChannelEvents, what: string) {
    const p = openHostPty();
    super(p.master, ev);
    this.slavePath = p.slavePath;
    this.slave = p.slave;
    ev.log(`${what} assigned device '${p.slavePath}'`);
  }
  override close(): void {
    super.close();
    try { fs.closeSync(this.slave); } catch { /* gone */ }
    try { fs.closeSync(this.fd); } catch { /* gone */ }
  }
}

export class TtyDevChannel extends TermChannel {
  constructor(path: string, ev: ChannelEvents) {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    makeRaw(fd);
    super(fd, ev);
  }
}

export interface XtermConfig { emulator: string; titleSwitch: string; execSwitch: string }

export class XtermChannel extends PtsChannel {
  private child: ChildProcess | null = null;
  constructor(ev: ChannelEvents, what: string, title: string, x: XtermConfig) {
    super(ev, what);
    const loop = `stty raw -echo 2>/dev/null; cat ${this.slavePath} & exec cat > ${this.slavePath}`;
    const child = spawn(x.emulator, [x.titleSwitch, title, x.execSwitch, '/bin/sh', '-c', loop], { stdio: 'ignore', detached: true });
    this.child = child;
    child.on('error', (e) => ev.log(`tuml: ${what}: cannot start ${x.emulator}: ${e.message}`));
    child.on('exit', () => { this.child = null; });
    child.unref();
    ev.connect();
  }
  override close(): void {
    // Console windows go away with the machine (the 2001 fix).
    if (this.child?.pid) { try { process.kill(-this.child.pid, 'SIGTERM'); } catch { /* gone */ } }
    super.close();
  }
}
