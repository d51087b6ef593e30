// struct termios / termios2 (x86-64) and every flag bit, as Linux's asm-generic/termbits.h
// spells them; the default settings of a new tty (tty_std_termios) and of a pty master.
export const VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6,
  VSWTC = 7, VSTART = 8, VSTOP = 9, VSUSP = 10, VEOL = 11, VREPRINT = 12, VDISCARD = 13,
  VWERASE = 14, VLNEXT = 15, VEOL2 = 16, NCCS = 19;
// c_iflag
export const IGNBRK = 0o1, BRKINT = 0o2, IGNPAR = 0o4, PARMRK = 0o10, INPCK = 0o20, ISTRIP = 0o40,
  INLCR = 0o100, IGNCR = 0o200, ICRNL = 0o400, IUCLC = 0o1000, IXON = 0o2000, IXANY = 0o4000,
  IXOFF = 0o10000, IMAXBEL = 0o20000, IUTF8 = 0o40000;
// c_oflag
export const OPOST = 0o1, OLCUC = 0o2, ONLCR = 0o4, OCRNL = 0o10, ONOCR = 0o20, ONLRET = 0o40,
  OFILL = 0o100, OFDEL = 0o200, NLDLY = 0o400, CRDLY = 0o3000, TABDLY = 0o14000, TAB3 = 0o14000,
  BSDLY = 0o20000, VTDLY = 0o40000, FFDLY = 0o100000;
// c_cflag
export const CBAUD = 0o10017, B0 = 0, B9600 = 0o15, B38400 = 0o17, BOTHER = 0o10000, CSIZE = 0o60,
  CS5 = 0, CS6 = 0o20, CS7 = 0o40, CS8 = 0o60, CSTOPB = 0o100, CREAD = 0o200, PARENB = 0o400,
  PARODD = 0o1000, HUPCL = 0o2000, CLOCAL = 0o4000, CBAUDEX = 0o10000, CIBAUD = 0o2003600000,
  CMSPAR = 0o10000000000, CRTSCTS = 0o20000000000, IBSHIFT = 16;
// c_lflag
export const ISIG = 0o1, ICANON = 0o2, XCASE = 0o4, ECHO = 0o10, ECHOE = 0o20, ECHOK = 0o40,
  ECHONL = 0o100, NOFLSH = 0o200, TOSTOP = 0o400, ECHOCTL = 0o1000, ECHOPRT = 0o2000,
  ECHOKE = 0o4000, FLUSHO = 0o10000, PENDIN = 0o40000, IEXTEN = 0o100000, EXTPROC = 0o200000;

export interface Termios {
  iflag: number; oflag: number; cflag: number; lflag: number; line: number; cc: number[];
  ispeed: number; ospeed: number;
}

export const TERMIOS_SIZE = 36, TERMIOS2_SIZE = 44;

/** Baud rates of the Bnnn codes (index = code, CBAUDEX codes from 16). */
const BAUDS = [0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
  57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000,
  3000000, 3500000, 4000000];

export function baudOf(cbaud: number): number {
  const i = (cbaud & CBAUDEX) ? 15 + (cbaud & 0o17) : cbaud & 0o17;
  return BAUDS[i] ?? 0;
}

function codeOf(baud: number): number | null {
  const i = BAUDS.indexOf(baud);
  if (i < 0) return null;
  return i <= 15 ? i : CBAUDEX | (i - 15);
}

/** INIT_C_CC: what every new tty starts with. */
function initCc(): number[] {
  const cc = new Array<number>(NCCS).fill(0);
  cc[VINTR] = 0x03; cc[VQUIT] = 0x1c; cc[VERASE] = 0x7f; cc[VKILL] = 0x15; cc[VEOF] = 0x04;
  cc[VTIME] = 0; cc[VMIN] = 1; cc[VSTART] = 0x11; cc[VSTOP] = 0x13; cc[VSUSP] = 0x1a;
  cc[VREPRINT] = 0x12; cc[VDISCARD] = 0x0f; cc[VWERASE] = 0x17; cc[VLNEXT] = 0x16;
  return cc;
}

/** tty_std_termios: a new pty slave or serial line. */
export function stdTermios(): Termios {
  return {
    iflag: ICRNL | IXON,
    oflag: OPOST | ONLCR,
    cflag: B38400 | CS8 | CREAD | HUPCL,
    lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
    line: 0, cc: initCc(), ispeed: 38400, ospeed: 38400,
  };
}

/** A console: like a Linux VT in UTF-8 mode (iutf8), with imaxbel as terminals set it. */
export function defaultTermios(): Termios {
  const t = stdTermios();
  t.iflag |= IMAXBEL | IUTF8;
  return t;
}

/** pty master: everything passes through untouched. */
export function masterTermios(): Termios {
  return { iflag: 0, oflag: 0, cflag: B38400 | CS8 | CREAD, lflag: 0, line: 0, cc: initCc(), ispeed: 38400, ospeed: 38400 };
}

export function copyTermios(t: Termios): Termios {
  return { ...t, cc: [...t.cc] };
}

export function encodeTermios(t: Termios, v2 = false): Buffer {
  const b = Buffer.alloc(v2 ? TERMIOS2_SIZE : TERMIOS_SIZE);
  b.writeUInt32LE(t.iflag >>> 0, 0);
  b.writeUInt32LE(t.oflag >>> 0, 4);
  b.writeUInt32LE(t.cflag >>> 0, 8);
  b.writeUInt32LE(t.lflag >>> 0, 12);
  b[16] = t.line;
  for (let i = 0; i < NCCS; i++) b[17 + i] = t.cc[i]!;
  if (v2) {
    b.writeUInt32LE(t.ispeed >>> 0, 36);
    b.writeUInt32LE(t.ospeed >>> 0, 40);
  }
  return b;
}

/** Decodes what TCSETS* (or TCSETS2 when v2) passes, deriving speeds as tty_termios_baud_rate does. */
export function decodeTermios(b: Buffer, v2 = false): Termios {
  const cc: number[] = [];
  for (let i = 0; i < NCCS; i++) cc.push(b[17 + i]!);
  const t: Termios = {
    iflag: b.readUInt32LE(0), oflag: b.readUInt32LE(4), cflag: b.readUInt32LE(8), lflag: b.readUInt32LE(12),
    line: b[16]!, cc, ispeed: 0, ospeed: 0,
  };
  const ocode = t.cflag & CBAUD;
  const icode = (t.cflag & CIBAUD) >>> IBSHIFT;
  if (v2 && ocode === BOTHER) t.ospeed = b.readUInt32LE(40);
  else t.ospeed = baudOf(ocode);
  if (v2 && icode === BOTHER) t.ispeed = b.readUInt32LE(36);
  else t.ispeed = icode === 0 ? t.ospeed : baudOf(icode);
  // A speed that has a Bnnn code is written back as that code (tty_termios_encode_baud_rate).
  const oc = codeOf(t.ospeed);
  if (v2 && ocode === BOTHER && oc !== null) t.cflag = (t.cflag & ~CBAUD) | oc;
  return t;
}
