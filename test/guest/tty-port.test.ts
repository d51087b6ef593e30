// Lines on a host port (UML's port channel): Debian's telnet reaches a shell on a console,
// two lines sharing one port each get their own session, and a 10 MB paste through telnet
// arrives whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Tmux, TelnetClient, freePort, haveTmux, tumlBin, repo } from './tty-helpers.js';

const haveTelnet = spawnSync('sh', ['-c', 'command -v telnet']).status === 0;
let port = 0;
let machine: ChildProcess;
let log = '';

before(async () => {
  port = await freePort();
  // Two serial lines on one port, each with a login-less shell that owns it as its ctty,
  // started again when a client leaves (the hangup ends it), as getty would be.
  const shell = (n: number) => `(while :; do setsid -w -c bash --norc -i <>/dev/ttyS${n} >&0 2>&0; sleep 0.1; done) &`;
  machine = spawn(tumlBin, [`ssl0=port:${port}`, `ssl1=port:${port}`, '--', 'sh', '-c', `${shell(0)} ${shell(1)} wait`], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  machine.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  machine.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  for (let i = 0; i < 100; i++) {
    const c = new TelnetClient(port);
    try { await c.ready; c.close(); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
});
after(() => { machine?.kill('SIGTERM'); });

test('telnet negotiation, then a shell on the line; two clients get two lines', async () => {
  const a = new TelnetClient(port);
  await a.ready;
  // The server offers to echo and to suppress go-ahead, and asks for the window size.
  await a.waitFor(/\$ ?$|# ?$/);
  await a.write('echo A-$((6*7)) $(tty)\r\n');
  const ta = await a.waitFor(/A-42 \/dev\/ttyS\d/);
  const b = new TelnetClient(port);
  await b.ready;
  await b.write('echo B-$((6*7)) $(tty)\r\n');
  const tb = await b.waitFor(/B-42 \/dev\/ttyS\d/);
  const la = /A-42 (\/dev\/ttyS\d+)/.exec(ta)![1], lb = /B-42 (\/dev\/ttyS\d+)/.exec(tb)![1];
  assert.notEqual(la, lb);
  a.close();
  b.close();
  await new Promise((r) => setTimeout(r, 300));
});

test('Debian telnet reaches the line and runs commands', { skip: !haveTmux() || !haveTelnet ? 'needs tmux and telnet' : false }, async () => {
  const tm = new Tmux();
  try {
    tm.start(`telnet 127.0.0.1 ${port}`, 100, 30);
    await tm.waitFor(/Escape character/);
    await new Promise((r) => setTimeout(r, 500));
    tm.line('stty size; echo T-$((6*7))');
    // NAWS told the line the window size.
    await tm.waitFor(/^30 100\s*\nT-42/m);
  } finally {
    tm.kill();
  }
});

test('a 10 MB paste through a port line arrives whole', async () => {
  const c = new TelnetClient(port);
  await c.ready;
  await c.waitFor(/\$ ?$|# ?$/);
  await c.write('stty -echo; cat > /root/p; stty echo; echo done-$(md5sum < /root/p | cut -c1-32)-$(wc -c < /root/p)\r\n');
  await new Promise((r) => setTimeout(r, 300));
  let data = '';
  let seed = 7;
  const parts: string[] = [];
  let n = 0;
  while (n < 10 << 20) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const l = seed.toString(36).repeat(1 + (seed % 40));
    parts.push(l);
    n += l.length + 1;
  }
  data = parts.join('\n') + '\n';
  const t0 = Date.now();
  for (let i = 0; i < data.length; i += 1 << 16) await c.write(data.slice(i, i + (1 << 16)));
  await c.write('\x04');
  const s = await c.waitFor(/done-\w+-\d+/, 120000);
  const m = /done-(\w+)-(\d+)/.exec(s)!;
  assert.equal(Number(m[2]), data.length);
  assert.equal(m[1], createHash('md5').update(data).digest('hex'));
  process.stderr.write(`# 10 MB paste through a port line: ${Date.now() - t0} ms\n`);
  c.close();
  assert.doesNotMatch(log, /kernel bug/);
});
