// Against real UMLs (Debian's user-mode-linux, /usr/bin/linux.uml, booted on the host's /
// through hostfs): our ethN= parser must say and assign what UML says and assigns, and two
// UMLs on `tuml switch` must ping each other. Skips cleanly when linux.uml cannot run here.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { EthConfigError, netdeviceBanner, openEthTransport, parseEthSwitch, type EthConfig } from '../../src/drivers/net/eth-config.js';
import { formatMac } from '../../src/drivers/net/transport.js';
import { ensureTool, tempDir } from './switch-helpers.js';

const linux = ensureTool('linux.uml', 'user-mode-linux');
const busybox = ensureTool('busybox', 'busybox-static');
const dir = tempDir('swuml');
const live: ChildProcess[] = [];
after(() => {
  for (const c of live) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

let umid = 0;
/** Boot linux.uml with `init` as PID 1; resolve with its console output once it exits. */
function boot(init: string, extra: string[], ms = 30_000): Promise<string> {
  const script = path.join(dir, `init${umid}.sh`);
  fs.writeFileSync(script, `#!/bin/sh\n${init}\n/sbin/halt -f 2>/dev/null || echo o > /proc/sysrq-trigger\n`, { mode: 0o755 });
  const args = [`umid=tsw${process.pid}x${umid++}`, `uml_dir=${dir}`, 'mem=64M', 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'ro',
    `init=${script}`, 'con=null', 'ssl=null', 'con0=null,fd:1', ...extra];
  const c = spawn(linux!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } });
  live.push(c);
  let out = '';
  c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => c.kill('SIGKILL'), ms);
  return new Promise((resolve) => c.once('close', () => { clearTimeout(timer); resolve(out); }));
}

const bootable = (out: string): boolean => out.includes('as init process');

describe('ethN= against a real UML', { skip: linux === null ? 'linux.uml (Debian user-mode-linux) is not available' : false, timeout: 60_000 }, () => {
  test('the same messages, the same MACs, the same refusals', async (t) => {
    // Every device names its MAC (or is alone in its transport): UML 6.1 reuses the previous
    // device's MAC string when one is left empty, a bug we do not copy.
    const specs = [
      'eth0=mcast,fe:fd:01:02:03:04,239.255.0.1,45000,0',
      'eth1=mcast,00:11:22:33:44:55,239.255.0.1,45000,0',
      'eth2=mcast,01:00:5e:00:00:01',
      'eth3=mcast,zz',
      'eth4=mcast,0:0:0:0:0:0',
      'eth5=mcast,0xfe:fd:1:2:3:4,239.255.0.2,1234',
      'eth6=ucast,,127.0.0.1,45001,45002',
      'eth7=mcast,,,abc',
      'eth8=mcast,fe:fd:0:0:0:8,,1,2,3',
      'eth9=daemon,fe:fd:0:0:0:9,unix,/nonexistent/uml.ctl,/data',
      'ethx=mcast',
    ];
    const out = await boot('mount -t sysfs sysfs /sys\nfor d in /sys/class/net/eth*; do echo "DEV $(basename $d) $(cat $d/address) $(cat $d/addr_assign_type)"; done', specs);
    if (!bootable(out)) { t.skip(`linux.uml cannot boot here: ${out.slice(-300)}`); return; }
    // UML prints "Netdevice N (mac) : " and the transport line as two lines; join them.
    const lines = out.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
    const joined: string[] = [];
    for (const l of lines) {
      if (joined.length > 0 && /^Netdevice \d+ \(.*\) :$/.test(joined[joined.length - 1])) joined[joined.length - 1] += ' ' + l;
      else joined.push(l);
    }
    const devs = new Map<string, { mac: string; type: string }>();
    for (const l of joined) {
      const m = /^DEV (eth\d+) (\S+) (\d+)$/.exec(l);
      if (m) devs.set(m[1], { mac: m[2], type: m[3] });
    }
    const mask = (s: string): string => s.replace(/\((..:){5}..\)/, '(MAC)');
    let configured = 0;
    let cfg: EthConfig;
    for (const spec of specs) {
      try {
        cfg = parseEthSwitch(spec);
      } catch (e) {
        assert.ok(e instanceof EthConfigError);
        assert.ok(joined.includes(e.message), `UML also says: ${e.message}`);
        assert.equal(devs.has(spec.split('=')[0]), false, `UML has no ${spec.split('=')[0]} either`);
        continue;
      }
      if (cfg.transport.name !== 'daemon') configured++;
      const expect = [...cfg.log.map((l) => l.text), netdeviceBanner(cfg)].map((l) => (cfg.macRandom ? mask(l) : l));
      const seen = joined.map((l) => (cfg.macRandom ? mask(l) : l));
      const at = seen.indexOf(expect[expect.length - 1]);
      assert.ok(at >= 0, `UML printed ${expect[expect.length - 1]}`);
      assert.deepEqual(seen.slice(at - expect.length + 1, at + 1), expect, `messages for ${spec}`);
      const dev = devs.get(`eth${cfg.index}`);
      if (cfg.transport.name === 'daemon') {
        // UML 6.1 connects to the switch while configuring and drops the device when it
        // cannot; our transport fails with the same words.
        const err = await openEthTransport(cfg).then(() => null, (e: Error) => e.message);
        assert.ok(err !== null && joined.includes(err), `UML also says: ${err}`);
        assert.equal(dev, undefined);
        continue;
      }
      assert.ok(dev, `UML made eth${cfg.index}`);
      // addr_assign_type: 0 NET_ADDR_PERM, 1 NET_ADDR_RANDOM
      assert.equal(dev.type, cfg.macRandom ? '1' : '0', `eth${cfg.index} addr_assign_type`);
      if (!cfg.macRandom) assert.equal(dev.mac, formatMac(cfg.mac));
    }
    assert.equal(devs.size, configured);
  });
});

describe('two real UMLs on tuml switch', { skip: linux === null || busybox === null ? 'linux.uml or busybox missing' : false, timeout: 90_000 }, () => {
  test('ping each other', async (t) => {
    const ctl = path.join(dir, 'sw.ctl');
    const cli = new URL('../../src/cli/switch.js', import.meta.url).pathname;
    const sw = spawn(process.execPath, [cli, '-unix', ctl], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.push(sw);
    let swOut = '';
    await new Promise<void>((resolve, reject) => {
      sw.stdout!.on('data', (d: Buffer) => { swOut += d.toString(); if (swOut.includes('attached')) resolve(); });
      sw.once('exit', (code) => reject(new Error(`tuml switch exited ${code}`)));
    });
    const init = [
      'ip link set lo up',
      'ip addr add 10.55.0.$tuml_me/24 dev eth0',
      'ip link set eth0 up',
      'n=0',
      `while [ $n -lt 30 ]; do ${busybox} ping -c 1 -W 1 10.55.0.$tuml_peer >/dev/null 2>&1 && break; n=$((n+1)); done`,
      '[ $n -lt 30 ] && echo "PING_OK after $n" || echo PING_FAIL',
      `${busybox} ping -q -c 10 -i 0.05 10.55.0.$tuml_peer | tail -1`,
      // Stay up until the peer is done pinging us.
      'sleep 2',
    ].join('\n');
    const started = Date.now();
    const [a, b] = await Promise.all([
      boot(init, ['eth0=daemon,fe:fd:0a:37:00:01,unix,' + ctl, 'tuml_me=1', 'tuml_peer=2']),
      boot(init, ['eth0=daemon,fe:fd:0a:37:00:02,unix,' + ctl, 'tuml_me=2', 'tuml_peer=1']),
    ]);
    sw.kill('SIGTERM');
    if (!bootable(a) || !bootable(b)) { t.skip(`linux.uml cannot boot here: ${(bootable(a) ? b : a).slice(-300)}`); return; }
    for (const [name, out] of [['A', a], ['B', b]] as const) {
      assert.match(out, /PING_OK/, `UML ${name} reached its peer:\n${out.slice(-1500)}`);
      const rtt = /round-trip min\/avg\/max = ([\d./]+) ms/.exec(out);
      t.diagnostic(`UML ${name}: ${out.match(/PING_OK after \d+/)?.[0]}; rtt min/avg/max ${rtt?.[1]} ms`);
    }
    t.diagnostic(`both UMLs booted, pinged and halted in ${Date.now() - started} ms`);
    assert.match(swOut, / Addr: fe:fd:0a:37:00:01 New port/);
    assert.match(swOut, / Addr: fe:fd:0a:37:00:02 New port/);
  });
});
