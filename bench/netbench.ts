// The network benchmark: TCP throughput and request/response round trips between two tuml
// machines on `tuml switch`, and between two UMLs (Debian's user-mode-linux) on the same
// kind of switch, side by side. Both pairs run bench/net/netperf.py inside the machines, so
// the difference is the machines' network path (stack, device, transport), not the tool.
//
//   node dist/bench/netbench.js [--runs N] [--mb N] [--rounds N] [--no-uml]
//
// `npm run bench` runs it after the micro-benchmark (ubench.ts calls netBenchMain).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface NetBenchOptions {
  runs: number;
  /** MiB sent in the throughput test. */
  mb: number;
  /** 1-byte request/response exchanges timed. */
  rounds: number;
  uml: boolean;
  timeoutMs: number;
}

export const NET_DEFAULTS: NetBenchOptions = { runs: 3, mb: 32, rounds: 500, uml: true, timeoutMs: 180_000 };

export interface NetRun {
  pair: 'tuml' | 'uml';
  tputMBps?: number;
  rrUs?: number;
  error?: string;
}

export const UML_LINUX = '/usr/bin/linux';

interface Proc {
  out: () => string;
  done: Promise<number | null>;
  kill: () => void;
}

function start(cmd: string, args: string[], cwd: string, timeoutMs: number): Proc {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<number | null>((r) => child.on('close', (code) => { clearTimeout(timer); r(code); }));
  return { out: () => out, done, kill: () => child.kill('SIGKILL') };
}

async function waitForPath(p: string): Promise<void> {
  for (let i = 0; i < 200 && !fs.existsSync(p); i++) await new Promise((r) => setTimeout(r, 25));
  if (!fs.existsSync(p)) throw new Error(`switch socket ${p} did not appear`);
}

/** The NET lines of the client's output. */
export function parseNet(out: string): { tputMBps?: number; rrUs?: number; error?: string } {
  const r: { tputMBps?: number; rrUs?: number; error?: string } = {};
  const t = /^NET tput_MBps (\S+)/m.exec(out);
  const l = /^NET rr_us (\S+)/m.exec(out);
  const e = /^NET error: (.*)$/m.exec(out);
  if (t) r.tputMBps = Number(t[1]);
  if (l) r.rrUs = Number(l[1]);
  if (e) r.error = e[1];
  return r;
}

function commands(script: string, o: NetBenchOptions): { server: string; client: string } {
  return {
    server: `python3 ${script} server 5001`,
    client: `python3 ${script} client 10.0.0.1 5001 ${o.mb} ${o.rounds}`,
  };
}

/** One measurement of one pair on a fresh switch. */
async function runPair(pair: 'tuml' | 'uml', repoRoot: string, o: NetBenchOptions): Promise<NetRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tuml-netbench-${pair}-`));
  const ctl = path.join(dir, 'ctl');
  const tuml = path.join(repoRoot, 'tuml');
  const sw = start(tuml, ['switch', '-unix', ctl], dir, o.timeoutMs);
  const procs: Proc[] = [];
  try {
    await waitForPath(ctl);
    const eth = `eth0=daemon,,unix,${ctl}`;
    const cmd = commands(path.join(repoRoot, 'bench', 'net', 'netperf.py'), o);
    const setup = (ip: string) => `ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`;
    if (pair === 'tuml') {
      procs.push(start(tuml, ['quiet', eth, '--', 'sh', '-c', `${setup('10.0.0.1')} && ${cmd.server}`], repoRoot, o.timeoutMs));
      procs.push(start(tuml, ['quiet', eth, '--', 'sh', '-c', `${setup('10.0.0.2')} && ${cmd.client}`], repoRoot, o.timeoutMs));
    } else {
      for (const [name, ip, c] of [['a', '10.0.0.1', cmd.server], ['b', '10.0.0.2', cmd.client]] as const) {
        const init = path.join(dir, `init-${name}.sh`);
        // init must not exit (the kernel panics): power off when the work is done.
        fs.writeFileSync(init, ['#!/bin/sh', 'mount -t proc proc /proc', setup(ip), c, '/bin/busybox poweroff -f', 'echo o > /proc/sysrq-trigger', 'sleep 30', ''].join('\n'), { mode: 0o755 });
        procs.push(start(UML_LINUX, ['mem=128M', `umid=netbench-${process.pid}-${name}`, `uml_dir=${dir}`, 'root=/dev/root', 'rootfstype=hostfs',
          'rootflags=/', 'ro', `init=${init}`, 'con=null', 'con0=null,fd:1', 'quiet', eth], dir, o.timeoutMs));
      }
    }
    await Promise.all(procs.map((p) => p.done));
    const client = procs[1]!.out();
    const r: NetRun = { pair, ...parseNet(client) };
    if (!r.error && (r.tputMBps === undefined || r.rrUs === undefined)) {
      r.error = `no result: ${(client + procs[0]!.out()).trim().split('\n').slice(-4).join(' | ')}`;
    }
    return r;
  } catch (e) {
    return { pair, error: (e as Error).message };
  } finally {
    for (const p of procs) p.kill();
    sw.kill();
    await sw.done;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function umlLinuxAvailable(): boolean {
  return fs.existsSync(UML_LINUX);
}

/** Best of the runs for each pair (highest throughput, lowest round trip). */
export function bestNet(runs: NetRun[]): Map<'tuml' | 'uml', { tputMBps?: number; rrUs?: number }> {
  const best = new Map<'tuml' | 'uml', { tputMBps?: number; rrUs?: number }>();
  for (const r of runs) {
    const b = best.get(r.pair) ?? {};
    if (r.tputMBps !== undefined) b.tputMBps = Math.max(b.tputMBps ?? 0, r.tputMBps);
    if (r.rrUs !== undefined) b.rrUs = Math.min(b.rrUs ?? Infinity, r.rrUs);
    best.set(r.pair, b);
  }
  return best;
}

/** The side-by-side table; ratios >1× mean tuml is slower. */
export function netTable(best: Map<'tuml' | 'uml', { tputMBps?: number; rrUs?: number }>, o: NetBenchOptions): string {
  const t = best.get('tuml') ?? {}, u = best.get('uml') ?? {};
  const f = (v: number | undefined, d: number) => (v === undefined ? '-' : v.toFixed(d));
  const ratio = (x: number | undefined, y: number | undefined) => (x === undefined || y === undefined || x === 0 ? '-' : `${(x / y).toFixed(2)}×`);
  const rows = [
    ['metric', 'tuml↔tuml', 'UML↔UML', 'tuml/UML'],
    [`TCP throughput, ${o.mb} MiB (MB/s)`, f(t.tputMBps, 1), f(u.tputMBps, 1), ratio(u.tputMBps, t.tputMBps)],
    ['TCP 1-byte round trip (µs)', f(t.rrUs, 0), f(u.rrUs, 0), ratio(t.rrUs, u.rrUs)],
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('   ')).join('\n');
}

/** Runs the pairs (interleaved rounds), prints the table, and returns the runs. */
export async function netBenchMain(repoRoot: string, o: NetBenchOptions = NET_DEFAULTS): Promise<NetRun[]> {
  const withUml = o.uml && umlLinuxAvailable();
  if (o.uml && !withUml) process.stderr.write(`netbench: ${UML_LINUX} not found (apt-get install user-mode-linux): UML pair skipped\n`);
  const runs: NetRun[] = [];
  for (let round = 1; round <= o.runs; round++) {
    for (const pair of ['tuml', ...(withUml ? ['uml'] : [])] as ('tuml' | 'uml')[]) {
      const t0 = performance.now();
      const r = await runPair(pair, repoRoot, o);
      runs.push(r);
      const what = r.error ? `FAILED: ${r.error}` : `${r.tputMBps} MB/s, ${r.rrUs} µs`;
      process.stderr.write(`netbench: round ${round} ${pair.padEnd(4)} ${((performance.now() - t0) / 1000).toFixed(1)} s ${what}\n`);
    }
  }
  process.stdout.write(`\nnetwork — two machines on tuml switch (daemon transport), best of ${o.runs}, bench/net/netperf.py in both\n\n`);
  process.stdout.write(netTable(bestNet(runs), o) + '\n');
  process.stdout.write('ratios: >1× means tuml is slower\n');
  for (const r of runs.filter((x) => x.error)) process.stdout.write(`warning: a ${r.pair} run failed: ${r.error}\n`);
  return runs;
}

function parseArgs(argv: string[]): NetBenchOptions {
  const o = { ...NET_DEFAULTS };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`netbench: ${name} needs a positive integer\nusage: netbench [--runs N] [--mb N] [--rounds N] [--no-uml]\n`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--runs': o.runs = num(argv[++i], '--runs'); break;
      case '--mb': o.mb = num(argv[++i], '--mb'); break;
      case '--rounds': o.rounds = num(argv[++i], '--rounds'); break;
      case '--no-uml': o.uml = false; break;
      default:
        process.stderr.write(`netbench: unknown argument ${argv[i]}\nusage: netbench [--runs N] [--mb N] [--rounds N] [--no-uml]\n`);
        process.exit(2);
    }
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  await netBenchMain(repoRoot, parseArgs(process.argv.slice(2)));
}
