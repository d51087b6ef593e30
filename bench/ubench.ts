// npm run bench: ubench natively, under tuml and under Debian's UML, side by side, with the
// bare C ptrace round trip as the floor and the engine issue's targets checked.
//
//   npm run bench -- [--runs N] [--scale N] [--no-uml] [--pinned] [--floor-calls N] [--record] [--no-net] [--no-fs]
//
// --scale divides ubench's latency loop counts (its -s); 1 is the full benchmark (minutes
// under UML). --pinned adds a run of tuml with every process on CPU 0 (on a VM a hand-off
// between CPUs costs more than the whole trapped call). --record also writes
// bench/results/<date>.json for the history. Then the network benchmark (netbench.ts) runs,
// unless --no-net, and the file-system benchmark on a ubd ext4 root (fsbench.ts), unless --no-fs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBinaries } from './build.js';
import { runFloor, runNative, runTuml, runUml, umlAvailable, type Placement, type RunOptions, type RunResult } from './runners.js';
import { netBenchMain, NET_DEFAULTS } from './netbench.js';
import { fsBenchMain, FS_DEFAULTS } from './fsbench.js';
import { bestOf, floorLines, metricsTable, targets, targetsTable, toJson, type Floor } from './report.js';

interface Args {
  runs: number;
  scale: number;
  uml: boolean;
  floorCalls: number;
  record: boolean;
  pinned: boolean;
  net: boolean;
  fs: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: npm run bench -- [--runs N] [--scale N] [--no-uml] [--pinned] [--floor-calls N] [--record] [--no-net] [--no-fs]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 3, scale: 10, uml: true, floorCalls: 50000, record: false, pinned: false, net: true, fs: true };
  const num = (i: number, name: string) => {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 1) usage(`${name} needs a positive integer`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--runs': a.runs = num(i++, '--runs'); break;
      case '--scale': a.scale = num(i++, '--scale'); break;
      case '--floor-calls': a.floorCalls = Math.max(2, num(i++, '--floor-calls')); break;
      case '--no-uml': a.uml = false; break;
      case '--record': a.record = true; break;
      case '--pinned': a.pinned = true; break;
      case '--no-net': a.net = false; break;
      case '--no-fs': a.fs = false; break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  return a;
}

function progress(r: RunResult, round: number): void {
  const status = r.error ? `FAILED: ${r.error}` : 'ok';
  process.stderr.write(`bench: round ${round} ${r.env.padEnd(9)} ${r.wallSeconds.toFixed(1)} s ${status}\n`);
}

function main(): Args {
  const args = parseArgs(process.argv.slice(2));
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const sharedBench = process.env.TUML_BENCH_SRC ?? path.resolve(repoRoot, '..', 'shared', 'bench');
  const bin = buildBinaries(repoRoot, sharedBench);
  const opts: RunOptions = { bin, repoRoot, scale: args.scale, timeoutMs: 15 * 60_000 };
  const withUml = args.uml && umlAvailable();
  if (args.uml && !withUml) process.stderr.write('bench: /usr/bin/linux.uml not found (apt-get install user-mode-linux): UML column skipped\n');

  const runs: RunResult[] = [];
  const floor: Floor = { ns: {} };
  // Rounds interleave the environments so that a noisy moment on the host hurts one run of
  // each rather than all runs of one.
  for (let round = 1; round <= args.runs; round++) {
    for (const placement of ['any', 'same', 'cross'] as Placement[]) {
      if (placement === 'cross' && os.availableParallelism() < 2) continue;
      for (const [kind, ns] of runFloor(opts, placement, args.floorCalls)) {
        const p = (floor.ns[placement] ??= {});
        p[kind] = Math.min(p[kind] ?? Infinity, ns);
      }
    }
    const pinned = (o: RunOptions) => runTuml(o, { label: 'tuml-cpu0', pinCpu0: true });
    for (const run of [runNative, runTuml, ...(withUml ? [(o: RunOptions) => runUml(o, round)] : []), ...(args.pinned ? [pinned] : [])]) {
      const r = run(opts);
      progress(r, round);
      runs.push(r);
    }
  }

  const rows = bestOf(runs);
  const ts = targets(rows, floor, withUml);
  const uname = os.type() + ' ' + os.release() + ' ' + os.arch();
  process.stdout.write(`\ntuml micro-benchmark — best of ${args.runs}, ubench -s ${args.scale}, ${os.availableParallelism()} CPUs, ${uname}\n\n`);
  process.stdout.write(metricsTable(rows) + '\n\n');
  process.stdout.write('ratios: >1× means tuml is slower (times divided; rates inverted)\n\n');
  process.stdout.write(floorLines(floor) + '\n\n');
  process.stdout.write(targetsTable(ts) + '\n');
  const failed = runs.filter((r) => r.error);
  for (const r of failed) process.stdout.write(`\nwarning: a ${r.env} run failed: ${r.error}\n`);

  const date = new Date().toISOString();
  const json = toJson({ date, uname, cpus: os.availableParallelism(), node: process.version, runs: args.runs, scale: args.scale }, rows, floor, ts, runs);
  const dir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(json, null, 2) + '\n';
  fs.writeFileSync(path.join(dir, 'latest.json'), text);
  if (args.record) fs.writeFileSync(path.join(dir, `${date.slice(0, 10)}.json`), text);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), path.join(dir, 'latest.json'))}${args.record ? ` and ${date.slice(0, 10)}.json` : ''}\n`);
  return args;
}

try {
  const args = main();
  if (args.net) await netBenchMain(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'), { ...NET_DEFAULTS, uml: args.uml });
  if (args.fs) fsBenchMain(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'), { ...FS_DEFAULTS, uml: args.uml });
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
