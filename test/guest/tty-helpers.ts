// Driving terminals for the tty tests: a private tmux server per test file (tmux -L), with
// helpers to type, wait for text on the screen, and resize; and a raw telnet-speaking client.
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { repo, tumlBin } from './harness.js';

export { repo, tumlBin };

export function haveTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

export class Tmux {
  readonly sock = `tuml-tty-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.sock, ...args], { encoding: 'utf8', cwd: repo });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  /** A new window running `cmd` (a shell command line) with the given size. */
  start(cmd: string, cols = 100, rows = 30, name = 'w'): void {
    this.tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), cmd);
    this.tmux('set-option', '-g', 'remain-on-exit', 'on');
  }
  send(keys: string, name = 'w'): void {
    this.tmux('send-keys', '-t', name, '-l', keys);
  }
  key(k: string, name = 'w'): void {
    this.tmux('send-keys', '-t', name, k);
  }
  line(text: string, name = 'w'): void {
    this.send(text, name);
    this.key('Enter', name);
  }
  screen(name = 'w'): string {
    return this.tmux('capture-pane', '-p', '-t', name);
  }
  resize(cols: number, rows: number, name = 'w'): void {
    this.tmux('resize-window', '-t', name, '-x', String(cols), '-y', String(rows));
  }
  paste(file: string, name = 'w'): void {
    this.tmux('load-buffer', file);
    this.tmux('paste-buffer', '-t', name);
  }
  /** Waits until `re` matches the screen; returns the screen. */
  async waitFor(re: RegExp, timeoutMs = 20000, name = 'w'): Promise<string> {
    const end = Date.now() + timeoutMs;
    let s = '';
    while (Date.now() < end) {
      s = this.screen(name);
      if (re.test(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${re} on the screen:\n${s}`);
  }
  kill(): void {
    spawnSync('tmux', ['-L', this.sock, 'kill-server']);
  }
}

/** A minimal telnet client: answers nothing, strips IAC commands from what it receives. */
export class TelnetClient {
  private readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  readonly ready: Promise<void>;
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.ready = new Promise((res, rej) => { this.sock.once('connect', () => res()); this.sock.once('error', rej); });
    this.sock.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); });
    this.sock.on('error', () => {});
  }
  /** What arrived so far, telnet commands removed. */
  text(): string {
    const out: number[] = [];
    const b = this.buf;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 255) {
        const v = b[i + 1]!;
        if (v === 255) { out.push(255); i++; } else if (v >= 251 && v <= 254) i += 2; else i++;
      } else out.push(b[i]!);
    }
    return Buffer.from(out).toString('latin1');
  }
  write(s: string | Buffer): Promise<void> {
    return new Promise((res) => { this.sock.write(s, () => res()); });
  }
  async waitFor(re: RegExp, timeoutMs = 10000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const t = this.text();
      if (re.test(t)) return t;
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new Error(`timed out waiting for ${re}; got:\n${this.text().slice(-2000)}`);
  }
  close(): void {
    this.sock.destroy();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}
