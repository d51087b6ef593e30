// Compiles the benchmark's C programs (static, -O2) into a cache directory, once per change
// of their source.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export interface BenchBinaries {
  dir: string;
  ubench: string;
  true0: string;
  ptraceFloor: string;
}

interface Program {
  name: string;
  source: string;
  flags: string[];
}

/** Builds what is missing or stale; throws with gcc's message when a build fails. */
export function buildBinaries(repoRoot: string, sharedBench: string): BenchBinaries {
  const dir = path.join(repoRoot, 'node_modules', '.cache', 'tuml-bench');
  fs.mkdirSync(dir, { recursive: true });
  const programs: Program[] = [
    { name: 'ubench', source: path.join(sharedBench, 'ubench.c'), flags: ['-O2', '-static'] },
    // No libc at all: the cheapest possible exec target, as ubench.c's header says.
    { name: 'true0', source: path.join(sharedBench, 'true0.c'), flags: ['-O2', '-static', '-nostdlib', '-fno-asynchronous-unwind-tables'] },
    { name: 'ptrace-floor', source: path.join(repoRoot, 'bench', 'ptrace-floor.c'), flags: ['-O2', '-static', '-Wall'] },
  ];
  for (const p of programs) compile(dir, p);
  return {
    dir,
    ubench: path.join(dir, 'ubench'),
    true0: path.join(dir, 'true0'),
    ptraceFloor: path.join(dir, 'ptrace-floor'),
  };
}

/** Builds one more program into the cache (e.g. bench/fs/fsbench.c); returns its path. */
export function buildProgram(repoRoot: string, name: string, source: string, flags: string[]): string {
  const dir = path.join(repoRoot, 'node_modules', '.cache', 'tuml-bench');
  fs.mkdirSync(dir, { recursive: true });
  compile(dir, { name, source, flags });
  return path.join(dir, name);
}

function compile(dir: string, p: Program): void {
  if (!fs.existsSync(p.source)) throw new Error(`bench: missing source ${p.source}`);
  const out = path.join(dir, p.name);
  const stamp = `${out}.stamp`;
  // The stamp holds a hash of source and flags: rebuild on any change, not on mtime games.
  const key = createHash('sha256').update(fs.readFileSync(p.source)).update(p.flags.join(' ')).digest('hex');
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === key) return;
  const r = spawnSync('gcc', [...p.flags, '-o', out, p.source], { encoding: 'utf8' });
  if (r.error) throw new Error(`bench: cannot run gcc (${r.error.message}); install gcc and libc6-dev`);
  if (r.status !== 0) throw new Error(`bench: gcc failed for ${p.source}:\n${r.stderr}`);
  fs.writeFileSync(stamp, key);
}
