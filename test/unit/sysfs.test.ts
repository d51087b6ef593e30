// sysfs, judged by the host's /sys: the CPU files and the loopback device read the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fakeMachine, readAll, list } from './proc-fake-kernel.js';
import { SysFs } from '../../src/kernel/fs/sys/sysfs.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { AT_FDCWD, S_IFDIR, S_IFMT } from '../../src/kernel/abi/fcntl.js';
import { hostCpuCount } from '../../src/host/proc-stat.js';

function machine(sys = new SysFs()) {
  const m = fakeMachine();
  m.mountAt(sys, '/sys', 'sysfs');
  return { ...m, init: m.spawn(process.pid, { comm: 'init' }) };
}

test('the top level has what tools look for', () => {
  const { init } = machine();
  for (const n of ['block', 'bus', 'class', 'dev', 'devices', 'firmware', 'fs', 'kernel', 'module', 'power']) {
    assert.ok(list(init, '/sys').includes(n), n);
  }
  assert.deepEqual(list(init, '/sys/fs/cgroup'), []);
  assert.equal(vfs.lookupAt(init, AT_FDCWD, '/sys/fs/cgroup', true).dentry.inode.getattr().mode & S_IFMT, S_IFDIR);
  for (const c of ['net', 'tty', 'block']) assert.ok(list(init, '/sys/class').includes(c), c);
});

test('CPU files match the host\'s', () => {
  const { init } = machine();
  assert.equal(hostCpuCount(), fs.readdirSync('/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n)).length);
  for (const f of ['online', 'possible', 'present']) {
    assert.equal(readAll(init, `/sys/devices/system/cpu/${f}`), fs.readFileSync(`/sys/devices/system/cpu/${f}`, 'latin1'), f);
  }
  const cpus = list(init, '/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n));
  assert.equal(cpus.length, hostCpuCount());
});

test('class/net/lo links to its device, whose attributes read as the host\'s', () => {
  const { init } = machine();
  assert.deepEqual(list(init, '/sys/class/net'), ['lo']);
  assert.equal(vfs.readlinkAt(init, AT_FDCWD, '/sys/class/net/lo'), '../../devices/virtual/net/lo');
  for (const a of ['mtu', 'address', 'ifindex', 'type', 'flags', 'addr_len']) {
    assert.equal(readAll(init, `/sys/class/net/lo/${a}`), fs.readFileSync(`/sys/class/net/lo/${a}`, 'latin1'), a);
  }
});

test('drivers report their devices', () => {
  const sys = new SysFs({
    cpus: 3,
    blockDevices: () => [{ name: 'ubda', major: 98, minor: 0, sectors: 2048, readOnly: false }],
    netDevices: () => [{ name: 'eth0', ifindex: 2, mtu: 1500, address: 'fe:fd:00:00:00:01', up: true }],
  });
  const { init } = machine(sys);
  assert.equal(readAll(init, '/sys/devices/system/cpu/online'), '0-2\n');
  assert.equal(readAll(init, '/sys/block/ubda/dev'), '98:0\n');
  assert.equal(readAll(init, '/sys/class/block/ubda/size'), '2048\n');
  assert.equal(readAll(init, '/sys/class/net/eth0/address'), 'fe:fd:00:00:00:01\n');
  assert.equal(readAll(init, '/sys/class/tty/console/dev'), '5:1\n');
});
