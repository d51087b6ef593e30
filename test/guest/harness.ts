// Helpers for guest tests: run a shell command natively and inside a fresh tuml machine
// with the same environment and working directory, and compare what they produce.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** TUML_BIN runs another build (e.g. a private snapshot while others rebuild dist/). */
export const tumlBin = process.env.TUML_BIN ?? path.join(repo, 'tuml');

/** The environment a fresh tuml machine gives its first program; natively we use the same. */
export const guestEnv: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  TERM: 'linux',
  SHELL: '/bin/sh',
  USER: 'root',
  LOGNAME: 'root',
};

/** Exported by the command prefix on both sides, so locale and time zone never differ. */
const fixedExports = 'export LC_ALL=C TZ=UTC';

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Exit status, or 128+signal like a shell reports it. */
  status: number;
  ms: number;
  /** Milliseconds from spawn to the first stdout byte (-1 if none). */
  firstOutputMs: number;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

const signalNumbers = os.constants.signals as Record<string, number>;

/** Spawns argv and collects its output; never rejects. */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? guestEnv,
      cwd: opts.cwd ?? repo,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group, so a timeout can end everything the command started.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let firstOutputMs = -1;
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (firstOutputMs < 0) firstOutputMs = performance.now() - t0;
      out.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => { /* the command may exit without reading */ });
      child.stdin!.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeoutMs ?? 60000);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status: code ?? 128 + (sig ? signalNumbers[sig] ?? 0 : 0),
        ms: performance.now() - t0,
        firstOutputMs,
        timedOut,
      });
    });
  });
}

/** A fresh, empty host directory for one case under base (a tmpfs on the host, so the two
 *  sides compare tmpfs with tmpfs); the guest re-creates the same path in its own mount. */
export function caseDir(name: string, base = '/dev/shm'): string {
  return fs.mkdtempSync(path.join(base, `corpus-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
}

function wrap(cmd: string, dir: string, mkdir: boolean): string {
  const cd = mkdir ? `mkdir -p '${dir}' && cd '${dir}' || exit 99` : `cd '${dir}' || exit 99`;
  return `${fixedExports}; ${cd}; ${cmd}`;
}

/** `sh -c CMD` natively, in dir. */
export function runNative(cmd: string, dir: string, opts: RunOptions = {}): Promise<RunResult> {
  // Started in /root like the guest's first program, so OLDPWD and the like agree.
  return run(['/bin/sh', '-c', wrap(cmd, dir, false)], { ...opts, cwd: '/root' });
}

/** `tuml quiet -- sh -c CMD` in a fresh default machine, in the same path inside the guest. */
export function runGuest(cmd: string, dir: string, opts: RunOptions & { args?: string[] } = {}): Promise<RunResult> {
  return run([tumlBin, 'quiet', ...(opts.args ?? []), '--', '/bin/sh', '-c', wrap(cmd, dir, true)], opts);
}

export function have(tool: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: guestEnv }).status === 0;
}

let bootsCache: boolean | undefined;
/** Whether the engine runs programs at all (guest tests skip with a message if not). */
export function tumlBoots(): boolean {
  if (bootsCache === undefined) {
    const r = spawnSync(tumlBin, ['quiet', '--', '/bin/true'], { timeout: 20000 });
    bootsCache = r.status === 0;
  }
  return bootsCache;
}

/** Host processes (pid, command line) whose argv or comm mentions tuml's kernel or its stubs. */
export function tumlHostProcesses(exclude: Set<number> = new Set()): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    const pid = Number(ent);
    if (!Number.isInteger(pid) || pid === process.pid || exclude.has(pid)) continue;
    let cmd: string;
    let comm: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
    } catch { continue; }
    if (/(^|\/)tuml( |$)|dist\/src\/cli\/main\.js/.test(cmd) || /tuml|stub/i.test(comm)) found.push({ pid, cmd: cmd || `[${comm}]` });
  }
  return found;
}

/** Process ids of every descendant of pid (from /proc/<pid>/task/<tid>/children). */
export function descendants(pid: number): number[] {
  const seen: number[] = [];
  const walk = (p: number) => {
    let tids: string[];
    try { tids = fs.readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const tid of tids) {
      let kids: string;
      try { kids = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1'); } catch { continue; }
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) {
        if (!seen.includes(k)) { seen.push(k); walk(k); }
      }
    }
  };
  walk(pid);
  return seen;
}

/** True if the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
