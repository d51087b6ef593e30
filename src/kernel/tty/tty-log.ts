// tty logging for honeypots (UML's CONFIG_TTY_LOG): every byte a tty reads (input, which
// shows even what was never echoed, like passwords) or writes (output), with a timestamp
// and direction, in UML's record format so its replay tools read it:
//   struct tty_log_buf { int what; unsigned long tty; int len; int direction;
//                        unsigned long sec; unsigned long usec; }   (40 bytes on x86-64)
// followed by `len` bytes. `tty_log_dir=<dir>` writes one file per tty session,
// `tty_log_fd=<n>` one stream to a host fd (for a jailed tuml). The main thread writes.
import type { Kernel } from '../kernel.js';
import { setTtyLogger, type Tty, type TtyLogger } from './tty.js';

export const TTY_LOG_OPEN = 1, TTY_LOG_CLOSE = 2, TTY_LOG_WRITE = 3, TTY_LOG_EXEC = 4;
export const TTY_READ = 1, TTY_WRITE = 2;
export const RECORD_HEADER = 40;

export function encodeRecord(what: number, tty: number, dir: number, data: Buffer, ms = Date.now()): Buffer {
  const b = Buffer.alloc(RECORD_HEADER + data.length);
  b.writeInt32LE(what, 0);
  b.writeBigUInt64LE(BigInt(tty), 8);
  b.writeInt32LE(data.length, 16);
  b.writeInt32LE(dir, 20);
  const us = Math.round(ms * 1000);
  b.writeBigUInt64LE(BigInt(Math.floor(us / 1e6)), 24);
  b.writeBigUInt64LE(BigInt(us % 1e6), 32);
  data.copy(b, RECORD_HEADER);
  return b;
}

export interface LogRecord { what: number; tty: bigint; dir: number; sec: number; usec: number; data: Buffer }

/** Parses records from `buf`; returns them and how many bytes they used (a torn tail stays). */
export function decodeRecords(buf: Buffer): { records: LogRecord[]; used: number } {
  const records: LogRecord[] = [];
  let off = 0;
  while (off + RECORD_HEADER <= buf.length) {
    const len = buf.readInt32LE(off + 16);
    if (len < 0 || off + RECORD_HEADER + len > buf.length) break;
    records.push({
      what: buf.readInt32LE(off), tty: buf.readBigUInt64LE(off + 8), dir: buf.readInt32LE(off + 20),
      sec: Number(buf.readBigUInt64LE(off + 24)), usec: Number(buf.readBigUInt64LE(off + 32)),
      data: buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len),
    });
    off += RECORD_HEADER + len;
  }
  return { records, used: off };
}

class Logger implements TtyLogger {
  private readonly files = new Map<Tty, string | null>();
  constructor(private readonly k: Kernel, private readonly dir: string | null, private readonly fd: number | null) {}

  private post(tty: Tty, rec: Buffer): void {
    const file = this.files.get(tty);
    if (file === undefined) return;
    this.k.post({ type: 'tty-log', file, data: new Uint8Array(rec) });
  }
  open(tty: Tty): void {
    if (tty.isMaster) return;
    const now = Date.now();
    const file = this.fd !== null ? null : `${this.dir}/${Math.floor(now / 1000)}_${(now % 1000) * 1000}_${tty.name.replace(/\//g, '_')}_${tty.logId}`;
    this.files.set(tty, file);
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(BigInt(tty.logId));
    this.post(tty, encodeRecord(TTY_LOG_OPEN, tty.logId, 0, id, now));
  }
  close(tty: Tty): void {
    this.post(tty, encodeRecord(TTY_LOG_CLOSE, tty.logId, 0, Buffer.alloc(0)));
    this.files.delete(tty);
  }
  data(tty: Tty, dir: 1 | 2, b: Buffer): void {
    if (!this.files.has(tty)) {
      // A tty written before any open (the boot console): start its log now.
      if (tty.isMaster) return;
      this.open(tty);
    }
    this.post(tty, encodeRecord(TTY_LOG_WRITE, tty.logId, dir === 1 ? TTY_READ : TTY_WRITE, b));
  }
}

/** Turns logging on when the command line has tty_log_dir= or tty_log_fd=. */
export function installTtyLog(k: Kernel, devices: ReadonlyMap<string, string>): void {
  const dir = devices.get('tty_log_dir') ?? null;
  const fdText = devices.get('tty_log_fd');
  const fd = fdText !== undefined && /^\d+$/.test(fdText) ? Number(fdText) : null;
  if (dir === null && fd === null) { setTtyLogger(null); return; }
  setTtyLogger(new Logger(k, dir, fd));
  k.log.info(fd !== null ? `tty logging to host fd ${fd}` : `tty logging to ${dir}`);
}
