// Runs ubench in each environment (natively, under tuml, under Debian's UML) and the bare
// ptrace tracer, and parses what they print.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchBinaries } from './build.js';

export interface Measurement {
  value: number;
  unit: string;
}

export interface RunResult {
  env: string;
  metrics: Map<string, Measurement>;
  wallSeconds: number;
  /** Why the run did not finish (the metrics printed before that still count). */
  error?: string;
}

export interface RunOptions {
  bin: BenchBinaries;
  repoRoot: string;
  /** ubench's -s divisor for its latency loops. */
  scale: number;
  timeoutMs: number;
}

export const UML_BINARY = '/usr/bin/linux.uml';

/** ubench's "RESULT <label> <metric> <value> <unit>" lines, keyed by metric. */
export function parseResults(output: string): Map<string, Measurement> {
  const m = new Map<string, Measurement>();
  for (const line of output.split(/\r?\n/)) {
    const f = /^RESULT (\S+) (\S+) (\S+) (\S+)/.exec(line.replace(/\r/g, ''));
    if (f) m.set(f[2]!, { value: Number(f[3]), unit: f[4]! });
  }
  return m;
}

function ubenchArgs(o: RunOptions, label: string, rootDir: string, tmpDir: string): string[] {
  return ['-s', String(o.scale), '-x', o.bin.true0, '-d', rootDir, '-t', tmpDir, '-l', label];
}

function finish(env: string, t0: number, r: ReturnType<typeof spawnSync>): RunResult {
  const out = String(r.stdout ?? '');
  const res: RunResult = { env, metrics: parseResults(out), wallSeconds: (performance.now() - t0) / 1000 };
  const err = /^ERROR .*$/m.exec(out);
  if (r.error) res.error = r.error.message;
  else if (!out.includes('BENCH_DONE')) {
    const tail = (String(r.stderr ?? '') + out).trim().split('\n').slice(-5).join(' | ');
    res.error = err ? err[0] : `exited with ${r.status ?? r.signal} before BENCH_DONE: ${tail}`;
  }
  return res;
}

function scratchDir(o: RunOptions, name: string): string {
  const d = path.join(o.bin.dir, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

export function runNative(o: RunOptions): RunResult {
  const t0 = performance.now();
  const r = spawnSync(o.bin.ubench, ubenchArgs(o, 'native', scratchDir(o, 'root-native'), '/tmp'), {
    encoding: 'utf8', timeout: o.timeoutMs, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finish('native', t0, r);
}

/**
 * ubench in a fresh default machine: /tmp is the guest's tmpfs, the "root" directory is the
 * cache directory seen through the machine's root (host / under an in-memory COW layer).
 */
export function runTuml(o: RunOptions, opts: { label?: string; nodeArgs?: string[]; pinCpu0?: boolean } = {}): RunResult {
  const label = opts.label ?? 'tuml';
  const args = ubenchArgs(o, label, scratchDir(o, 'root-tuml'), '/tmp');
  let cmd = path.join(o.repoRoot, 'tuml');
  let argv = ['--', o.bin.ubench, ...args];
  if (opts.nodeArgs?.length) {
    argv = [...opts.nodeArgs, path.join(o.repoRoot, 'dist', 'src', 'cli', 'main.js'), ...argv];
    cmd = process.execPath;
  }
  if (opts.pinCpu0) {
    argv = ['-c', '0', cmd, ...argv];
    cmd = 'taskset';
  }
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: o.timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], cwd: o.repoRoot });
  return finish(label, t0, r);
}

export function umlAvailable(): boolean {
  return fs.existsSync(UML_BINARY);
}

/**
 * ubench as init of a UML booted on the host's / (hostfs, read-only): the init script mounts
 * /proc, a tmpfs on /tmp and a writable hostfs directory for the "root" test, runs the
 * benchmark, then powers the machine off (init must not exit: that panics the kernel).
 */
export function runUml(o: RunOptions, round: number): RunResult {
  const rootDir = scratchDir(o, 'root-uml');
  const script = path.join(o.bin.dir, 'uml-init.sh');
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(script, [
    '#!/bin/sh',
    'mount -t proc proc /proc',
    'mount -t tmpfs none /tmp',
    `mount -t hostfs none ${q(rootDir)} -o ${q(rootDir)}`,
    [o.bin.ubench, ...ubenchArgs(o, 'uml', rootDir, '/tmp')].map(q).join(' '),
    // busybox's poweroff -f calls reboot(2) at once; the sysrq path is the fallback.
    busybox ? `${busybox} poweroff -f` : ':',
    'echo o > /proc/sysrq-trigger',
    'sleep 30',
    '',
  ].join('\n'), { mode: 0o755 });
  const umid = `tuml-bench-${process.pid}-${round}`;
  const t0 = performance.now();
  const r = spawnSync(UML_BINARY, [
    'mem=256M', 'rootfstype=hostfs', 'rootflags=/', 'ro', `init=${script}`,
    'con=null', 'con0=null,fd:1', 'quiet', `umid=${umid}`,
  ], { encoding: 'utf8', timeout: o.timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], killSignal: 'SIGKILL' });
  fs.rmSync(path.join(process.env.HOME ?? '/root', '.uml', umid), { recursive: true, force: true });
  return finish('uml', t0, r);
}

export type Placement = 'any' | 'same' | 'cross';

/** The bare C tracer: ns per trapped getppid, for each way of trapping. */
export function runFloor(o: RunOptions, placement: Placement, calls: number): Map<string, number> {
  const r = spawnSync(o.bin.ptraceFloor, [String(calls), placement], { encoding: 'utf8', timeout: o.timeoutMs });
  if (r.status !== 0) throw new Error(`bench: ptrace-floor ${placement} failed: ${r.stderr || r.error?.message}`);
  const m = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const f = /^FLOOR (\S+) (\S+) (\S+)/.exec(line);
    if (f) m.set(f[2]!, Number(f[3]));
  }
  return m;
}
