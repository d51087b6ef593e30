// System V IPC in a guest: a C program exercising shared memory, semaphores and message
// queues across fork, exec and exit (blocking, timeouts, EIDRM, EINTR, SEM_UNDO,
// permissions, /proc/sysvipc and ipcs), compiled at test time, run natively and under
// tuml; the outputs must be identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const src = path.join(repo, 'test/guest/sysvipc/sysvipc.c');

function tumlBoots(): boolean {
  const r = spawnSync(path.join(repo, 'tuml'), ['--', '/bin/true'], { timeout: 20000 });
  return r.status === 0;
}

test('System V IPC program: identical output natively and under tuml', (t) => {
  if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed (CI installs it)');
  // The guest runs as root; natively the permission cases (setuid to nobody) need root too.
  if (process.getuid?.() !== 0) return t.skip('natively the program must run as root, as it does in the guest');
  if (!tumlBoots()) return t.skip('./tuml -- /bin/true does not run yet: the engine is not ready');
  // The binary must be visible inside the default machine (the host's / through hostfs;
  // the guest's /tmp is its own), so it goes under the repository.
  const dir = fs.mkdtempSync(path.join(repo, 'dist', 'guest-sysvipc-'));
  try {
    const bin = path.join(dir, 'sysvipc');
    const cc = spawnSync('gcc', ['-O1', '-Wall', '-o', bin, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const native = spawnSync(bin, [], { encoding: 'utf8', timeout: 20000 });
    assert.equal(native.status, 0, native.stderr);
    assert.match(native.stdout, /== permissions\n/, 'the program did not run to its end natively');
    const guest = spawnSync(path.join(repo, 'tuml'), ['quiet', '--', bin], { encoding: 'utf8', timeout: 30000 });
    assert.equal(guest.stdout, native.stdout, `guest stderr:\n${guest.stderr}`);
    assert.equal(guest.status, 0, guest.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
