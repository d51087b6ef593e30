// The kernel halves of line.c's mconsole device for con and ssl (line_config,
// line_get_config, line_remove), over k.console: UML's reply texts and errno values,
// recorded from Debian's UML 6.1 (test/guest/mconsole-hotplug.test.ts).
import type { Kernel } from '../kernel.js';
import { EINVAL } from '../abi/errno.js';
import { MAX_CONSOLES, MAX_SERIAL, SERIAL_MINOR_BASE } from './line-spec.js';
import type { Line } from './line.js';

export interface LineReply { err: number; text: string }
export type LineKind = 'con' | 'ssl';

function count(kind: LineKind): number {
  return kind === 'con' ? MAX_CONSOLES : MAX_SERIAL;
}

function lineOf(k: Kernel, kind: LineKind, n: number): Line | null {
  return k.console?.lines.get(kind === 'con' ? n : SERIAL_MINOR_BASE + n) ?? null;
}

/** simple_strtoul(s, &end, 0): the value and the characters it used. */
function strtoul(s: string): { value: number; used: number } {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(s);
  if (!m) return { value: 0, used: 0 };
  const t = m[1]!;
  const value = /^0[xX]/.test(t) ? parseInt(t.slice(2), 16) : t.length > 1 && t[0] === '0' ? parseInt(t, 8) : parseInt(t, 10);
  return { value, used: t.length };
}

const OPEN: LineReply = { err: -EINVAL, text: 'Device is already open' };
const NONE = "configured as 'none'";

/** line_config: `spec` is what follows the name ("1=pts", "0=port:9000"). */
export function lineConfig(k: Kernel, kind: LineKind, spec: string): LineReply {
  if (spec.startsWith('=')) return { err: -EINVAL, text: "Can't configure all devices from mconsole" };
  const { value: n, used } = strtoul(spec);
  if (spec[used] !== '=') return { err: -EINVAL, text: "Couldn't parse device number" };
  if (n >= count(kind)) return { err: -EINVAL, text: 'Device number out of range' };
  const value = spec.slice(used + 1);
  const old = lineOf(k, kind, n);
  if (old && old.tty.openCount > 0) return OPEN;
  // setup_one_line(…, "none") always says so; it fails only when the line was none already.
  if (value === 'none' && !old) return { err: -EINVAL, text: NONE };
  const error = k.console ? k.console.config(`${kind}${n}`, value) : 'no console';
  if (error === null) return { err: 0, text: value === 'none' ? NONE : '' };
  if (error === 'Device is open') return OPEN;
  return { err: -1, text: 'failed to parse channel pair' };
}

/**
 * line_get_config: "none" for an unconfigured line; an open line describes its channels,
 * a closed one gives its switch text up to the first ',' (parse_chan_pair cut it there).
 */
export function lineGetConfig(k: Kernel, kind: LineKind, unit: string): { text: string } | { error: string } {
  const { value: n, used } = strtoul(unit);
  if (used === 0 || used !== unit.length) return { error: 'line_get_config failed to parse device number' };
  if (n >= count(kind)) return { error: 'device number out of range' };
  const l = lineOf(k, kind, n);
  if (!l) return { text: 'none' };
  if (l.tty.openCount > 0) return { text: k.console!.query(`${kind}${n}`) ?? '' };
  return { text: l.spec.text.split(',')[0]! };
}

/** line_remove (setup_one_line with "none"). */
export function lineRemove(k: Kernel, kind: LineKind, n: number): LineReply {
  if (n < 0 || n >= count(kind)) return { err: -EINVAL, text: 'Device number out of range' };
  const l = lineOf(k, kind, n);
  if (l && l.tty.openCount > 0) return OPEN;
  if (!l) return { err: -EINVAL, text: NONE };
  const error = k.console!.remove(`${kind}${n}`);
  if (error === null) return { err: 0, text: '' };
  return error === 'Device is open' ? OPEN : { err: -EINVAL, text: error };
}
