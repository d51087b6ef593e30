// UML's console and serial line switches (`con=`, `conN=`, `ssl=`, `sslN=`, line.c and
// chan_kern.c): each line gets an input and an output channel. Shared by the kernel (which
// lines exist) and the main thread (which host channels to open). A line's channel id is
// its tty minor: con N is /dev/ttyN (minor N), ssl N is /dev/ttySN (minor 64+N).

export const MAX_CONSOLES = 16, MAX_SERIAL = 64, SERIAL_MINOR_BASE = 64;

export type ChanSpec =
  | { type: 'fd'; fd: number }
  | { type: 'null' }
  | { type: 'port'; port: number }
  | { type: 'pty' }
  | { type: 'pts' }
  | { type: 'tty'; path: string }
  | { type: 'xterm' };

export interface LineSpec {
  kind: 'con' | 'ssl';
  index: number;
  /** Channel id and tty minor. */
  chan: number;
  name: string;
  input: ChanSpec;
  output: ChanSpec;
  /** The switch text, as mconsole's config shows it. */
  text: string;
}

export interface XtermSpec { emulator: string; titleSwitch: string; execSwitch: string }

export class LineSpecError extends Error {}

/** chan_kern.c's table, matched by prefix in this order. */
export function parseChan(s: string): ChanSpec {
  if (s.startsWith('fd:')) {
    const n = Number(s.slice(3));
    if (!/^\d+$/.test(s.slice(3))) throw new LineSpecError(`fd channel '${s}': expected fd:<number>`);
    return { type: 'fd', fd: n };
  }
  if (s.startsWith('null')) return { type: 'null' };
  if (s.startsWith('port:')) {
    const p = Number(s.slice(5));
    if (!/^\d+$/.test(s.slice(5)) || p < 1 || p > 65535) throw new LineSpecError(`port channel '${s}': expected port:<1-65535>`);
    return { type: 'port', port: p };
  }
  if (s.startsWith('pty')) return { type: 'pty' };
  if (s.startsWith('pts')) return { type: 'pts' };
  if (s.startsWith('tty:')) {
    if (s.length <= 4) throw new LineSpecError(`tty channel '${s}': expected tty:<device>`);
    return { type: 'tty', path: s.slice(4) };
  }
  if (s.startsWith('xterm')) return { type: 'xterm' };
  throw new LineSpecError(`unknown channel type '${s}' (fd:N, null, port:N, pty, pts, tty:DEV, xterm, none)`);
}

/** parse_chan_pair: "in,out" or one channel for both; null for `none`. */
export function parseChanPair(s: string): { input: ChanSpec; output: ChanSpec } | null {
  if (s === 'none') return null;
  const comma = s.indexOf(',');
  if (comma >= 0) return { input: parseChan(s.slice(0, comma)), output: parseChan(s.slice(comma + 1)) };
  const c = parseChan(s);
  return { input: c, output: c };
}

/** tuml's defaults: con0 on stdio (as UML's CONFIG_CON_ZERO_CHAN); all else null (UML: xterm / pty). */
export const DEFAULT_CON0 = 'fd:0,fd:1', DEFAULT_CON = 'null', DEFAULT_SSL = 'null';

/** Every configured line (`none` lines are left out), from the command line's switches. */
export function parseLines(devices: ReadonlyMap<string, string>): LineSpec[] {
  const conAll = devices.get('con') ?? DEFAULT_CON;
  const sslAll = devices.get('ssl') ?? DEFAULT_SSL;
  for (const key of devices.keys()) {
    const m = /^(con|ssl)(\d+)$/.exec(key);
    if (!m) continue;
    const n = Number(m[2]);
    if (n >= (m[1] === 'con' ? MAX_CONSOLES : MAX_SERIAL)) throw new LineSpecError(`${key}: line number out of range (${m[1]}0 to ${m[1]}${(m[1] === 'con' ? MAX_CONSOLES : MAX_SERIAL) - 1})`);
  }
  const out: LineSpec[] = [];
  const add = (kind: 'con' | 'ssl', index: number, text: string) => {
    const pair = parseChanPair(text);
    if (!pair) return;
    const chan = kind === 'con' ? index : SERIAL_MINOR_BASE + index;
    out.push({ kind, index, chan, name: kind === 'con' ? `tty${index}` : `ttyS${index}`, ...pair, text });
  };
  for (let i = 0; i < MAX_CONSOLES; i++) {
    const own = devices.get(`con${i}`);
    add('con', i, own ?? (i === 0 && !devices.has('con') ? DEFAULT_CON0 : conAll));
  }
  for (let i = 0; i < MAX_SERIAL; i++) add('ssl', i, devices.get(`ssl${i}`) ?? sslAll);
  return out;
}

/** `xterm=<emulator>,<title switch>,<exec switch>` (default xterm,-T,-e). */
export function parseXterm(devices: ReadonlyMap<string, string>): XtermSpec {
  const v = devices.get('xterm');
  if (!v) return { emulator: 'xterm', titleSwitch: '-T', execSwitch: '-e' };
  const [emulator, titleSwitch, execSwitch] = v.split(',');
  if (!emulator || !titleSwitch || !execSwitch) throw new LineSpecError(`xterm=${v}: expected xterm=<emulator>,<title switch>,<exec switch>`);
  return { emulator, titleSwitch, execSwitch };
}

export function describeChan(c: ChanSpec): string {
  switch (c.type) {
    case 'fd': return `fd:${c.fd}`;
    case 'port': return `port:${c.port}`;
    case 'tty': return `tty:${c.path}`;
    default: return c.type;
  }
}
