// devtmpfs and the device registry, judged by the host's /dev: the same nodes with the same
// numbers and permissions, and the memory devices behaving as the host's do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fakeMachine, list } from './proc-fake-kernel.js';
import { createDevtmpfs } from '../../src/kernel/fs/dev/devtmpfs.js';
import { openDevice, registerCharDevice, devices } from '../../src/kernel/fs/dev/registry.js';
import { kmsgRecord } from '../../src/kernel/fs/dev/kmsg.js';
import { TmpFs } from '../../src/kernel/fs/tmpfs/tmpfs.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { AT_FDCWD, O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, S_IFCHR, S_IFMT, S_IFDIR, S_IFLNK } from '../../src/kernel/abi/fcntl.js';
import { ENOSPC, ENXIO, ENODEV, EAGAIN } from '../../src/kernel/abi/errno.js';
import { makedev, major, minor } from '../../src/kernel/fs/devnums.js';
import { Errno } from '../../src/kernel/errno.js';
import { NullFile } from '../../src/kernel/fs/dev/mem-devices.js';

function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof Errno) return e.errno;
    throw e;
  }
}

function machine() {
  const m = fakeMachine();
  m.mountAt(createDevtmpfs(), '/dev', 'devtmpfs');
  const init = m.spawn(process.pid, { comm: 'init' });
  return { ...m, init };
}

test('the standard nodes have the host\'s numbers, types and permissions', () => {
  const { init } = machine();
  const names = list(init, '/dev');
  for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx', 'kmsg', 'fd', 'stdin', 'stdout', 'stderr', 'shm', 'pts']) {
    assert.ok(names.includes(n), n);
  }
  for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'kmsg']) {
    const ours = vfs.lookupAt(init, AT_FDCWD, `/dev/${n}`, false).dentry.inode.getattr();
    const host = fs.statSync(`/dev/${n}`);
    assert.equal(ours.mode & S_IFMT, S_IFCHR, n);
    assert.equal(major(ours.rdev), major(Number(host.rdev)), n);
    assert.equal(minor(ours.rdev), minor(Number(host.rdev)), n);
    assert.equal((ours.mode & 0o777).toString(8), (host.mode & 0o777).toString(8), n);
  }
  const st = (p: string) => vfs.lookupAt(init, AT_FDCWD, p, false).dentry.inode.getattr();
  assert.equal(st('/dev/shm').mode, S_IFDIR | 0o1777);
  assert.equal(st('/dev/stdin').mode & S_IFMT, S_IFLNK);
  assert.equal(vfs.readlinkAt(init, AT_FDCWD, '/dev/stdin'), '/proc/self/fd/0');
  assert.equal(vfs.readlinkAt(init, AT_FDCWD, '/dev/fd'), '/proc/self/fd');
});

test('null, zero, full, random and urandom behave as the host\'s', () => {
  const { init } = machine();
  const open = (p: string, flags: number) => vfs.openAt(init, AT_FDCWD, p, flags, 0);
  const nul = open('/dev/null', O_RDWR);
  assert.equal(nul.read(init, 100).length, 0);
  assert.equal(nul.write(init, Buffer.from('gone')), 4);
  assert.equal(nul.seek(100, 0), 0);
  const zero = open('/dev/zero', O_RDWR);
  assert.deepEqual(zero.read(init, 8), Buffer.alloc(8));
  assert.equal((zero as unknown as { mmapAsAnonymous?: boolean }).mmapAsAnonymous, true);
  const full = open('/dev/full', O_WRONLY);
  assert.equal(errnoOf(() => full.write(init, Buffer.from('x'))), ENOSPC);
  const hostFull = fs.openSync('/dev/full', 'w');
  assert.throws(() => fs.writeSync(hostFull, 'x'), { code: 'ENOSPC' });
  fs.closeSync(hostFull);
  assert.deepEqual(open('/dev/full', O_RDONLY).read(init, 4), Buffer.alloc(4));
  const a = open('/dev/urandom', O_RDONLY).read(init, 32);
  const b = open('/dev/random', O_RDONLY).read(init, 32);
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  // fstat of an open device shows its node.
  assert.equal(nul.stat().rdev, makedev(1, 3));
});

test('/dev/kmsg: one record per read in Linux\'s format, EAGAIN at the end', () => {
  const { init, k } = machine();
  k.log.info('tuml: hello kmsg');
  k.log.warn('second');
  const f = vfs.openAt(init, AT_FDCWD, '/dev/kmsg', O_RDONLY | O_NONBLOCK, 0);
  const r1 = f.read(init, 8192).toString();
  assert.match(r1, /^6,0,\d+,-;tuml: hello kmsg\n$/);
  assert.match(f.read(init, 8192).toString(), /^4,1,\d+,-;second\n$/);
  assert.equal(errnoOf(() => f.read(init, 8192)), EAGAIN);
  // The host's records have the same shape.
  try {
    const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const buf = Buffer.alloc(8192);
    const n = fs.readSync(fd, buf);
    fs.closeSync(fd);
    assert.match(buf.subarray(0, n).toString().split('\n')[0]!, /^\d+,\d+,\d+,[-c];/);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPERM' && (e as { code?: string }).code !== 'EACCES') throw e;
  }
  const w = vfs.openAt(init, AT_FDCWD, '/dev/kmsg', O_WRONLY, 0);
  w.write(init, Buffer.from('<3>from user\n'));
  assert.match(f.read(init, 8192).toString(), /^3,2,\d+,-;from user\n$/);
  assert.equal(kmsgRecord({ level: 6, seq: 9, usec: 5, text: 'a\tb' }), '6,9,5,-;a\\x09b\n');
});

test('terminals: /dev/tty needs a controlling tty, /dev/console a console, ptmx a pty layer', () => {
  const { init } = machine();
  assert.equal(errnoOf(() => vfs.openAt(init, AT_FDCWD, '/dev/tty', O_RDWR, 0)), ENXIO);
  assert.equal(errnoOf(() => vfs.openAt(init, AT_FDCWD, '/dev/console', O_RDWR, 0)), ENODEV);
  assert.equal(errnoOf(() => vfs.openAt(init, AT_FDCWD, '/dev/ptmx', O_RDWR, 0)), ENODEV);
});

test('any file system\'s device nodes open the registry\'s drivers', () => {
  const { init, mountAt } = machine();
  mountAt(new TmpFs({ deviceOpener: openDevice }), '/mnt', 'tmpfs');
  vfs.mknodAt(init, AT_FDCWD, '/mnt/mynull', S_IFCHR | 0o666, makedev(1, 3));
  const f = vfs.openAt(init, AT_FDCWD, '/mnt/mynull', O_RDWR, 0);
  assert.ok(f instanceof NullFile);
  vfs.mknodAt(init, AT_FDCWD, '/mnt/nothing', S_IFCHR | 0o666, makedev(250, 1));
  assert.equal(errnoOf(() => vfs.openAt(init, AT_FDCWD, '/mnt/nothing', O_RDWR, 0)), ENXIO);
  registerCharDevice(250, 1, (flags, _t, rdev) => new NullFile(flags, rdev), 'test');
  assert.ok(vfs.openAt(init, AT_FDCWD, '/mnt/nothing', O_RDWR, 0) instanceof NullFile);
  assert.ok(devices.names(S_IFCHR).some((d) => d.major === 250 && d.name === 'test'));
  assert.ok(openDevice(makedev(1, 3), O_RDONLY, null) instanceof NullFile);
});
