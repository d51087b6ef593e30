// The ubd switches of the command line, parsed as ubd_kern.c's ubd_setup_common does:
// `ubd<N>[rscdt]=file[(,|:)file2][(,|:)serial]` with N a number (strtoul base 0: 0x… hex,
// 0… octal) or a letter, and `ubd=sync`. Errors carry UML's texts. The backends are then
// opened synchronously (UML opens them at boot too; the I/O after boot is synchronous as
// well for now: a large request holds the kernel thread while the host works).
import { lockWholeFile } from '../../host/files.js';
import { openBlockBackend, type BlockBackend } from './block-backend.js';

export const MAX_DEV = 16;

export interface UbdConfig {
  index: number;
  /** The image, or with a backing file, the COW file. */
  file: string | null;
  backingFile: string | null;
  serial: string | null;
  readOnly: boolean;
  sync: boolean;
  noCow: boolean;
  shared: boolean;
  noTrim: boolean;
}

export class UbdConfigError extends Error {
  constructor(readonly setup: string, readonly reason: string) {
    super(`Failed to initialize device with "${setup}" : ${reason}`);
  }
}

/** parse_unit: a number as simple_strtoul(…, 0) reads it, or one lower-case letter. */
function parseUnit(s: string): { n: number; rest: string } | null {
  const c = s.charAt(0);
  if (c >= '0' && c <= '9') {
    let m: RegExpExecArray | null;
    if ((m = /^0[xX]([0-9a-fA-F]+)/.exec(s))) return { n: parseInt(m[1]!, 16), rest: s.slice(m[0].length) };
    if ((m = /^0[0-7]*/.exec(s))) return { n: m[0].length > 1 ? parseInt(m[0], 8) : 0, rest: s.slice(m[0].length) };
    m = /^[0-9]+/.exec(s)!;
    return { n: parseInt(m[0], 10), rest: s.slice(m[0].length) };
  }
  if (c >= 'a' && c <= 'z') return { n: c.charCodeAt(0) - 0x61, rest: s.slice(1) };
  return null;
}

/** strsep(&str, ",:"). */
function strsep(s: string | null): [string | null, string | null] {
  if (s === null) return [null, null];
  const i = s.search(/[,:]/);
  return i < 0 ? [s, null] : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * One ubd switch: `setup` is what follows "ubd" (e.g. `0r=root_fs`, `b=cow,back`,
 * `=sync`). Returns the device's config, or 'sync' for `ubd=sync`, or null for ignored
 * forms. Throws UbdConfigError with UML's reason.
 */
export function parseUbdSetup(setup: string, configured: ReadonlySet<number> = new Set(), globalSync = false): UbdConfig | 'sync' | null {
  if (setup.startsWith('=')) return setup.slice(1) === 'sync' ? 'sync' : null; // "fake major not supported any more"
  const unit = parseUnit(setup);
  if (!unit) throw new UbdConfigError(setup, "Couldn't parse device number");
  if (unit.n >= MAX_DEV) throw new UbdConfigError(setup, 'Device number out of range');
  if (configured.has(unit.n)) throw new UbdConfigError(setup, 'Device is already configured');
  const cfg: UbdConfig = {
    index: unit.n, file: null, backingFile: null, serial: null,
    readOnly: false, sync: globalSync, noCow: false, shared: false, noTrim: false,
  };
  let str = unit.rest;
  let found = false;
  // sizeof("rscdt=") is 7: six flag letters and the '=' at most.
  for (let i = 0; i < 7; i++) {
    const c = str.charAt(0);
    if (c === '=') { str = str.slice(1); found = true; break; }
    switch (c) {
      case 'r': cfg.readOnly = true; break;
      case 's': cfg.sync = true; break;
      case 'd': cfg.noCow = true; break;
      case 'c': cfg.shared = true; break;
      case 't': cfg.noTrim = true; break;
      default: throw new UbdConfigError(setup, "Expected '=' or flag letter (r, s, c, t or d)");
    }
    str = str.slice(1);
  }
  if (!found) throw new UbdConfigError(setup, str.startsWith('=') ? 'Too many flags specified' : "Missing '='");
  let file: string | null, backing: string | null, serial: string | null, rest: string | null;
  [file, rest] = strsep(str);
  [backing, rest] = strsep(rest);
  [serial] = strsep(rest);
  if (backing && cfg.noCow) throw new UbdConfigError(setup, "Can't specify both 'd' and a cow file");
  cfg.file = file || null;
  cfg.backingFile = backing || null;
  cfg.serial = serial || null;
  return cfg;
}

export interface UbdSwitches { configs: UbdConfig[]; errors: UbdConfigError[] }

/**
 * All ubd switches of a machine (`devices` as src/cli/cmdline.ts collects them: key
 * `ubd0r`, value `root_fs`), in command-line order. Bad ones are reported and skipped, as
 * UML boots on without them.
 */
export function parseUbdSwitches(devices: ReadonlyMap<string, string>): UbdSwitches {
  const configs: UbdConfig[] = [];
  const errors: UbdConfigError[] = [];
  let sync = false;
  for (const [key, value] of devices) {
    if (key === 'ubd' && value === 'sync') sync = true;
  }
  const seen = new Set<number>();
  for (const [key, value] of devices) {
    if (!key.startsWith('ubd')) continue;
    try {
      const r = parseUbdSetup(`${key.slice(3)}=${value}`, seen, sync);
      if (r === null || r === 'sync') continue;
      seen.add(r.index);
      configs.push(r);
    } catch (e) {
      if (e instanceof UbdConfigError) errors.push(e);
      else throw e;
    }
  }
  return { configs, errors };
}

/** `udb…` on the command line: UML's typo catcher. */
export function udbWarnings(devices: ReadonlyMap<string, string>): string[] {
  return [...devices.keys()].filter((k) => k.startsWith('udb'))
    .map((k) => `udb${k.slice(3)} specified on command line is almost certainly a ubd -> udb TYPO`);
}

export interface OpenedUbd { config: UbdConfig; backend: BlockBackend }

/** Opens a configured device's files (COW creation, checks and messages as UML). */
export function openUbd(config: UbdConfig, log: (line: string) => void): OpenedUbd {
  if (!config.file) throw new UbdConfigError(`${config.index}`, 'No file specified');
  const backend = openBlockBackend(config.file, {
    backingFile: config.backingFile ?? undefined,
    noCow: config.noCow,
    readOnly: config.readOnly,
    sync: config.sync,
    shared: config.shared,
    lock: lockWholeFile,
    log,
  });
  return { config, backend };
}
