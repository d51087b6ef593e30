// tuml ttylog: read the tty logs a machine writes with tty_log_dir= / tty_log_fd= (UML's
// record format; see src/kernel/tty/tty-log.ts), like UML's playlog tool.
//   tuml ttylog replay [-f] [-a] [-n] [-s SPEED] [-t TTY] FILE
//     replays the output at the original pace; -f follows a growing log (tail -f),
//     -a shows input too (what was typed, passwords included), -n does not wait,
//     -s plays SPEED times faster, -t picks one tty of a shared (tty_log_fd) log.
//   tuml ttylog list FILE      the ttys in a log, with their open/close times and byte counts
import * as fs from 'node:fs';
import { decodeRecords, TTY_LOG_OPEN, TTY_LOG_CLOSE, TTY_LOG_WRITE, TTY_READ, TTY_WRITE, type LogRecord } from '../kernel/tty/tty-log.js';

const USAGE = `Usage: tuml ttylog replay [-f] [-a] [-n] [-s SPEED] [-t TTY] FILE
       tuml ttylog list FILE
  -f        follow: keep waiting for records as the log grows (stop with ^C)
  -a        all data: show input (never echoed, e.g. passwords) as well as output
  -n        no waiting: write everything at once
  -s SPEED  replay SPEED times faster (default 1)
  -t TTY    only this tty (an id from 'list'; logs written with tty_log_fd= mix ttys)
`;

interface Opts { follow: boolean; all: boolean; wait: boolean; speed: number; tty: bigint | null; file: string }

function parse(argv: string[]): Opts | string {
  const o: Opts = { follow: false, all: false, wait: true, speed: 1, tty: null, file: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f') o.follow = true;
    else if (a === '-a') o.all = true;
    else if (a === '-n') o.wait = false;
    else if (a === '-s' || a === '-t') {
      const v = argv[++i];
      if (v === undefined) return `${a} needs a value`;
      if (a === '-s') {
        o.speed = Number(v);
        if (!(o.speed > 0)) return `-s ${v}: not a positive number`;
      } else {
        if (!/^\d+$/.test(v)) return `-t ${v}: not a tty id`;
        o.tty = BigInt(v);
      }
    } else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (o.file) return 'only one FILE';
    else o.file = a;
  }
  if (!o.file) return 'missing FILE';
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stampMs(r: LogRecord): number {
  return r.sec * 1000 + r.usec / 1000;
}

async function replay(o: Opts): Promise<number> {
  let fd: number;
  try {
    fd = fs.openSync(o.file, 'r');
  } catch (e) {
    process.stderr.write(`tuml ttylog: ${o.file}: ${(e as NodeJS.ErrnoException).message}\n`);
    return 1;
  }
  let pending = Buffer.alloc(0);
  let last: number | null = null;
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n > 0) {
      pending = Buffer.concat([pending, chunk.subarray(0, n)]);
      const { records, used } = decodeRecords(pending);
      pending = pending.subarray(used);
      for (const r of records) {
        if (r.what !== TTY_LOG_WRITE) continue;
        if (o.tty !== null && r.tty !== o.tty) continue;
        if (r.dir !== TTY_WRITE && !(o.all && r.dir === TTY_READ)) continue;
        const t = stampMs(r);
        if (o.wait && last !== null && t > last) await sleep(Math.min(t - last, 5000) / o.speed);
        last = t;
        await new Promise<void>((res) => { if (process.stdout.write(r.data)) res(); else process.stdout.once('drain', () => res()); });
      }
      continue;
    }
    if (!o.follow) break;
    await sleep(200);
  }
  fs.closeSync(fd);
  return 0;
}

function list(file: string): number {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    process.stderr.write(`tuml ttylog: ${file}: ${(e as NodeJS.ErrnoException).message}\n`);
    return 1;
  }
  const { records } = decodeRecords(buf);
  const ttys = new Map<bigint, { open: number | null; close: number | null; inb: number; outb: number }>();
  for (const r of records) {
    let e = ttys.get(r.tty);
    if (!e) ttys.set(r.tty, (e = { open: null, close: null, inb: 0, outb: 0 }));
    if (r.what === TTY_LOG_OPEN) e.open = stampMs(r);
    else if (r.what === TTY_LOG_CLOSE) e.close = stampMs(r);
    else if (r.what === TTY_LOG_WRITE) { if (r.dir === TTY_READ) e.inb += r.data.length; else e.outb += r.data.length; }
  }
  const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
  process.stdout.write('TTY  OPENED                    CLOSED                    INPUT  OUTPUT\n');
  for (const [id, e] of ttys) process.stdout.write(`${String(id).padEnd(4)} ${iso(e.open).padEnd(25)} ${iso(e.close).padEnd(25)} ${String(e.inb).padStart(5)}  ${e.outb}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h') { process.stdout.write(USAGE); return 0; }
  if (cmd === 'list' && rest.length === 1) return list(rest[0]!);
  if (cmd === 'replay') {
    const o = parse(rest);
    if (typeof o === 'string') { process.stderr.write(`tuml ttylog: ${o}\n${USAGE}`); return 2; }
    return replay(o);
  }
  process.stderr.write(USAGE);
  return 2;
}
