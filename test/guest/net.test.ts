// The guest's own TCP/IP stack over loopback: Python programs run natively and under tuml
// must print the same; a 10 MB TCP transfer keeps its sha256; ping gets its replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = path.join(repo, 'test/guest/net');
const tuml = path.join(repo, 'tuml');

function tumlBoots(): boolean {
  return spawnSync(tuml, ['--', '/bin/true'], { timeout: 20000 }).status === 0;
}
function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
function guest(args: string[], timeout = 60000) {
  return spawnSync(tuml, ['quiet', '--', ...args], { encoding: 'utf8', timeout });
}

test('AF_INET basics: same output natively and under tuml', (t) => {
  if (!have('python3')) return t.skip('python3 is not installed (CI installs it)');
  if (!tumlBoots()) return t.skip('the engine does not boot');
  const script = path.join(dir, 'inet_basic.py');
  const native = spawnSync('python3', [script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(native.status, 0, native.stderr);
  const g = guest(['python3', script]);
  assert.equal(g.stderr, '');
  assert.equal(g.stdout, native.stdout);
});

test('10 MB over TCP on 127.0.0.1 keeps its sha256', (t) => {
  if (!have('python3')) return t.skip('python3 is not installed (CI installs it)');
  if (!tumlBoots()) return t.skip('the engine does not boot');
  const g = guest(['python3', path.join(dir, 'tcp_bulk.py'), String(10 << 20)]);
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /^10485760 True 0 /);
});

test('ping -c 2 127.0.0.1 gets two replies', (t) => {
  if (!have('ping')) return t.skip('ping is not installed (apt-get install iputils-ping)');
  if (!tumlBoots()) return t.skip('the engine does not boot');
  const g = guest(['ping', '-c', '2', '-i', '0.2', '127.0.0.1'], 20000);
  assert.equal(g.status, 0, g.stdout + g.stderr);
  assert.match(g.stdout, /64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=64 time=/);
  assert.match(g.stdout, /2 packets transmitted, 2 received, 0% packet loss/);
});
