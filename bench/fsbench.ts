// The file-system benchmark: bench/fs/fsbench.c (small-file create+write, stat and unlink;
// 64 MiB sequential write and read) on a ubd ext4 root image, in tuml and in Debian's UML,
// each booted on its own fresh copy of the same image, side by side with the same program
// run natively on the host's file system for scale.
//
//   node dist/bench/fsbench.js [--runs N] [--files N] [--mb N] [--no-uml]
//
// `npm run bench` runs it after the micro-benchmark (ubench.ts calls fsBenchMain).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildProgram } from './build.js';
import { bestOf, metricsTable } from './report.js';
import { parseResults, UML_BINARY, umlAvailable, type RunResult } from './runners.js';

export interface FsBenchOptions {
  runs: number;
  /** Small files created, stat'ed and unlinked. */
  files: number;
  /** MiB written and read sequentially. */
  mb: number;
  uml: boolean;
  timeoutMs: number;
}

export const FS_DEFAULTS: FsBenchOptions = { runs: 3, files: 2000, mb: 64, uml: true, timeoutMs: 300_000 };

const IMAGE_MB = 512;

interface Setup {
  dir: string;
  fsbench: string;
  image: string;
}

function busybox(): string {
  const b = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!b) throw new Error('fsbench: busybox is missing (apt-get install busybox-static)');
  return b;
}

/** A busybox root holding fsbench and UML's init script, as an ext4 image made by mke2fs -d. */
function makeImage(repoRoot: string, o: FsBenchOptions): Setup {
  const fsbench = buildProgram(repoRoot, 'fsbench', path.join(repoRoot, 'bench', 'fs', 'fsbench.c'), ['-O2', '-static', '-Wall']);
  const dir = path.join(path.dirname(fsbench), 'fs');
  fs.rmSync(dir, { recursive: true, force: true });
  const tree = path.join(dir, 'tree');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) fs.mkdirSync(path.join(tree, d), { recursive: true });
  const bb = busybox();
  fs.copyFileSync(bb, path.join(tree, 'bin/busybox'));
  fs.chmodSync(path.join(tree, 'bin/busybox'), 0o755);
  for (const a of String(spawnSync(bb, ['--list-full'], { encoding: 'utf8' }).stdout).split('\n').filter(Boolean)) {
    if (!fs.existsSync(path.join(tree, a))) fs.symlinkSync('/bin/busybox', path.join(tree, a));
  }
  fs.copyFileSync(fsbench, path.join(tree, 'bin/fsbench'));
  fs.chmodSync(path.join(tree, 'bin/fsbench'), 0o755);
  fs.writeFileSync(path.join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  // UML's init must not exit (the kernel panics): power off when done.
  fs.writeFileSync(path.join(tree, 'fsbench-init.sh'), [
    '#!/bin/sh', 'mount -t proc proc /proc', `/bin/fsbench ${fsbenchArgs(o, 'uml').join(' ')}`, '/bin/busybox poweroff -f', '',
  ].join('\n'), { mode: 0o755 });
  const image = path.join(dir, 'root.img');
  const r = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, image, `${IMAGE_MB}M`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`fsbench: mke2fs failed (install e2fsprogs): ${r.error?.message ?? r.stderr}`);
  return { dir, fsbench, image };
}

function fsbenchArgs(o: FsBenchOptions, label: string, dir = '/fsbench'): string[] {
  return ['-d', dir, '-n', String(o.files), '-m', String(o.mb), '-l', label];
}

/** A fresh sparse copy of the image for one run. */
function copyImage(s: Setup, name: string): string {
  const to = path.join(s.dir, name);
  const r = spawnSync('cp', ['--sparse=always', s.image, to]);
  if (r.status !== 0) fs.copyFileSync(s.image, to);
  return to;
}

function finish(env: string, t0: number, r: ReturnType<typeof spawnSync>): RunResult {
  const out = String(r.stdout ?? '');
  const res: RunResult = { env, metrics: parseResults(out), wallSeconds: (performance.now() - t0) / 1000 };
  if (r.error) res.error = r.error.message;
  else if (!out.includes('BENCH_DONE')) {
    const err = /^ERROR .*$/m.exec(out);
    const tail = (String(r.stderr ?? '') + out).trim().split('\n').slice(-4).join(' | ');
    res.error = err ? err[0] : `exited with ${r.status ?? r.signal} before BENCH_DONE: ${tail}`;
  }
  return res;
}

function runNative(s: Setup, o: FsBenchOptions): RunResult {
  const d = path.join(s.dir, 'native');
  fs.rmSync(d, { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync(s.fsbench, fsbenchArgs(o, 'native', d), { encoding: 'utf8', timeout: o.timeoutMs });
  fs.rmSync(d, { recursive: true, force: true });
  return finish('native', t0, r);
}

/** tuml booted on its copy (`ubd0=img root=/dev/ubda`); e2fsck -fn judges what it left. */
function runTuml(s: Setup, o: FsBenchOptions, repoRoot: string): RunResult {
  const img = copyImage(s, 'tuml.img');
  const t0 = performance.now();
  const r = spawnSync(path.join(repoRoot, 'tuml'), [`ubd0=${img}`, 'root=/dev/ubda', '--', '/bin/fsbench', ...fsbenchArgs(o, 'tuml')], {
    encoding: 'utf8', timeout: o.timeoutMs, killSignal: 'SIGKILL', cwd: repoRoot,
  });
  const res = finish('tuml', t0, r);
  const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
  if (!res.error && fsck.status !== 0) res.error = `e2fsck -fn of tuml's image failed: ${fsck.stdout.trim().split('\n').slice(-3).join(' | ')}`;
  fs.rmSync(img, { force: true });
  return res;
}

function runUml(s: Setup, o: FsBenchOptions, round: number): RunResult {
  const img = copyImage(s, 'uml.img');
  const umid = `tuml-fsbench-${process.pid}-${round}`;
  const t0 = performance.now();
  const r = spawnSync(UML_BINARY, [
    'mem=256M', `ubd0=${img}`, 'root=/dev/ubda', 'rw', 'init=/fsbench-init.sh',
    'con=null', 'con0=null,fd:1', 'quiet', `uml_dir=${s.dir}`, `umid=${umid}`,
  ], { encoding: 'utf8', timeout: o.timeoutMs, killSignal: 'SIGKILL' });
  fs.rmSync(path.join(s.dir, umid), { recursive: true, force: true });
  fs.rmSync(img, { force: true });
  return finish('uml', t0, r);
}

/** Runs the environments in interleaved rounds, prints the table, returns the runs. */
export function fsBenchMain(repoRoot: string, o: FsBenchOptions = FS_DEFAULTS): RunResult[] {
  const withUml = o.uml && umlAvailable();
  if (o.uml && !withUml) process.stderr.write(`fsbench: ${UML_BINARY} not found (apt-get install user-mode-linux): UML column skipped\n`);
  const s = makeImage(repoRoot, o);
  const runs: RunResult[] = [];
  try {
    for (let round = 1; round <= o.runs; round++) {
      const envs: Array<() => RunResult> = [() => runNative(s, o), () => runTuml(s, o, repoRoot), ...(withUml ? [() => runUml(s, o, round)] : [])];
      for (const run of envs) {
        const r = run();
        runs.push(r);
        process.stderr.write(`fsbench: round ${round} ${r.env.padEnd(6)} ${r.wallSeconds.toFixed(1)} s ${r.error ? `FAILED: ${r.error}` : 'ok'}\n`);
      }
    }
  } finally {
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
  process.stdout.write(`\nfile system — ext4 root on ubd (${IMAGE_MB} MiB image, a fresh copy per run), best of ${o.runs}; ` +
    `${o.files} files of 1 KiB, ${o.mb} MiB sequential; native is the host's own file system\n\n`);
  process.stdout.write(metricsTable(bestOf(runs)) + '\n');
  process.stdout.write('ratios: >1× means tuml is slower (times divided; rates inverted); create and unlink include a sync\n');
  for (const r of runs.filter((x) => x.error)) process.stdout.write(`warning: a ${r.env} run failed: ${r.error}\n`);
  return runs;
}

function parseArgs(argv: string[]): FsBenchOptions {
  const o = { ...FS_DEFAULTS };
  const usage = (msg: string): never => {
    process.stderr.write(`fsbench: ${msg}\nusage: fsbench [--runs N] [--files N] [--mb N] [--no-uml]\n`);
    process.exit(2);
  };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`${name} needs a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--runs': o.runs = num(argv[++i], '--runs'); break;
      case '--files': o.files = num(argv[++i], '--files'); break;
      case '--mb': o.mb = num(argv[++i], '--mb'); break;
      case '--no-uml': o.uml = false; break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    fsBenchMain(repoRoot, parseArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
