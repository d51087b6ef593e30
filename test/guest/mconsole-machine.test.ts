// A running tuml machine driven through its mconsole by Debian's uml_mconsole and by
// `tuml mconsole`: the umid directory and notify packet at start, the replies a real UML
// gives (texts recorded from Debian's UML 6.1 in test/unit/mconsole-fake.ts and below),
// stop freezing a CPU-bound guest (no host CPU used while stopped), go, and halt removing
// everything. Also: SIGTERM and a crashed init leave no umid directory behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { UnixDgramSocket, sockaddrUn } from '../../src/host/unix-dgram.js';
import { decodeNotify, MCONSOLE_MAGIC, MCONSOLE_SOCKET } from '../../src/drivers/mconsole/protocol.js';
import { recvWithin, run, RECORDED } from '../unit/mconsole-fake.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TUML = path.join(repo, 'tuml');

let skip: string | false = false;
let dir = '';
let sock = '';
let machine: ChildProcess | null = null;
let exited: Promise<number | null> = Promise.resolve(null);
let stderr = '';
let notifyPacket: Buffer | null = null;

/** `sysrq m` as Debian's UML 6.1 answered uml_mconsole (64M machine). */
const UML_SYSRQ_M = `OK sysrq: Show Memory
Mem-Info:
active_anon:1 inactive_anon:25 isolated_anon:0
 active_file:0 inactive_file:480 isolated_file:0
 unevictable:0 dirty:0 writeback:0
 slab_reclaimable:90 slab_unreclaimable:2387
 mapped:359 shmem:0 pagetables:9
 sec_pagetables:0 bounce:0
 kernel_misc_reclaimable:0
 free:6840 free_pcp:109 free_cma:0
Node 0 active_anon:4kB inactive_anon:100kB active_file:0kB inactive_file:1920kB unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:1436kB dirty:0kB writeback:0kB shmem:0kB writeback_tmp:0kB kernel_stack:544kB pagetables:36kB sec_pagetables:0kB all_unreclaimable? no
Normal free:27360kB boost:0kB min:812kB low:1012kB high:1212kB reserved_highatomic:0KB active_anon:4kB inactive_anon:100kB active_file:0kB inactive_file:1920kB unevictable:0kB writepending:0kB present:744236kB managed:41524kB mlocked:0kB bounce:0kB free_pcp:436kB local_pcp:436kB free_cma:0kB
lowmem_reserve[]: 0 0
Normal: 8*4kB (UM) 18*8kB (UME) 79*16kB (UME) 96*32kB (UM) 35*64kB (U) 9*128kB (UE) 0*256kB 2*512kB (ME) 2*1024kB (UE) 2*2048kB (ME) 3*4096kB (M) = 27360kB
484 total pagecache pages
0 pages in swap cache
Free swap  = 0kB
Total swap = 0kB
186059 pages RAM
0 pages HighMem/MovableOnly
175678 pages reserved

`;

/** Numbers and migrate types out: what is left is the layout. */
function shape(text: string): string {
  return text.replace(/ \([UMEHC]+\)/g, '').replace(/\d+/g, 'N');
}

function mc(...args: string[]) {
  return run('uml_mconsole', [sock, ...args]);
}

/** Clock ticks (user + system) used by the machine's guest processes: every descendant of
 *  the tuml process except tuml itself (the stubs, the doorbell, their children). */
function guestTicks(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let s: string;
    try { s = readFileSync(`/proc/${name}/stat`, 'latin1'); } catch { continue; }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(name), Number(f[1]));
    ticks.set(Number(name), Number(f[11]) + Number(f[12]));
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) { sum += t; break; }
    }
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a machine; resolves once its mconsole answers (the kernel is up). */
async function boot(args: string[]): Promise<{ child: ChildProcess; exited: Promise<number | null>; err: () => string }> {
  const child = spawn(TUML, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited: done, err: () => err };
}

async function waitForFile(p: string, ms: number): Promise<boolean> {
  for (let t = 0; t < ms; t += 20) {
    if (existsSync(p)) return true;
    await sleep(20);
  }
  return false;
}

before(async () => {
  if (spawnSync('uml_mconsole', [], { stdio: 'ignore' }).error) {
    skip = 'uml_mconsole is not installed (apt-get install uml-utilities)';
    return;
  }
  if (spawnSync(TUML, ['--', '/bin/true'], { timeout: 20000 }).status !== 0) {
    skip = './tuml -- /bin/true does not run: the engine is not ready';
    return;
  }
  dir = mkdtempSync(`${tmpdir()}/tuml-mc-`);
  sock = `${dir}/mt1/mconsole`;
  const notify = UnixDgramSocket.open(4096);
  notify.bind(sockaddrUn(`${dir}/notify`));
  try {
    const m = await boot(['umid=mt1', `uml_dir=${dir}`, `mconsole=notify:${dir}/notify`, '--', 'sh', '-c', 'while :; do :; done']);
    machine = m.child;
    exited = m.exited;
    m.child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    notifyPacket = await recvWithin(notify, 10000);
  } finally {
    notify.close();
  }
  if (!notifyPacket) { skip = 'the machine sent no notify packet within 10 s'; return; }
  // The notify packet comes before the kernel is up; a proc read needs the kernel.
  const r = await mc('proc', 'loadavg');
  if (r.code !== 0) skip = `the machine's mconsole does not answer: ${r.stdout}${r.stderr}`;
});

after(async () => {
  if (machine && machine.exitCode === null) {
    machine.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the umid directory, pid file and notify packet', (t) => {
  if (skip) return t.skip(skip);
  assert.deepEqual(readdirSync(`${dir}/mt1`).sort(), ['mconsole', 'pid']);
  assert.equal(readFileSync(`${dir}/mt1/pid`, 'utf8'), `${machine!.pid}\n`);
  const n = decodeNotify(notifyPacket!)!;
  // As UML 6.1 sends it: magic, version 2, MCONSOLE_SOCKET, the socket path with its NUL.
  assert.deepEqual([n.magic, n.version, n.type, n.data.toString()], [MCONSOLE_MAGIC, 2, MCONSOLE_SOCKET, `${sock}\0`]);
  assert.equal(notifyPacket!.length, 16 + sock.length + 1);
});

test('version: the guest utsname in UML\'s order, same from uml_mconsole and tuml mconsole', async (t) => {
  if (skip) return t.skip(skip);
  const r = await mc('version');
  // UML 6.1: "OK Linux (none) 6.1.176 #1 Sat Jul  4 15:38:16 UTC 2026 x86_64"
  assert.match(r.stdout, /^OK Linux \S+ 6\.\d+\.\d+\S* #1 .* x86_64\n$/);
  assert.equal(r.code, 0);
  const ours = await run(TUML, ['mconsole', sock, 'version']);
  assert.equal(ours.stdout, r.stdout);
  assert.equal(ours.code, 0);
});

test('replies as recorded from a real UML', async (t) => {
  if (skip) return t.skip(skip);
  for (const [cmd, stdout, code] of RECORDED) {
    // Devices tuml does not have yet, and the memory size (tuml's own).
    if (/ubd|con|ssl|eth/.test(cmd) || cmd === 'config mem' || /^version/.test(cmd)) continue;
    const r = await mc(...cmd.split(' '));
    assert.equal(r.stdout, stdout, `stdout of '${cmd}'`);
    assert.equal(r.code, code, `exit status of '${cmd}'`);
  }
});

test('proc: the guest\'s /proc files, framed as UML frames them', async (t) => {
  if (skip) return t.skip(skip);
  // UML 6.1: "OK \n0.00 0.00 0.00 1/32 671\n\n"
  const l = await mc('proc', 'loadavg');
  assert.match(l.stdout, /^OK \n\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n\n$/);
  const m = await mc('proc', 'meminfo');
  assert.equal(m.code, 0);
  assert.match(m.stdout, /^OK \nMemTotal: +262144 kB\nMemFree: +\d+ kB\n(.*\n)+\n$/);
  // A path outside /proc stays inside /proc, as file_open_root_mnt keeps it.
  assert.equal((await mc('proc', '../../etc/hostname')).stdout, 'ERR Failed to open file\n');
});

test('config mem=+N / -N plugs memory: config mem and /proc/meminfo follow', async (t) => {
  if (skip) return t.skip(skip);
  assert.equal((await mc('config', 'mem')).stdout, 'OK 268435456\n');
  assert.equal((await mc('config', 'mem=+64M')).stdout, 'OK \n');
  assert.equal((await mc('config', 'mem')).stdout, `OK ${(256 + 64) << 20}\n`);
  assert.match((await mc('proc', 'meminfo')).stdout, /^OK \nMemTotal: +327680 kB\n/);
  assert.equal((await mc('config', 'mem=-64M')).stdout, 'OK \n');
  assert.match((await mc('proc', 'meminfo')).stdout, /^OK \nMemTotal: +262144 kB\n/);
});

test('sysrq: m has the layout of UML\'s show_mem, h the help line, t the task list', async (t) => {
  if (skip) return t.skip(skip);
  const m = await mc('sysrq', 'm');
  assert.equal(m.code, 0);
  assert.equal(shape(m.stdout), shape(UML_SYSRQ_M));
  // UML 6.1 has no SAK (no VT); tuml's keys are a subset of Linux's, in its order.
  const h = await mc('sysrq', 'h');
  assert.match(h.stdout, /^OK sysrq: HELP : reboot\(b\) terminate-all-tasks\(e\) kill-all-tasks\(i\) sak\(k\) show-memory-usage\(m\) sync\(s\) show-task-states\(t\) unmount\(u\) show-blocked-tasks\(w\) \n\n$/);
  assert.equal((await mc('sysrq')).stdout, h.stdout);
  const tt = await mc('sysrq', 't');
  assert.match(tt.stdout, /^OK sysrq: Show State\ntask:sh +state:R stack:0 +pid:1 +tgid:1 +ppid:0 +flags:0x00000000\nCall Trace:\n <TASK>\n <\/TASK>\n\n$/);
  // Recorded from UML 6.1: the action line only.
  assert.equal((await mc('sysrq', 'w')).stdout, 'OK sysrq: Show Blocked State\n\n');
  assert.equal((await mc('sysrq', 's')).stdout, 'OK sysrq: Emergency Sync\n\n');
  assert.equal((await mc('sysrq', 'u')).stdout, 'OK sysrq: Emergency Remount R/O\n\n');
  // e and i spare init, as Linux does: the machine goes on.
  assert.equal((await mc('sysrq', 'e')).stdout, 'OK sysrq: Terminate All Tasks\n\n');
  assert.equal((await mc('sysrq', 'i')).stdout, 'OK sysrq: Kill All Tasks\n\n');
  assert.equal(machine!.exitCode, null);
});

test('stack <pid>: the task, its registers and call', async (t) => {
  if (skip) return t.skip(skip);
  const r = await mc('stack', '1');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^OK task:sh .*pid:1 .*\nPid: 1, comm: sh Not tainted 6\.\d+\.\d+\S*\nRIP: /);
  assert.match(r.stdout, /\nCall Trace:\n <TASK>\n( .*\n)* <\/TASK>\n\n$/);
});

test('log <string> enters the kernel log', async (t) => {
  if (skip) return t.skip(skip);
  const r = await mc('log', 'hello-from-mconsole');
  assert.deepEqual([r.stdout, r.code], ['OK \nOK \n', 0]);
  for (let i = 0; i < 50 && !stderr.includes('hello-from-mconsole'); i++) await sleep(20);
  // KERN_WARNING reaches the console even in a quiet machine.
  assert.match(stderr, /\] hello-from-mconsole\n/);
});

test('stop freezes a CPU-bound guest (no CPU used, mconsole answers); go resumes it', async (t) => {
  if (skip) return t.skip(skip);
  const root = machine!.pid!;
  const a0 = guestTicks(root);
  await sleep(300);
  const a1 = guestTicks(root);
  assert.ok(a1 - a0 >= 5, `the guest loop should use CPU while running (${a1 - a0} ticks in 300 ms)`);

  assert.deepEqual(await mc('stop').then((r) => [r.stdout, r.code]), ['OK stopped\n', 0]);
  await sleep(100);
  const b0 = guestTicks(root);
  await sleep(300);
  const b1 = guestTicks(root);
  assert.ok(b1 - b0 <= 1, `a stopped machine used ${b1 - b0} ticks in 300 ms`);
  // Recorded from UML 6.1: while stopped, a second stop is refused and the rest answers.
  assert.deepEqual(await mc('stop').then((r) => [r.stdout, r.code]), ['ERR Already stopped\n', 1]);
  assert.match((await mc('version')).stdout, /^OK Linux /);
  assert.match((await run(TUML, ['mconsole', sock, 'proc', 'uptime'])).stdout, /^OK \n\d+\.\d\d \d+\.\d\d\n\n$/);
  assert.match((await mc('sysrq', 't')).stdout, /\ntask:sh +state:D /);
  const b2 = guestTicks(root);
  assert.ok(b2 - b1 <= 1, `a stopped machine used ${b2 - b1} ticks while answering`);

  assert.deepEqual(await mc('go').then((r) => [r.stdout, r.code]), ['OK \n', 0]);
  const c0 = guestTicks(root);
  await sleep(300);
  const c1 = guestTicks(root);
  assert.ok(c1 - c0 >= 5, `the guest loop should run again after go (${c1 - c0} ticks in 300 ms)`);
  assert.deepEqual(await mc('go').then((r) => [r.stdout, r.code]), ['ERR Not stopped\n', 1]);
});

test('tuml ls lists the running machine', async (t) => {
  if (skip) return t.skip(skip);
  const r = await run(TUML, ['ls', '--json', `uml_dir=${dir}`]);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { umid: string; pid: number; memory: number; version: string }[];
  assert.equal(list.length, 1);
  assert.deepEqual([list[0]!.umid, list[0]!.pid, list[0]!.memory], ['mt1', machine!.pid, 256 << 20]);
  assert.match(list[0]!.version, /^Linux /);
});

test('halt: the machine exits 0 and its umid directory is gone', async (t) => {
  if (skip) return t.skip(skip);
  assert.deepEqual(await mc('halt').then((r) => [r.stdout, r.code]), ['OK \n', 0]);
  assert.equal(await exited, 0);
  assert.equal(existsSync(`${dir}/mt1`), false);
});

test('SIGTERM and a crashed init remove the umid directory too', async (t) => {
  if (skip) return t.skip(skip);
  const m = await boot(['umid=term', `uml_dir=${dir}`, '--', 'sleep', '30']);
  assert.ok(await waitForFile(`${dir}/term/mconsole`, 10000), 'the mconsole socket appears');
  m.child.kill('SIGTERM');
  assert.equal(await m.exited, 128 + 15);
  assert.equal(existsSync(`${dir}/term`), false);

  // init dies of SIGSEGV (a null read): the kernel halts with 128 + 11.
  const c = await boot(['umid=crash', `uml_dir=${dir}`, '--', 'python3', '-c', 'import ctypes, time; time.sleep(0.3); ctypes.string_at(0)']);
  assert.ok(await waitForFile(`${dir}/crash/mconsole`, 10000), 'the mconsole socket appears');
  assert.equal(await c.exited, 128 + 11);
  assert.equal(existsSync(`${dir}/crash`), false);
});
