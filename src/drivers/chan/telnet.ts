// The server side of the telnet protocol (RFC 854/857/858/1073) for port channels, as
// in.telnetd does for UML: the server echoes (WILL ECHO) and suppresses go-ahead (WILL SGA)
// so the client sends characters as typed, and asks for the window size (DO NAWS). Input is
// cleaned of commands; CR NUL and CR LF become CR (the tty's ICRNL makes it a newline).
// Output doubles IAC bytes.

export const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, GA = 249, EL = 248,
  EC = 247, AYT = 246, AO = 245, IP = 244, BRK = 243, DM = 242, NOP = 241, SE = 240;
export const OPT_BINARY = 0, OPT_ECHO = 1, OPT_SGA = 3, OPT_TTYPE = 24, OPT_NAWS = 31, OPT_LINEMODE = 34;

/** What the server sends when a client connects. */
export function greeting(): Buffer {
  return Buffer.from([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA, IAC, DO, OPT_NAWS]);
}

export interface TelnetEvents {
  /** Bytes to send back to the client (negotiation replies). */
  reply(b: Buffer): void;
  /** The client's window size (NAWS). */
  winsize(cols: number, rows: number): void;
}

type State = 'data' | 'iac' | 'opt' | 'sb' | 'sb-iac' | 'cr';

export class TelnetParser {
  private state: State = 'data';
  private verb = 0;
  private sb: number[] = [];
  /** Options we have agreed to (ours: WILL; theirs: DO). */
  private readonly ours = new Set<number>([OPT_ECHO, OPT_SGA]);
  private readonly theirs = new Set<number>();

  constructor(private readonly ev: TelnetEvents) {}

  /** Parses bytes from the client; returns the data bytes in them. */
  input(buf: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(buf.length);
    let w = 0;
    for (const c of buf) {
      switch (this.state) {
        case 'cr':
        case 'data':
          if (this.state === 'cr') {
            this.state = 'data';
            if (c === 0 || c === 10) continue; // CR NUL, CR LF → CR
          }
          if (c === IAC) { this.state = 'iac'; continue; }
          out[w++] = c;
          if (c === 13) this.state = 'cr';
          continue;
        case 'iac':
          if (c === IAC) { out[w++] = IAC; this.state = 'data'; continue; }
          if (c === WILL || c === WONT || c === DO || c === DONT) { this.verb = c; this.state = 'opt'; continue; }
          if (c === SB) { this.sb = []; this.state = 'sb'; continue; }
          // Interrupt Process and friends map to the tty's own characters.
          if (c === IP) out[w++] = 3;
          else if (c === EC) out[w++] = 0x7f;
          else if (c === EL) out[w++] = 0x15;
          this.state = 'data';
          continue;
        case 'opt':
          this.negotiate(this.verb, c);
          this.state = 'data';
          continue;
        case 'sb':
          if (c === IAC) this.state = 'sb-iac';
          else if (this.sb.length < 64) this.sb.push(c);
          continue;
        case 'sb-iac':
          if (c === SE) { this.subnegotiation(this.sb); this.state = 'data'; }
          else { if (c === IAC && this.sb.length < 64) this.sb.push(IAC); this.state = 'sb'; }
          continue;
      }
    }
    return out.subarray(0, w);
  }

  private negotiate(verb: number, opt: number): void {
    const send = (v: number) => this.ev.reply(Buffer.from([IAC, v, opt]));
    switch (verb) {
      case DO:
        if (opt === OPT_ECHO || opt === OPT_SGA || opt === OPT_BINARY) { if (!this.ours.has(opt)) { this.ours.add(opt); send(WILL); } }
        else send(WONT);
        break;
      case DONT:
        if (this.ours.has(opt)) { this.ours.delete(opt); send(WONT); }
        break;
      case WILL:
        if (opt === OPT_NAWS || opt === OPT_SGA || opt === OPT_BINARY) { if (!this.theirs.has(opt)) { this.theirs.add(opt); if (opt !== OPT_NAWS) send(DO); } }
        else send(DONT);
        break;
      case WONT:
        if (this.theirs.has(opt)) { this.theirs.delete(opt); send(DONT); }
        break;
    }
  }

  private subnegotiation(sb: number[]): void {
    if (sb[0] === OPT_NAWS && sb.length >= 5) {
      const cols = (sb[1]! << 8) | sb[2]!, rows = (sb[3]! << 8) | sb[4]!;
      if (cols > 0 && rows > 0) this.ev.winsize(cols, rows);
    }
  }
}

/** Output to the client: IAC bytes doubled. */
export function escapeOutput(b: Buffer): Buffer {
  if (!b.includes(IAC)) return b;
  const out: number[] = [];
  for (const c of b) { out.push(c); if (c === IAC) out.push(IAC); }
  return Buffer.from(out);
}
