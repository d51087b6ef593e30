// The machine's identity on the host (Linux arch/um/os-Linux/umid.c): `uml_dir=` (default
// ~/.uml/), `umid=` (random when absent), and the directory <uml_dir><umid>/ holding `pid` and
// the mconsole socket. A directory whose pid is dead is taken over; one whose pid is alive makes
// the machine fall back to a random umid, with UML's messages. Everything is removed on exit.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { randomInt } from 'node:crypto';

/** UMID_LEN - 1: the longest umid UML accepts; a longer `umid=` is ignored. */
export const UMID_MAX = 63;
const DEFAULT_UML_DIR = '~/.uml/';

export interface UmidOptions {
  /** `umid=` value, if given. */
  umid?: string;
  /** `uml_dir=` value, if given. */
  umlDir?: string;
  /** $HOME, for a uml_dir beginning with '~'. Default: process.env.HOME. */
  home?: string;
  /** The pid written to the pid file. Default: process.pid. */
  pid?: number;
  /** Where UML's printk/printf lines go (each ends with "\n"). Default: stderr. */
  log?: (line: string) => void;
}

export interface UmidDir {
  readonly umid: string;
  /** The uml_dir, always ending in '/'. */
  readonly umlDir: string;
  /** <uml_dir><umid> (no trailing slash). */
  readonly dir: string;
  /** <uml_dir><umid>/<name>, e.g. file('mconsole'). */
  file(name: string): string;
  /** Unlink everything in the directory and remove it (idempotent). */
  remove(): void;
}

/** `uml_dir=` as set_uml_dir()/make_uml_dir() resolve it: '~' is $HOME, a '/' is appended. */
export function resolveUmlDir(umlDir: string | undefined, home: string | undefined): string {
  let dir = umlDir === undefined || umlDir === '' ? DEFAULT_UML_DIR : umlDir;
  if (dir.startsWith('~')) {
    if (home === undefined) throw new Error('make_uml_dir : no value in environment for $HOME');
    dir = home + dir.slice(1);
  }
  if (dir.length > 0 && !dir.endsWith('/')) dir += '/';
  return dir;
}

/** Unlink the files of `dir`, then rmdir it; ENOENT is fine everywhere (remove_files_and_dir). */
export function removeFilesAndDir(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const n of names) {
    try { unlinkSync(`${dir}/${n}`); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  }
  try { rmdirSync(dir); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
}

/** The pid in <dir>/pid, or null when there is none or it cannot be parsed. */
export function readPidFile(dir: string): number | null {
  let text: string;
  try { text = readFileSync(`${dir}/pid`, 'latin1'); } catch { return null; }
  const m = /^\s*(\d+)/.exec(text);
  return m ? parseInt(m[1], 10) : null;
}

/** kill(pid, 0) == 0 || errno != ESRCH: UML's test that a machine still owns its directory. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const MKSTEMP_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A name as mkstemp("<uml_dir>XXXXXX") picks it: created exclusively, then unlinked. */
function randomUmid(umlDir: string): string {
  for (;;) {
    let name = '';
    for (let i = 0; i < 6; i++) name += MKSTEMP_CHARS[randomInt(MKSTEMP_CHARS.length)];
    try {
      closeSync(openSync(umlDir + name, 'wx', 0o600));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`make_umid - mkstemp(${umlDir}XXXXXX) failed: ${(e as Error).message}`);
    }
    unlinkSync(umlDir + name);
    return name;
  }
}

/** Create <uml_dir><umid>/ and its pid file; throws with UML's message when it cannot. */
function makeUmid(umlDir: string, umid: string, pid: number, log: (l: string) => void): UmidDir {
  const dir = umlDir + umid;
  try {
    mkdirSync(dir, 0o777);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      log(`Failed to create '${umid}' - err = ${Math.abs((e as NodeJS.ErrnoException).errno ?? 0)}\n`);
      throw e;
    }
    const owner = readPidFile(dir);
    if (owner !== null && pidAlive(owner)) {
      log(`umid "${umid}" is already in use by pid ${owner}\n`);
      throw new Error('in use');
    }
    // A dead machine's leftovers: take the directory over.
    removeFilesAndDir(dir);
    mkdirSync(dir, 0o777);
  }
  try {
    const fd = openSync(`${dir}/pid`, 'wx', 0o644);
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
  } catch (e) {
    log(`Open of machine pid file "${dir}/pid" failed: ${(e as Error).message}\n`);
  }
  let removed = false;
  return {
    umid,
    umlDir,
    dir,
    file: (name) => `${dir}/${name}`,
    remove() {
      if (removed) return;
      removed = true;
      try {
        removeFilesAndDir(dir);
      } catch (e) {
        log(`remove_umid_dir - remove_files_and_dir failed with err = ${-Math.abs((e as NodeJS.ErrnoException).errno ?? 0)}\n`);
      }
    },
  };
}

/** make_umid_init(): the given umid, or a random one when none was given or it is taken. */
export function setupUmid(opts: UmidOptions = {}): UmidDir {
  const log = opts.log ?? ((l: string) => { process.stderr.write(l); });
  const pid = opts.pid ?? process.pid;
  const umlDir = resolveUmlDir(opts.umlDir, opts.home ?? process.env.HOME);
  try {
    mkdirSync(umlDir, 0o777);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      log(`Failed to mkdir '${umlDir}': ${(e as Error).message}\n`);
      throw e;
    }
  }
  let umid = opts.umid !== undefined && opts.umid.length <= UMID_MAX ? opts.umid : '';
  if (umid !== '') {
    try {
      return makeUmid(umlDir, umid, pid, log);
    } catch {
      log(`Failed to initialize umid "${umid}", trying with a random umid\n`);
    }
  }
  umid = randomUmid(umlDir);
  return makeUmid(umlDir, umid, pid, log);
}

export interface CleanupOptions {
  /** Called after the directory is removed on SIGTERM/SIGHUP. Default: exit(1), as UML's last_ditch_exit(). */
  onSignal?: (signal: NodeJS.Signals) => void;
}

/**
 * Remove the umid directory when the process exits — normally, by an uncaught error, or on
 * SIGTERM/SIGHUP (which UML answers with cleanup and exit(1)). Returns an uninstaller.
 */
export function installUmidCleanup(u: UmidDir, opts: CleanupOptions = {}): () => void {
  const onExit = (): void => u.remove();
  const onSignal = (sig: NodeJS.Signals): void => {
    u.remove();
    if (opts.onSignal) opts.onSignal(sig);
    else process.exit(1);
  };
  process.on('exit', onExit);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return () => {
    process.off('exit', onExit);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  };
}
