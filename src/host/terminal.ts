// The host terminal tuml runs on: raw mode for the guest console, and its window size.
import * as libc from './libc.js';
import * as tty from 'node:tty';

const TIOCGWINSZ = 0x5413;
const TCSANOW = 0;

export function isTerminal(fd: number): boolean {
  return tty.isatty(fd);
}

export function windowSize(fd: number): { rows: number; cols: number } | null {
  const b = Buffer.alloc(8);
  if (libc.ioctlBuf(fd, TIOCGWINSZ, b) < 0) return null;
  return { rows: b.readUInt16LE(0), cols: b.readUInt16LE(2) };
}

/** Puts the terminal in raw mode (cfmakeraw); returns a function restoring it. */
export function makeRaw(fd: number): () => void {
  const saved = Buffer.alloc(60);
  if (libc.tcgetattr(fd, saved) < 0) return () => {};
  const raw = Buffer.from(saved);
  const IGNBRK = 1, BRKINT = 2, PARMRK = 8, ISTRIP = 0o40, INLCR = 0o100, IGNCR = 0o200, ICRNL = 0o400, IXON = 0o2000;
  const OPOST = 1, ECHO = 0o10, ECHONL = 0o100, ICANON = 2, ISIG = 1, IEXTEN = 0o100000, CSIZE = 0o60, PARENB = 0o400, CS8 = 0o60;
  raw.writeUInt32LE(raw.readUInt32LE(0) & ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON), 0);
  raw.writeUInt32LE(raw.readUInt32LE(4) & ~OPOST, 4);
  raw.writeUInt32LE((raw.readUInt32LE(8) & ~(CSIZE | PARENB)) | CS8, 8);
  raw.writeUInt32LE(raw.readUInt32LE(12) & ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN), 12);
  raw[17 + 6] = 1; // VMIN
  raw[17 + 5] = 0; // VTIME
  libc.tcsetattr(fd, TCSANOW, raw);
  return () => { libc.tcsetattr(fd, TCSANOW, saved); };
}
