// struct termios (the kernel's, as TCGETS sees it) and its flag bits.
export const VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6,
  VSWTC = 7, VSTART = 8, VSTOP = 9, VSUSP = 10, VEOL = 11, VREPRINT = 12, VDISCARD = 13,
  VWERASE = 14, VLNEXT = 15, VEOL2 = 16, NCCS = 19;
// c_iflag
export const IGNBRK = 1, BRKINT = 2, IGNPAR = 4, PARMRK = 8, INPCK = 0o20, ISTRIP = 0o40,
  INLCR = 0o100, IGNCR = 0o200, ICRNL = 0o400, IUCLC = 0o1000, IXON = 0o2000, IXANY = 0o4000,
  IXOFF = 0o10000, IMAXBEL = 0o20000, IUTF8 = 0o40000;
// c_oflag
export const OPOST = 1, OLCUC = 2, ONLCR = 4, OCRNL = 0o10, ONOCR = 0o20, ONLRET = 0o40;
// c_cflag
export const B38400 = 0o17, CS8 = 0o60, CREAD = 0o200, HUPCL = 0o2000, CLOCAL = 0o4000;
// c_lflag
export const ISIG = 1, ICANON = 2, ECHO = 0o10, ECHOE = 0o20, ECHOK = 0o40, ECHONL = 0o100,
  NOFLSH = 0o200, TOSTOP = 0o400, ECHOCTL = 0o1000, ECHOPRT = 0o2000, ECHOKE = 0o4000,
  IEXTEN = 0o100000;

export interface Termios { iflag: number; oflag: number; cflag: number; lflag: number; line: number; cc: number[] }

/** What a fresh Linux console has (stty sane). */
export function defaultTermios(): Termios {
  const cc = new Array<number>(NCCS).fill(0);
  cc[VINTR] = 3; cc[VQUIT] = 0x1c; cc[VERASE] = 0x7f; cc[VKILL] = 0x15; cc[VEOF] = 4;
  cc[VTIME] = 0; cc[VMIN] = 1; cc[VSTART] = 0x11; cc[VSTOP] = 0x13; cc[VSUSP] = 0x1a;
  cc[VREPRINT] = 0x12; cc[VDISCARD] = 0x0f; cc[VWERASE] = 0x17; cc[VLNEXT] = 0x16;
  return {
    iflag: ICRNL | IXON | IMAXBEL | IUTF8,
    oflag: OPOST | ONLCR,
    cflag: B38400 | CS8 | CREAD | HUPCL,
    lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
    line: 0,
    cc,
  };
}

export function encodeTermios(t: Termios): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt32LE(t.iflag >>> 0, 0);
  b.writeUInt32LE(t.oflag >>> 0, 4);
  b.writeUInt32LE(t.cflag >>> 0, 8);
  b.writeUInt32LE(t.lflag >>> 0, 12);
  b[16] = t.line;
  for (let i = 0; i < NCCS; i++) b[17 + i] = t.cc[i]!;
  return b;
}

export function decodeTermios(b: Buffer): Termios {
  const cc: number[] = [];
  for (let i = 0; i < NCCS; i++) cc.push(b[17 + i]!);
  return { iflag: b.readUInt32LE(0), oflag: b.readUInt32LE(4), cflag: b.readUInt32LE(8), lflag: b.readUInt32LE(12), line: b[16]!, cc };
}
