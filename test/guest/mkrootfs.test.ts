// tuml mkrootfs: a busybox root_fs that e2fsck accepts, boots as root, runs busybox init with
// job control on the console, and a getty on tty0 where root logs in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tmux, haveTmux, repo, tumlBin } from './tty-helpers.js';

const haveBusybox = fs.existsSync('/bin/busybox');

test('tuml mkrootfs builds a bootable busybox root; getty on tty0 lets root log in', { timeout: 60000 }, async (t) => {
  if (!haveBusybox) return t.skip('busybox-static is needed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-mkrootfs-'));
  try {
    const img = path.join(dir, 'root_fs');
    const mk = spawnSync(tumlBin, ['mkrootfs', img], { cwd: repo, encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    const run = spawnSync(tumlBin, [`ubd0=${img}`, 'root=/dev/ubda', '--', '/bin/sh', '-c', 'cat /etc/hostname; ls /bin/busybox; echo data > /root/f'],
      { cwd: repo, encoding: 'utf8', timeout: 20000 });
    assert.equal(run.stdout, 'tuml\n/bin/busybox\n', run.stderr);
    assert.equal(run.status, 0);
    const dbg = spawnSync('debugfs', ['-R', 'cat /root/f', img], { encoding: 'utf8' });
    assert.equal(dbg.stdout, 'data\n');

    if (!haveTmux()) return t.skip('tmux is needed for the login part');
    fs.writeFileSync(path.join(dir, 'inittab'), '::sysinit:/bin/mount -a\ntty0::respawn:/sbin/getty 38400 tty0\n');
    spawnSync('debugfs', ['-w', '-R', 'rm /etc/inittab', img]);
    const w = spawnSync('debugfs', ['-w', '-R', `write ${path.join(dir, 'inittab')} /etc/inittab`, img], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    const tm = new Tmux();
    try {
      tm.start(`${tumlBin} ubd0=${img} root=/dev/ubda quiet`);
      await tm.waitFor(/login: *$/m, 15000);
      tm.line('root');
      await tm.waitFor(/# *$/m, 15000);
      tm.line('tty; id -u; sleep 30');
      await tm.waitFor(/\/dev\/tty0\n0\n/, 10000);
      tm.key('C-z');
      await tm.waitFor(/Stopped/, 10000);
      tm.line('poweroff -f');
    } finally {
      tm.kill();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
