// A tuml machine and a real UML (Debian's user-mode-linux) on Debian's uml_switch: each pings
// the other, and the UML's Linux TCP stack sends tuml's stack 4 MiB with matching sha256.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tuml = path.join(repo, 'tuml');
const netDir = path.join(repo, 'test/guest/net');

function collect(cmd: string, args: string[], cwd?: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
  return new Promise((res) => child.on('close', (code) => { clearTimeout(timer); res({ code, out }); }));
}

test('tuml and a real UML on uml_switch: ping both ways, TCP from Linux to tuml', { timeout: 90000 }, async (t) => {
  const need = 'command -v linux && command -v uml_switch && command -v python3 && command -v ping && command -v ip';
  if (spawnSync('sh', ['-c', need]).status !== 0) return t.skip('needs user-mode-linux, uml-utilities, python3, iputils-ping, iproute2');
  if (spawnSync(tuml, ['--', '/bin/true'], { timeout: 20000 }).status !== 0) return t.skip('the engine does not boot');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-uml-net-'));
  const ctl = path.join(dir, 'ctl');
  const sw = spawn('uml_switch', ['-unix', ctl], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !fs.existsSync(ctl); i++) await new Promise((r) => setTimeout(r, 50));
    const eth = `eth0=daemon,,unix,${ctl}`;
    const guest = collect(tuml, ['quiet', eth, '--', 'sh', '-c',
      `ip addr add 10.0.0.1/24 dev eth0 && ip link set eth0 up && ping -c 2 -i 0.3 -w 30 10.0.0.3 && python3 ${netDir}/tcp_peer.py server 5001`]);
    const uml = collect('linux', ['mem=128M', `umid=tuml-net-${process.pid}`, `uml_dir=${dir}`, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'ro',
      `init=${netDir}/uml-init.sh`, 'con=null', 'con0=null,fd:1', eth], dir);
    const [g, u] = await Promise.all([guest, uml]);
    assert.equal(g.code, 0, g.out + u.out);
    assert.match(u.out, /(\d+) packets transmitted, \1 received, 0% packet loss/, u.out);
    assert.match(g.out, /(\d+) packets transmitted, [1-9]\d* received/, g.out);
    const sent = /sent (\d+) ([0-9a-f]{64}) match/.exec(u.out);
    const recv = /recv (\d+) ([0-9a-f]{64})/.exec(g.out);
    assert.ok(sent && recv, u.out + g.out);
    assert.equal(recv[2], sent[2]);
  } finally {
    sw.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
