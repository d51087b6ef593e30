// Against the reference: tuml's daemon transport as a port of Debian's uml_switch, and the
// `tuml switch` command line compared with uml_switch's.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DaemonTransport } from '../../src/drivers/net/daemon.js';
import { BROADCAST, ensureTool, frame, FrameQueue, mac, tempDir } from './switch-helpers.js';

const umlSwitch = ensureTool('uml_switch', 'uml-utilities');
const skip = umlSwitch === null ? 'uml_switch (Debian uml-utilities) is not installed and could not be installed' : false;
const dir = tempDir('swdeb');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Start Debian's uml_switch and resolve once it says it is attached. */
async function startUmlSwitch(ctl: string, extra: string[] = []): Promise<ChildProcess> {
  // stdbuf: uml_switch's stdout is block-buffered on a pipe.
  const c = spawn('stdbuf', ['-oL', umlSwitch!, '-unix', ctl, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('attached to unix socket')) resolve();
    });
    c.once('exit', (code) => reject(new Error(`uml_switch exited ${code}: ${out}`)));
  });
  return c;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await done;
}

describe('daemon transport on Debian uml_switch', { skip, timeout: 30_000 }, () => {
  test('learning switch: broadcast floods, learned unicast reaches only its port', async () => {
    const ctl = path.join(dir, 'learn.ctl');
    const sw = await startUmlSwitch(ctl);
    const ts: DaemonTransport[] = [];
    try {
      for (let i = 0; i < 3; i++) ts.push(await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl }));
      const [a, b, c] = ts.map((t) => new FrameQueue(t));
      assert.equal(ts[0].switchAddr.length, 110);
      assert.equal(ts[0].switchAddr[2], 0, "uml_switch's data socket is abstract");
      ts[0].send(frame(BROADCAST, mac(1), 'hello'));
      assert.equal(await b.nextText(), 'hello');
      assert.equal(await c.nextText(), 'hello');
      ts[1].send(frame(mac(1), mac(2), 'b to a'));
      ts[1].send(frame(BROADCAST, mac(2), 'marker'));
      assert.equal(await a.nextText(), 'b to a');
      assert.equal(await a.nextText(), 'marker');
      assert.equal(await c.nextText(), 'marker', 'c must not see the unicast to a');
      // A full-size frame passes whole.
      const big = frame(mac(2), mac(1), 'x'.repeat(1500));
      ts[0].send(big);
      assert.deepEqual(await b.next(), big);
    } finally {
      for (const t of ts) t.close();
      await stop(sw);
    }
  });

  test('a burst of 1000 frames (within our queue) leaves our side whole; what arrives is in order', async (t) => {
    const ctl = path.join(dir, 'burst.ctl');
    const sw = await startUmlSwitch(ctl);
    const ts: DaemonTransport[] = [];
    try {
      for (let i = 0; i < 2; i++) ts.push(await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl }));
      const [a, b] = ts.map((t) => new FrameQueue(t));
      ts[1].send(frame(BROADCAST, mac(2), 'learn b'));
      await a.next();
      for (let i = 0; i < 1000; i++) ts[0].send(frame(mac(2), mac(1), `n${i}`));
      ts[0].send(frame(mac(2), mac(1), 'end'));
      // uml_switch itself drops when its non-blocking send to a port finds no room, so
      // only our half is exact: nothing dropped on the way in, and order kept.
      let last = -1;
      let got = 0;
      for (;;) {
        const txt = await b.nextText(1000).catch(() => 'end'); // 'end' may be dropped too
        if (txt === 'end') break;
        const n = Number(txt.slice(1));
        assert.ok(n > last, `order: n${n} after n${last}`);
        last = n;
        got++;
      }
      assert.equal(ts[0].stats.txDropped, 0);
      assert.ok(got >= 500, `only ${got} of 1000 arrived`);
      t.diagnostic(`uml_switch delivered ${got} of 1000 back-to-back frames`);
    } finally {
      for (const t of ts) t.close();
      await stop(sw);
    }
  });

  test('hub: a unicast frame reaches every other port', async () => {
    const ctl = path.join(dir, 'hub.ctl');
    const sw = await startUmlSwitch(ctl, ['-hub']);
    const ts: DaemonTransport[] = [];
    try {
      for (let i = 0; i < 3; i++) ts.push(await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl }));
      const [a, b, c] = ts.map((t) => new FrameQueue(t));
      ts[0].send(frame(BROADCAST, mac(1), 'learn'));
      await b.next(); await c.next();
      ts[1].send(frame(mac(1), mac(2), 'unicast'));
      assert.equal(await a.nextText(), 'unicast');
      assert.equal(await c.nextText(), 'unicast');
    } finally {
      for (const t of ts) t.close();
      await stop(sw);
    }
  });

  test('the switch going away is reported as a disconnect', async () => {
    const ctl = path.join(dir, 'gone.ctl');
    const sw = await startUmlSwitch(ctl);
    const t = await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl });
    try {
      const gone = new Promise<void>((r) => t.onDisconnect(r));
      await stop(sw);
      await gone;
    } finally {
      t.close();
    }
  });
});

describe('tuml switch command line, compared with uml_switch', { skip, timeout: 30_000 }, () => {
  const cli = new URL('../../src/cli/switch.js', import.meta.url).pathname;

  test('bad options: the same usage text on stderr and exit status 1', () => {
    for (const args of [['-bogus'], ['-unix'], ['-tap']]) {
      const ref = spawnSync(umlSwitch!, args, { argv0: 'uml_switch', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const ours = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(ours.status, ref.status, `exit status for ${args.join(' ')}`);
      assert.equal(ours.stderr.replaceAll('tuml switch', 'uml_switch'), ref.stderr);
    }
  });

  test('-hub and attach messages match; SIGTERM cleans up the control socket', async () => {
    const ctl = path.join(dir, 'cli.ctl');
    const c = spawn(process.execPath, [cli, '-hub', '-unix', ctl], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('attached')) resolve(); });
      c.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    assert.equal(out, `tuml switch will be a hub instead of a switch\ntuml switch attached to unix socket '${ctl}'\n`);
    const t = await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl });
    t.close();
    while (!out.includes('Disconnect\n')) await new Promise((r) => c.stdout!.once('data', r));
    const code = new Promise<number | null>((r) => c.once('exit', (n) => r(n)));
    c.kill('SIGTERM');
    assert.equal(await code, 0);
    assert.equal(fs.existsSync(ctl), false);
    assert.match(out, /New connection\n/);
    assert.match(out, /Caught signal 15, cleaning up and exiting\n$/);
  });

  test('-daemon returns once the switch listens, and the switch keeps running', async () => {
    const ctl = path.join(dir, 'daemon.ctl');
    const r = spawnSync(process.execPath, [cli, '-daemon', '-unix', ctl], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `tuml switch attached to unix socket '${ctl}'\n`);
    const t = await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl });
    t.close();
    // Find and stop the daemon by the pid bound into its data socket address.
    const pid = t.switchAddr.readInt32LE(6);
    assert.ok(pid > 0);
    process.kill(pid, 'SIGTERM');
    const end = Date.now() + 5000;
    while (fs.existsSync(ctl) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    assert.equal(fs.existsSync(ctl), false);
  });
});
