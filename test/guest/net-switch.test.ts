// Two tuml machines on `tuml switch` (the daemon transport): ARP and ping both ways, a TCP
// transfer whose sha256 matches on both ends, a UDP exchange, and `ip` output for ethN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tuml = path.join(repo, 'tuml');
const peer = path.join(repo, 'test/guest/net/tcp_peer.py');

function tumlBoots(): boolean {
  return spawnSync(tuml, ['--', '/bin/true'], { timeout: 20000 }).status === 0;
}

function run(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(tuml, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const done = new Promise<{ code: number | null; out: string }>((res) => child.on('close', (code) => res({ code, out })));
  return { child, done };
}

async function waitFor(p: string): Promise<void> {
  for (let i = 0; i < 100 && !fs.existsSync(p); i++) await new Promise((r) => setTimeout(r, 50));
}

test('two machines on tuml switch: ping both ways, TCP with matching sha256, UDP', { timeout: 90000 }, async (t) => {
  if (spawnSync('sh', ['-c', 'command -v python3 && command -v ping && command -v ip']).status !== 0) return t.skip('python3, ping (iputils-ping) and ip (iproute2) are needed');
  if (!tumlBoots()) return t.skip('the engine does not boot');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-net-'));
  const ctl = path.join(dir, 'ctl');
  const sw = spawn(tuml, ['switch', '-unix', ctl], { stdio: 'ignore' });
  try {
    await waitFor(ctl);
    const eth = `eth0=daemon,,unix,${ctl}`;
    const setup = (ip: string) => `ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`;
    const a = run(['quiet', eth, '--', 'sh', '-c',
      `${setup('10.0.0.1')} && python3 ${peer} userver 5002 && python3 ${peer} server 5001 && ping -c 2 -i 0.2 10.0.0.2 && ip -br addr show dev eth0`]);
    const b = run(['quiet', eth, '--', 'sh', '-c',
      `${setup('10.0.0.2')} && ping -c 2 -i 0.2 -w 10 10.0.0.1 && python3 ${peer} uclient 10.0.0.1 5002 && python3 ${peer} client 10.0.0.1 5001 8 && sleep 2 && ip -4 addr show eth0`]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(rb.code, 0, rb.out);
    assert.equal(ra.code, 0, ra.out);
    // With -w, ping keeps sending until 2 replies came back: a slow start (ARP, a busy host)
    // means more were sent, not that any was lost.
    const twoReplies = /(\d+) packets transmitted, (\d+) received, 0% packet loss/;
    for (const out of [rb.out, ra.out]) {
      const m = twoReplies.exec(out);
      assert.ok(m && Number(m[2]) >= 2 && m[1] === m[2], `ping both ways:\n${out}`);
    }
    assert.match(rb.out, /udp reply HELLO OVER UDP/);
    assert.match(ra.out, /udp from 10\.0\.0\.2/);
    const sent = /sent (\d+) ([0-9a-f]{64}) match/.exec(rb.out);
    const recv = /recv (\d+) ([0-9a-f]{64})/.exec(ra.out);
    assert.ok(sent && recv, rb.out + ra.out);
    assert.equal(recv[1], String(8 << 20));
    assert.equal(recv[2], sent[2]);
    assert.match(ra.out, /eth0 +UP +10\.0\.0\.1\/24/);
    assert.match(rb.out, /2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    inet 10\.0\.0\.2\/24 scope global eth0\n/);
  } finally {
    sw.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
