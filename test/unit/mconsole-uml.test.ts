// Against a live Debian UML (linux.uml): the recorded replies still hold, raw datagrams are
// answered byte for byte as tuml's server answers them, `tuml mconsole` drives it, and its
// notify packet has the layout tuml sends. Skips when linux.uml cannot boot here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/mconsole.js';
import { UnixDgramSocket, sockaddrAbstract, sockaddrUn } from '../../src/host/unix-dgram.js';
import { decodeNotify, MCONSOLE_MAGIC, MCONSOLE_SOCKET } from '../../src/drivers/mconsole/protocol.js';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { fakeMachine, recvWithin, run, RECORDED, sendWaiting, UML_VERSION } from './mconsole-fake.js';
import { RAW_CASES } from './mconsole-raw-cases.js';

const LINUX = '/usr/bin/linux.uml';
let dir = '';
let uml: ChildProcess | null = null;
let sock = '';
let notify: UnixDgramSocket | null = null;
let notifyPacket: Buffer | null = null;
let skip: string | false = false;
/** The live kernel's version line (the recorded one, unless Debian has updated its UML). */
let version = UML_VERSION;

before(async () => {
  if (!existsSync(LINUX) || spawnSync('uml_mconsole', [], { stdio: 'ignore' }).error) {
    skip = 'linux.uml or uml_mconsole not installed (apt-get install user-mode-linux uml-utilities)';
    return;
  }
  dir = mkdtempSync(`${tmpdir()}/mcl-`);
  sock = `${dir}/t1/mconsole`;
  notify = UnixDgramSocket.open(4096);
  notify.bind(sockaddrUn(`${dir}/notify`));
  uml = spawn(LINUX, ['mem=64M', 'rootfstype=hostfs', 'rootflags=/', 'ro', 'init=/bin/sh', 'con=null', 'con0=null,fd:1',
    'umid=t1', `uml_dir=${dir}`, `mconsole=notify:${dir}/notify`], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  // Consoles register with mconsole late in boot: wait until init runs.
  let bootLog = '';
  const booted = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 15000);
    uml!.stdout!.on('data', (d: Buffer) => {
      bootLog += d.toString();
      if (bootLog.includes('Run /bin/sh')) { clearTimeout(t); resolve(true); }
    });
    uml!.once('exit', () => { clearTimeout(t); resolve(false); });
  });
  // The notify packet is UML's own "mconsole is up" signal.
  notifyPacket = await recvWithin(notify, 15000);
  if (!notifyPacket || !(await booted)) { skip = 'linux.uml did not boot within 15 s here'; return; }
  version = (await run('uml_mconsole', [sock, 'version'])).stdout.replace(/^OK /, '').replace(/\n$/, '');
});

after(async () => {
  notify?.close();
  if (uml && uml.exitCode === null) {
    if (!skip) await run('uml_mconsole', [sock, 'halt']);
    const exited = new Promise((r) => uml!.once('exit', r));
    const t = setTimeout(() => { try { process.kill(-uml!.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('real UML: the notify packet and the umid directory', (t) => {
  if (skip) { t.skip(skip); return; }
  const n = decodeNotify(notifyPacket!)!;
  assert.deepEqual([n.magic, n.version, n.type, n.data.toString()], [MCONSOLE_MAGIC, 2, MCONSOLE_SOCKET, `${sock}\0`]);
  assert.equal(notifyPacket!.length, 16 + sock.length + 1);
  assert.equal(readFileSync(`${dir}/t1/pid`, 'utf8'), `${uml!.pid}\n`);
});

test('real UML answers uml_mconsole as recorded', async (t) => {
  if (skip) { t.skip(skip); return; }
  for (const [cmd, stdout, code] of RECORDED) {
    if (cmd.startsWith('config mem=') || cmd === 'config mem') continue; // depends on the host's memory
    const r = await run('uml_mconsole', [sock, ...cmd.split(' ')]);
    assert.equal(r.stdout, stdout.replace(UML_VERSION, version), `stdout of '${cmd}'`);
    assert.equal(r.code, code, `exit status of '${cmd}'`);
  }
});

test('real UML and tuml answer raw datagrams identically', async (t) => {
  if (skip) { t.skip(skip); return; }
  const fake = MconsoleServer.listen(`${dir}/fake`, { ...fakeMachine(), version: () => version });
  const s = UnixDgramSocket.open(4096);
  s.bind(sockaddrAbstract(`mcl-${process.pid}`));
  try {
    for (const [name, packet] of RAW_CASES) {
      if (name === 'proc loadavg') continue; // the load line differs
      const answers: string[][] = [];
      for (const to of [sockaddrUn(sock), sockaddrUn(`${dir}/fake`)]) {
        await sendWaiting(s, packet, to);
        const got: string[] = [];
        for (let d = await recvWithin(s, 300); d; d = await recvWithin(s, 50)) got.push(d.toString('hex'));
        answers.push(got);
      }
      assert.deepEqual(answers[1], answers[0], name);
    }
  } finally {
    s.close();
    fake.close();
  }
});

test('tuml mconsole drives real UML: version, proc meminfo, stop/go', async (t) => {
  if (skip) { t.skip(skip); return; }
  const tuml = async (...args: string[]) => {
    let out = '';
    const stdout = new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } });
    const code = await main([sock, ...args], { stdin: Readable.from(['']), stdout, stderr: new Writable({ write(_c, _e, cb) { cb(); } }), isTTY: false });
    return { code, out };
  };
  const v = await tuml('version');
  assert.equal(v.code, 0);
  assert.match(v.out, /^OK Linux \(none\) \d+\.\d+\.\d+ #\d+ .* x86_64\n$/);
  const m = await tuml('proc', 'meminfo');
  assert.equal(m.code, 0);
  assert.match(m.out, /^OK \nMemTotal: +\d+ kB\nMemFree:/);
  assert.match(m.out, /\nPercpu: +\d+ kB\n\n$/);
  assert.deepEqual([await tuml('stop'), await tuml('stop'), await tuml('go')],
    [{ code: 0, out: 'OK stopped\n' }, { code: 1, out: 'ERR Already stopped\n' }, { code: 0, out: 'OK \n' }]);
  const r = await tuml('remove', 'ubd5');
  assert.deepEqual(r, { code: 237, out: "ERR Device doesn't exist\n" });
});
