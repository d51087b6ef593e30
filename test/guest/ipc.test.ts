// Guest IPC behaviour: a C program exercising pipes, AF_UNIX sockets, eventfd, timerfd,
// epoll, poll and select, compiled at test time, run natively and under tuml; the outputs
// must be identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const src = path.join(repo, 'test/guest/ipc/ipc.c');

function tumlBoots(): boolean {
  const r = spawnSync(path.join(repo, 'tuml'), ['--', '/bin/true'], { timeout: 20000 });
  return r.status === 0;
}

test('IPC program: identical output natively and under tuml', (t) => {
  if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed (CI installs it)');
  if (!tumlBoots()) return t.skip('./tuml -- /bin/true does not run yet: the engine is not ready');
  // The binary must be visible inside the default machine (the host's / through hostfs;
  // the guest's /tmp is its own), so it goes under the repository.
  const dir = fs.mkdtempSync(path.join(repo, 'dist', 'guest-ipc-'));
  try {
    const bin = path.join(dir, 'ipc');
    const cc = spawnSync('gcc', ['-O1', '-o', bin, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const native = spawnSync(bin, [], { encoding: 'utf8', timeout: 20000 });
    assert.equal(native.status, 0, native.stderr);
    const guest = spawnSync(path.join(repo, 'tuml'), ['quiet', '--', bin], { encoding: 'utf8', timeout: 30000 });
    assert.equal(guest.stdout, native.stdout);
    assert.equal(guest.status, 0, guest.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
