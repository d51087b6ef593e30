// The n_tty line discipline: input processing (ICRNL, IGNCR, INLCR, ISTRIP, IUCLC), flow
// control characters (IXON, IXANY), signal characters (ISIG), canonical editing (ERASE,
// WERASE, KILL, REPRINT, LNEXT, EOF, EOL, EOL2) with every echo variant (ECHO, ECHOE,
// ECHOK, ECHOKE, ECHOCTL, ECHOPRT, ECHONL), output processing (OPOST and friends, column
// tracking), and a bounded read buffer: receive() takes only what fits, so a full buffer
// pushes back on the channel instead of dropping input (the 2005 paste pitfall).
import {
  type Termios, VINTR, VQUIT, VERASE, VKILL, VEOF, VEOL, VEOL2, VSTART, VSTOP, VSUSP, VREPRINT,
  VWERASE, VLNEXT, VDISCARD, IGNCR, ICRNL, INLCR, ISTRIP, IUCLC, IXON, IXANY, IMAXBEL, IUTF8, OPOST,
  OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, TABDLY, TAB3, ISIG, ICANON, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH,
  ECHOCTL, ECHOPRT, ECHOKE, IEXTEN, FLUSHO, PARMRK,
} from './termios.js';
import { SIGINT, SIGQUIT, SIGTSTP } from '../abi/signals.js';

/** Linux's N_TTY_BUF_SIZE. */
export const N_TTY_BUF_SIZE = 4096;

/** What the line discipline needs from its tty. */
export interface LdiscPort {
  readonly termios: Termios;
  /** Echo bytes to the device (already output-processed). */
  echo(b: Buffer): void;
  /** A signal character: send `sig` to the foreground process group. */
  signal(sig: number): void;
  /** ^S / ^Q (IXON) and IXANY. */
  stopOutput(): void;
  startOutput(): void;
  readonly outputStopped: boolean;
}

interface Line { data: Buffer; /** consumed bytes */ off: number }

const isCntrl = (c: number) => c < 32 || c === 127;
const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

export class NTty {
  /** Complete lines (canonical) or chunks (raw) ready for read(). */
  private queue: Line[] = [];
  private queued = 0;
  /** Number of canonical lines in the queue whose terminator was EOF (may be empty). */
  private cur: number[] = [];
  private lnext = false;
  private erasing = false;
  /** Output column (for tab expansion and tab erase) and the column a line started at. */
  column = 0;
  private canonColumn = 0;
  private icanon: boolean;

  constructor(private readonly port: LdiscPort) {
    this.icanon = (port.termios.lflag & ICANON) !== 0;
  }

  private get tio(): Termios {
    return this.port.termios;
  }

  /** Bytes readers can take now (FIONREAD): complete lines in canonical mode. */
  get available(): number {
    return this.queued;
  }
  /** Bytes held in total, the line being edited included. */
  get held(): number {
    return this.queued + this.cur.length;
  }
  /** Whether read() would return at once (a line, or an EOF). */
  get readable(): boolean {
    return this.queue.length > 0;
  }
  get room(): number {
    return Math.max(0, N_TTY_BUF_SIZE - 1 - this.held);
  }

  // ---- input ----

  /** Takes input bytes from the device; returns how many it accepted (the rest must wait). */
  receive(data: Uint8Array): number {
    const t = this.tio;
    if (!this.icanon && !(t.lflag & (ECHO | ISIG)) && !(t.iflag & (IXON | ISTRIP | IUCLC | IGNCR | ICRNL | INLCR | PARMRK))) {
      const n = Math.min(data.length, this.room);
      if (n > 0) this.push(Buffer.from(data.subarray(0, n)));
      return n;
    }
    let i = 0;
    for (; i < data.length; i++) {
      if (this.room <= 0 && !(this.icanon && this.queue.length === 0)) break;
      this.receiveChar(data[i]!);
    }
    // Raw-mode characters gather in `cur` and become one chunk.
    if (!this.icanon && this.cur.length) this.push(Buffer.from(this.cur.splice(0)));
    return i;
  }

  private push(b: Buffer): void {
    if (b.length === 0 && !this.icanon) return;
    this.queue.push({ data: b, off: 0 });
    this.queued += b.length;
  }

  private receiveChar(c: number): void {
    const t = this.tio;
    const l = t.lflag, ifl = t.iflag;
    if (ifl & ISTRIP) c &= 0x7f;
    if ((ifl & IUCLC) && (l & IEXTEN) && c >= 65 && c <= 90) c += 32;
    if (this.lnext) {
      this.lnext = false;
      this.literal(c);
      return;
    }
    if (ifl & IXON) {
      if (c === t.cc[VSTART] && c !== 0) { this.port.startOutput(); return; }
      if (c === t.cc[VSTOP] && c !== 0) { if (!this.port.outputStopped) this.port.stopOutput(); return; }
    }
    if (l & ISIG) {
      const sig = c === 0 ? 0 : c === t.cc[VINTR] ? SIGINT : c === t.cc[VQUIT] ? SIGQUIT : c === t.cc[VSUSP] ? SIGTSTP : 0;
      if (sig) {
        if (!(l & NOFLSH)) this.flush();
        if (this.port.outputStopped && (ifl & IXON)) this.port.startOutput();
        if (l & ECHO) this.echoChar(c);
        this.port.signal(sig);
        return;
      }
    }
    if ((ifl & IXANY) && this.port.outputStopped) this.port.startOutput();
    if (c === 13) {
      if (ifl & IGNCR) return;
      if (ifl & ICRNL) c = 10;
    } else if (c === 10 && (ifl & INLCR)) c = 13;

    if (this.icanon) {
      if (c === t.cc[VERASE] || c === t.cc[VKILL] || (c === t.cc[VWERASE] && (l & IEXTEN))) {
        if (c !== 0) { this.eraser(c); return; }
      }
      if (c === t.cc[VLNEXT] && c !== 0 && (l & IEXTEN)) {
        this.lnext = true;
        if (l & ECHO) { this.finishErasing(); this.echoRaw(Buffer.from('^\b')); }
        return;
      }
      if (c === t.cc[VREPRINT] && c !== 0 && (l & ECHO) && (l & IEXTEN)) {
        this.finishErasing();
        this.echoChar(c);
        this.echoRaw(Buffer.from('\n'));
        for (const x of this.cur) this.echoChar(x);
        return;
      }
      if (c === 10) {
        if (l & (ECHO | ECHONL)) this.echoRaw(Buffer.from('\n'));
        this.commit(c);
        return;
      }
      if (c === t.cc[VEOF] && c !== 0) {
        this.commit(-1);
        return;
      }
      if ((c === t.cc[VEOL] || (c === t.cc[VEOL2] && (l & IEXTEN))) && c !== 0) {
        if (l & ECHO) { if (this.cur.length === 0) this.canonColumn = this.column; this.echoChar(c); }
        this.commit(c);
        return;
      }
      if (c === t.cc[VDISCARD] && c !== 0 && (l & IEXTEN)) {
        // ^O toggles discarding of output (FLUSHO); not otherwise stored.
        t.lflag ^= FLUSHO;
        return;
      }
    }
    this.literal(c);
  }

  /** An ordinary character (or one quoted by LNEXT). */
  private literal(c: number): void {
    const l = this.tio.lflag;
    if (!this.icanon) {
      if (l & ECHO) {
        if (c === 10) this.echoRaw(Buffer.from('\n'));
        else this.echoChar(c);
      }
      if (this.room > 0) this.cur.push(c);
      return;
    }
    if (this.cur.length >= N_TTY_BUF_SIZE - 1 || this.held >= N_TTY_BUF_SIZE - 1) {
      if (this.tio.iflag & IMAXBEL) this.echoRaw(Buffer.from('\x07'));
      return;
    }
    if (l & ECHO) {
      this.finishErasing();
      if (this.cur.length === 0) this.canonColumn = this.column;
      if (c === 10) this.echoRaw(Buffer.from('\n'));
      else this.echoChar(c);
    }
    this.cur.push(c);
  }

  /** Ends the line being edited with `term` (a byte, or -1 for EOF which is not stored). */
  private commit(term: number): void {
    if (term >= 0) this.cur.push(term);
    const b = Buffer.from(this.cur);
    this.cur = [];
    this.queue.push({ data: b, off: 0 });
    this.queued += b.length;
    this.erasing = false;
  }

  private finishErasing(): void {
    if (this.erasing) {
      this.echoRaw(Buffer.from('/'));
      this.erasing = false;
    }
  }

  private eraser(c: number): void {
    const t = this.tio;
    const l = t.lflag;
    if (this.cur.length === 0) return;
    const kind = c === t.cc[VERASE] ? 'erase' : c === t.cc[VWERASE] ? 'werase' : 'kill';
    if (kind === 'kill') {
      if (!(l & ECHO)) { this.cur = []; return; }
      if (!(l & ECHOK) || !(l & ECHOKE) || !(l & ECHOE)) {
        this.cur = [];
        this.finishErasing();
        this.echoChar(c);
        if (l & ECHOK) this.echoRaw(Buffer.from('\n'));
        return;
      }
    }
    let seenAlnums = 0;
    const utf8 = (t.iflag & IUTF8) !== 0;
    while (this.cur.length) {
      // One character: a UTF-8 sequence counts as one.
      let start = this.cur.length - 1;
      if (utf8) while (start > 0 && (this.cur[start]! & 0xc0) === 0x80) start--;
      const ch = this.cur[start]!;
      if (kind === 'werase') {
        if (isAlnum(ch) || ch === 95) seenAlnums++;
        else if (seenAlnums) break;
      }
      const gone = this.cur.splice(start);
      if (l & ECHO) {
        if (l & ECHOPRT) {
          if (!this.erasing) { this.echoRaw(Buffer.from('\\')); this.erasing = true; }
          for (const x of gone) this.echoChar(x);
        } else if (kind === 'erase' && !(l & ECHOE)) {
          this.echoChar(c);
        } else if (ch === 9) {
          this.echoRaw(Buffer.alloc(this.tabWidthAt(this.cur), 8));
        } else {
          if (isCntrl(ch) && (l & ECHOCTL)) this.echoRaw(Buffer.from('\b \b'));
          if (!isCntrl(ch) || (l & ECHOCTL)) this.echoRaw(Buffer.from('\b \b'));
        }
      }
      if (kind === 'erase') break;
    }
    if (this.cur.length === 0 && (l & ECHO)) this.finishErasing();
  }

  /** Columns a tab occupied after the characters `before` of the line (echo_erase_tab). */
  private tabWidthAt(before: number[]): number {
    let col = this.canonColumn;
    const ctl = (this.tio.lflag & ECHOCTL) !== 0;
    for (const x of before) {
      if (x === 9) col = (col | 7) + 1;
      else if (isCntrl(x)) { if (ctl) col += 2; }
      else if (!((this.tio.iflag & IUTF8) && (x & 0xc0) === 0x80)) col++;
    }
    return 8 - (col & 7);
  }

  /** echo_char: control characters as ^X under ECHOCTL. */
  private echoChar(c: number): void {
    if ((this.tio.lflag & ECHOCTL) && isCntrl(c) && c !== 9) this.echoRaw(Buffer.from([0x5e, c ^ 0o100]));
    else this.echoRaw(Buffer.from([c]));
  }

  private echoRaw(b: Buffer): void {
    this.port.echo(this.processOutput(b).out);
  }

  // ---- reading ----

  /** Takes up to len bytes: in canonical mode at most one line. null when nothing is ready. */
  read(len: number): Buffer | null {
    if (this.queue.length === 0) return null;
    if (this.icanon) {
      const line = this.queue[0]!;
      const n = Math.min(len, line.data.length - line.off);
      const out = line.data.subarray(line.off, line.off + n);
      line.off += n;
      this.queued -= n;
      if (line.off >= line.data.length) this.queue.shift();
      return Buffer.from(out);
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < len && this.queue.length) {
      const q = this.queue[0]!;
      const n = Math.min(len - got, q.data.length - q.off);
      parts.push(q.data.subarray(q.off, q.off + n));
      q.off += n;
      got += n;
      if (q.off >= q.data.length) this.queue.shift();
    }
    this.queued -= got;
    return Buffer.concat(parts, got);
  }

  /** Drops all input (TCIFLUSH, signal characters without NOFLSH). */
  flush(): void {
    this.queue = [];
    this.queued = 0;
    this.cur = [];
    this.lnext = false;
    this.erasing = false;
  }

  /** Applies a termios change (n_tty_set_termios): switching modes keeps the data. */
  modeChanged(): void {
    const canon = (this.tio.lflag & ICANON) !== 0;
    if (canon === this.icanon) return;
    this.icanon = canon;
    const all: Buffer[] = this.queue.map((q) => q.data.subarray(q.off));
    if (this.cur.length) all.push(Buffer.from(this.cur));
    this.cur = [];
    this.queue = [];
    this.queued = 0;
    const b = Buffer.concat(all);
    // Data typed before the switch becomes readable at once ("pushed"), as Linux does.
    if (b.length) { this.queue.push({ data: b, off: 0 }); this.queued = b.length; }
    this.lnext = false;
    this.erasing = false;
  }

  // ---- output ----

  /**
   * OPOST processing of `data` into at most `room` output bytes. Returns the bytes and how
   * much of `data` they cover.
   */
  processOutput(data: Buffer, room = Infinity): { out: Buffer; consumed: number } {
    const o = this.tio.oflag;
    if (!(o & OPOST)) {
      const n = Math.min(data.length, room);
      this.trackColumns(data.subarray(0, n));
      return { out: n === data.length ? data : data.subarray(0, n), consumed: n };
    }
    if (!(o & (OLCUC | ONLCR | OCRNL | ONOCR | ONLRET | TABDLY)) && data.length <= room) {
      this.trackColumns(data);
      return { out: data, consumed: data.length };
    }
    const out = Buffer.allocUnsafe(Math.min(data.length * 8, Math.max(room === Infinity ? data.length * 8 : room, 8)));
    let w = 0, i = 0;
    const utf8 = (this.tio.iflag & IUTF8) !== 0;
    for (; i < data.length; i++) {
      let c = data[i]!;
      let need = 1;
      let bytes: number[] | null = null;
      switch (c) {
        case 10:
          if (o & ONLCR) { bytes = [13, 10]; need = 2; }
          break;
        case 13:
          if ((o & ONOCR) && this.column === 0) { need = 0; bytes = []; }
          else if (o & OCRNL) c = 10;
          break;
        case 9:
          if ((o & TABDLY) === TAB3) { need = 8 - (this.column & 7); bytes = new Array<number>(need).fill(32); }
          break;
        default:
          if ((o & OLCUC) && c >= 97 && c <= 122) c -= 32;
      }
      if (w + need > room) break;
      if (bytes) { for (const x of bytes) out[w++] = x; }
      else out[w++] = c;
      // Columns.
      if (c === 10) { if ((o & (ONLRET | ONLCR))) this.column = 0; }
      else if (c === 13) { if (need) this.column = 0; }
      else if (c === 9) this.column = (this.column | 7) + 1;
      else if (c === 8) { if (this.column > 0) this.column--; }
      else if (!isCntrl(c) && !(utf8 && (c & 0xc0) === 0x80)) this.column++;
      if (c === 10 || (c === 13 && need)) this.canonColumn = 0;
    }
    return { out: out.subarray(0, w), consumed: i };
  }

  private trackColumns(b: Buffer): void {
    const nl = b.lastIndexOf(10), cr = b.lastIndexOf(13);
    const last = Math.max(nl, cr);
    if (last >= 0) this.column = b.length - last - 1;
    else this.column += b.length;
  }
}
