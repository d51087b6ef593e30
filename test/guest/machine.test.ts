// `tuml -- cmd` as a tool: exit status, stdin, start-up latency, the kernel log of unknown
// system calls, and that a machine leaves no host process behind however it ends (its
// command exits, forks hundreds of children, spins, or tuml itself is killed or terminated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive, descendants, guestEnv, have, repo, run, sleep, tumlBin, tumlBoots, tumlHostProcesses } from './harness.js';

const skip = tumlBoots() ? false : './tuml -- /bin/true does not run';

test("tuml -- /bin/sh -c 'echo hi; exit 3' prints hi and exits 3, as natively", { skip }, async () => {
  const cmd = ['/bin/sh', '-c', 'echo hi; exit 3'];
  const native = await run(cmd);
  const guest = await run([tumlBin, '--', ...cmd]);
  assert.equal(native.stdout.toString(), 'hi\n');
  assert.equal(guest.stdout.toString(), 'hi\n');
  assert.equal(guest.status, 3);
  assert.equal(guest.stderr.toString(), '');
});

test('piped stdin reaches the guest', { skip }, async () => {
  const guest = await run([tumlBin, '--', 'wc', '-l'], { input: 'a\nb\n' });
  assert.equal(guest.stdout.toString(), (await run(['wc', '-l'], { input: 'a\nb\n' })).stdout.toString());
  assert.equal(guest.stdout.toString(), '2\n');
  assert.equal(guest.status, 0);
  const big = Buffer.alloc(3 << 20, 'x\n');
  const sum = await run([tumlBin, 'quiet', '--', 'sh', '-c', 'sha256sum; read x || echo eof'], { input: big });
  const want = await run(['sh', '-c', 'sha256sum; read x || echo eof'], { input: big });
  assert.equal(sum.stdout.toString(), want.stdout.toString());
});

test('large output and binary data pass through unchanged', { skip }, async () => {
  const lines = await run([tumlBin, 'quiet', '--', 'seq', '2000000']);
  const want = await run(['seq', '2000000']);
  assert.ok(lines.stdout.equals(want.stdout), `stdout of seq 2000000 differs (${lines.stdout.length} vs ${want.stdout.length} bytes)`);
  const bin = Buffer.alloc(8 << 20);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 2654435761) >>> 24;
  const echoed = await run([tumlBin, 'quiet', '--', 'cat'], { input: bin });
  assert.ok(echoed.stdout.equals(bin), `8 MiB through cat came back as ${echoed.stdout.length} different bytes`);
});

test('a closed host stdout gives the guest SIGPIPE, as natively', { skip }, async () => {
  const native = await run(['bash', '-c', 'yes | head -1; echo ${PIPESTATUS[@]}']);
  const guest = await run(['bash', '-c', `'${tumlBin}' quiet -- yes | head -1; echo \${PIPESTATUS[@]}`], { timeoutMs: 10000 });
  assert.equal(guest.stdout.toString(), native.stdout.toString());
  assert.equal(guest.stdout.toString(), 'y\n141 0\n');
});

test('a shell script on stdin, as natively', { skip }, async () => {
  const input = 'echo hi from script\nread x\necho "[$x]"\nexit 4\nline\n';
  const native = await run(['sh'], { input });
  const r = await run([tumlBin, 'quiet', '--', 'sh'], { input });
  assert.equal(r.stdout.toString(), native.stdout.toString());
  assert.equal(native.status, 4);
  assert.equal(r.status, native.status);
});

test('exit status of a signalled command is 128+signal', { skip }, async () => {
  const r = await run([tumlBin, '--', 'sh', '-c', 'kill -USR2 $$']);
  assert.equal(r.status, 128 + 12);
});

test('first output appears within 0.5 s of starting', { skip }, async () => {
  // Up to five tries, the first one under the target wins: the host is shared with other
  // test files (and other people's), and a start-up can be unlucky.
  const times: number[] = [];
  for (let i = 0; i < 5 && !times.some((t) => t < 500); i++) {
    const r = await run([tumlBin, '--', 'echo', 'hi']);
    assert.equal(r.stdout.toString(), 'hi\n');
    times.push(r.firstOutputMs);
  }
  const best = Math.min(...times);
  assert.ok(best >= 0 && best < 500,
    `first output after ${times.map((t) => t.toFixed(0)).join(', ')} ms (host load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs)`);
});

test('an unknown system call gives ENOSYS and one log line naming it', { skip: skip || (!have('gcc') && 'gcc is not installed') }, async () => {
  const src = 'cat > u.c <<EOF\n#include <stdio.h>\n#include <unistd.h>\n#include <errno.h>\n' +
    'int main(void) { for (int i = 0; i < 3; i++) { long r = syscall(1000, 1, 2); printf("%ld %d\\\\n", r, errno); } return 0; }\nEOF\n' +
    'gcc -o u u.c && ./u';
  const r = await run([tumlBin, 'loglevel=7', '--', 'sh', '-c', `cd /tmp && ${src} && dmesg | grep -c 'unimplemented syscall.*(1000)'`], { timeoutMs: 60000 });
  assert.equal(r.stdout.toString(), '-1 38\n-1 38\n-1 38\n1\n', r.stderr.toString());
  const lines = r.stderr.toString().split('\n').filter((l) => /unimplemented syscall .*\(1000\)/.test(l));
  assert.equal(lines.length, 1, r.stderr.toString());
  assert.equal(r.status, 0);
});

test('every system call with garbage arguments: no kernel exception, the machine carries on', { skip: skip || (!have('gcc') && 'gcc is not installed'), timeout: 120000 }, async () => {
  const src = path.join(repo, 'test/guest/fuzz-syscalls.c');
  const r = await run([tumlBin, 'quiet', '--', 'sh', '-c', `cd /tmp && gcc -O1 -o fuzz '${src}' && ./fuzz 460 && echo survived && dmesg | grep -c 'kernel bug'`], { timeoutMs: 100000 });
  const out = r.stdout.toString();
  assert.match(out, /^done$/m, r.stderr.toString());
  assert.match(out, /^survived\n0\n$/m, r.stderr.toString());
  assert.doesNotMatch(r.stderr.toString(), /kernel bug|kernel thread died/);
});

/** Starts tuml, keeps sampling the host processes it owns, and reports them once it is gone. */
/** killAfterMs counts from the first "started" line (machines start slower on a loaded host). */
async function watchMachine(args: string[], opts: { killAfterMs?: number; signal?: NodeJS.Signals; timeoutMs?: number } = {}) {
  const child = spawn(tumlBin, args, { env: guestEnv, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Set<number>();
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => { done = true; });
  let t0 = -1;
  let sentAt = -1;
  const hardStop = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, opts.timeoutMs ?? 60000);
  while (!done) {
    for (const p of descendants(child.pid!)) seen.add(p);
    if (t0 < 0 && out.includes('started\n')) t0 = performance.now();
    if (opts.killAfterMs !== undefined && sentAt < 0 && t0 >= 0 && performance.now() - t0 >= opts.killAfterMs) {
      child.kill(opts.signal ?? 'SIGKILL');
      sentAt = performance.now();
    }
    await sleep(20);
  }
  clearTimeout(hardStop);
  const status = await exited;
  const endedAfterSignalMs = sentAt < 0 ? -1 : performance.now() - sentAt;
  // Give the host a moment to reap what EXITKILL killed; then nothing may be left.
  let left: number[] = [];
  for (let i = 0; i < 50; i++) {
    left = [...seen].filter(alive);
    if (left.length === 0) break;
    await sleep(20);
  }
  const describe = left.map((p) => {
    try { return `${p}: ${fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ')}`; } catch { return `${p}`; }
  });
  return { status, out, err, seen, left: describe, endedAfterSignalMs };
}

test('a guest forking 500 processes leaves no host process behind', { skip, timeout: 120000 }, async () => {
  const marker = `corpus-fork-${process.pid}-${Date.now()}`;
  const r = await watchMachine(['quiet', '--', 'sh', '-c', `: ${marker}; for i in $(seq 500); do sleep 0.01 & done; wait; echo done`], { timeoutMs: 90000 });
  assert.equal(r.out, 'done\n', r.err);
  assert.equal(r.status.code, 0);
  assert.ok(r.seen.size >= 2, `saw ${r.seen.size} host processes`);
  assert.deepEqual(r.left, []);
  assert.deepEqual(tumlHostProcesses().filter((p) => p.cmd.includes(marker)), []);
});

test('a machine killed mid-run (SIGKILL to tuml) leaves no host process behind', { skip }, async () => {
  const marker = `corpus-kill-${process.pid}-${Date.now()}`;
  const r = await watchMachine(['quiet', '--', 'sh', '-c', `: ${marker}; sleep 1000 & (while :; do :; done) & echo started; wait`], { killAfterMs: 500 });
  assert.equal(r.out, 'started\n');
  assert.equal(r.status.signal, 'SIGKILL');
  assert.ok(r.seen.size >= 4, `saw ${r.seen.size} host processes`);
  assert.deepEqual(r.left, []);
  assert.deepEqual(tumlHostProcesses().filter((p) => p.cmd.includes(marker)), []);
});

test('SIGTERM to tuml ends a spinning machine cleanly, with no host process left', { skip }, async () => {
  const marker = `corpus-term-${process.pid}-${Date.now()}`;
  const r = await watchMachine(['quiet', '--', 'sh', '-c', `: ${marker}; sleep 1000 & echo started; while :; do :; done`], { killAfterMs: 500, signal: 'SIGTERM' });
  assert.equal(r.out, 'started\n');
  // The guest's command dies of SIGTERM and tuml reports it like a shell would.
  assert.equal(r.status.code, 128 + 15, r.err);
  assert.ok(r.endedAfterSignalMs < 3000, `ended ${r.endedAfterSignalMs.toFixed(0)} ms after SIGTERM`);
  assert.deepEqual(r.left, []);
  assert.deepEqual(tumlHostProcesses().filter((p) => p.cmd.includes(marker)), []);
});

test('SIGINT to tuml (Ctrl-C without a terminal) ends the machine the same way', { skip }, async () => {
  const r = await watchMachine(['quiet', '--', 'sh', '-c', 'echo started; sleep 1000'], { killAfterMs: 300, signal: 'SIGINT' });
  assert.equal(r.out, 'started\n');
  assert.equal(r.status.code, 128 + 2, r.err);
  assert.deepEqual(r.left, []);
});

test('a guest that kills its own init-level command leaves nothing behind', { skip }, async () => {
  const r = await watchMachine(['quiet', '--', 'sh', '-c', 'sleep 1000 & sleep 1000 & kill -9 $$']);
  assert.equal(r.status.code, 128 + 9);
  assert.deepEqual(r.left, []);
});
