// procfs, judged by the host's own /proc: a fake kernel whose processes are real host
// processes (this runner and a child), read through tuml's VFS, must give files laid out as
// Linux lays them out, with the guest's ids and the host's times, memory and mappings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn as spawnChild } from 'node:child_process';
import { fakeMachine, readAll, list } from './proc-fake-kernel.js';
import { readlinkAs, followAs } from '../../src/kernel/fs/proc/links.js';
import { translateMapsLine } from '../../src/kernel/fs/proc/pid-maps.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { AT_FDCWD, O_RDONLY, O_WRONLY, S_IFIFO, S_IFLNK, S_IFMT } from '../../src/kernel/abi/fcntl.js';
import { ENOENT, EACCES } from '../../src/kernel/abi/errno.js';
import { File } from '../../src/kernel/fs/file.js';
import type { Stat } from '../../src/kernel/fs/inode.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { makedev } from '../../src/kernel/fs/devnums.js';
import { Errno } from '../../src/kernel/errno.js';
import { STUB_BASE } from '../../src/host/stub-elf.js';

const child = spawnChild('sleep', ['30'], { stdio: 'ignore' });
after(() => child.kill());

function machine() {
  const m = fakeMachine();
  const init = m.spawn(process.pid, { comm: 'init', argv: ['/sbin/init', 'splash'] });
  const sh = m.spawn(child.pid!, { parent: init.group, comm: 'sleep', argv: ['sleep', '30'] });
  return { ...m, init, sh };
}

function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof Errno) return e.errno;
    throw e;
  }
}

/** Keys of a "Key:\tvalue" file, in order. */
function keysOf(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => l.slice(0, l.indexOf(':')));
}

test('/proc lists the machine files and the guest processes, and nothing of the host', () => {
  const { init, sh } = machine();
  const names = list(init, '/proc');
  for (const n of ['self', 'thread-self', 'meminfo', 'cpuinfo', 'uptime', 'loadavg', 'stat', 'version',
    'cmdline', 'mounts', 'filesystems', 'partitions', 'swaps', 'devices', 'sys']) assert.ok(names.includes(n), n);
  const pids = names.filter((n) => /^\d+$/.test(n));
  assert.deepEqual(pids, [String(init.tid), String(sh.tid)]);
  assert.equal(init.tid, 1);
  const per = list(init, '/proc/1');
  for (const n of ['stat', 'status', 'statm', 'cmdline', 'environ', 'exe', 'cwd', 'root', 'fd', 'fdinfo', 'maps',
    'smaps', 'mounts', 'mountinfo', 'comm', 'task', 'limits', 'loginuid', 'oom_score_adj', 'cgroup', 'ns']) assert.ok(per.includes(n), n);
  assert.deepEqual(list(init, '/proc/1/task'), ['1']);
});

test('/proc/self and /proc/thread-self follow the reader', () => {
  const { init, sh, proc, thread } = machine();
  const self = proc.root.lookup!('self')!;
  assert.equal(readlinkAs(self, init), '1');
  assert.equal(readlinkAs(self, sh), String(sh.tid));
  assert.equal(errnoOf(() => self.readlink!()), ENOENT);
  const t2 = thread(sh.group, child.pid!, 'worker');
  assert.equal(readlinkAs(proc.root.lookup!('thread-self')!, t2), `${sh.tid}/task/${t2.tid}`);
  // A thread's tid resolves but is not listed.
  assert.ok(proc.root.lookup!(String(t2.tid)));
  assert.ok(!list(init, '/proc').includes(String(t2.tid)));
  assert.deepEqual(list(init, `/proc/${sh.tid}/task`), [String(sh.tid), String(t2.tid)]);
  assert.match(readAll(init, `/proc/${sh.tid}/task/${t2.tid}/comm`), /^worker\n$/);
});

test('/proc/<pid>/stat: 52 fields, guest ids, host times and memory', () => {
  const { init, sh, k } = machine();
  sh.group.pgid = 7;
  sh.group.sid = 1;
  const text = readAll(init, `/proc/${sh.tid}/stat`);
  assert.match(text, /^\d+ \(sleep\) [RSDTZ] /);
  assert.ok(text.endsWith('\n'));
  const f = text.trim().split(' ');
  assert.equal(f.length, 52);
  assert.deepEqual(f.slice(0, 6), [String(sh.tid), '(sleep)', 'S', '1', '7', '1']);
  const host = fs.readFileSync(`/proc/${child.pid}/stat`, 'latin1');
  const h = host.slice(host.lastIndexOf(')') + 2).trim().split(' ');
  // vsize and rss (fields 23, 24) are the host process's.
  assert.equal(f[22], h[20]);
  // starttime (field 22) counts clock ticks from the guest's boot.
  assert.equal(f[21], String(Math.floor((sh.group.startTime - k.bootMs) / 10)));
  // The reader sees itself running.
  assert.equal(readAll(init, '/proc/1/stat').split(' ')[2], 'R');
  const statm = readAll(init, `/proc/${sh.tid}/statm`).trim().split(' ');
  assert.equal(statm.length, 7);
  assert.equal(statm[0], fs.readFileSync(`/proc/${child.pid}/statm`, 'latin1').split(' ')[0]);
});

test('/proc/<pid>/status has the host layout with guest ids', () => {
  const { init, sh } = machine();
  const text = readAll(init, `/proc/${sh.tid}/status`);
  const ours = keysOf(text);
  const hostKeys = keysOf(fs.readFileSync(`/proc/${child.pid}/status`, 'latin1'));
  // Same keys in the same order, except those the host kernel has and tuml's does not.
  assert.deepEqual(ours, hostKeys.filter((k) => ours.includes(k)));
  for (const k of ['Name', 'State', 'Tgid', 'Pid', 'PPid', 'Uid', 'Gid', 'VmRSS', 'Threads', 'SigBlk', 'Cpus_allowed_list']) assert.ok(ours.includes(k), k);
  assert.match(text, new RegExp(`^Name:\\tsleep\\n`));
  assert.match(text, new RegExp(`\\nPid:\\t${sh.tid}\\n`));
  assert.match(text, /\nPPid:\t1\n/);
  assert.match(text, /\nUid:\t0\t0\t0\t0\n/);
  assert.match(text, /\nVmRSS:\t +\d+ kB\n/);
  assert.match(text, /\nState:\tS \(sleeping\)\n/);
});

test('/proc/<pid>/limits is byte for byte Linux\'s for the same limits', () => {
  const { init } = machine();
  const host = fs.readFileSync('/proc/self/limits', 'latin1');
  const rows = host.split('\n').slice(1).filter(Boolean);
  rows.forEach((row, i) => {
    const [soft, hard] = [row.slice(26, 46).trim(), row.slice(47, 67).trim()];
    const v = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    init.group.rlimits.limits[i] = { cur: v(soft), max: v(hard) };
  });
  assert.equal(readAll(init, '/proc/1/limits'), host);
});

test('/proc/<pid>/maps: host mappings with guest names, the stub hidden, Linux\'s columns', () => {
  const { init } = machine();
  const exe = fs.statSync(process.execPath);
  init.group.mappedFiles.set(`${exe.dev}:${exe.ino}`, '/guest/bin/node');
  const text = readAll(init, '/proc/1/maps');
  const lines = text.split('\n').filter(Boolean);
  assert.ok(lines.length > 5);
  const host = fs.readFileSync('/proc/self/maps', 'latin1');
  const nodeLines = lines.filter((l) => l.endsWith(' /guest/bin/node'));
  assert.ok(nodeLines.length >= 1, 'the mapped file shows its guest name');
  assert.ok(!text.includes(process.execPath), 'the host path is gone');
  // Names start at column 73, as Linux pads them.
  for (const l of lines) if (/ [\[/]/.test(l.slice(60))) assert.equal(l.indexOf(l.match(/ +([\[/].*)$/)![1]!), 73, l);
  assert.ok(lines.some((l) => l.endsWith('[stack]')) && host.includes('[stack]'));
  // Unknown file mappings keep dev/inode but lose their host name.
  const other = lines.find((l) => /^\S+ \S+ \S+ \S+ [1-9]\d* $/.test(l));
  assert.ok(other, 'some file mapping without a guest name');
  // The stub is hidden.
  const stub = `${STUB_BASE.toString(16)}-${(STUB_BASE + 0x1000).toString(16)} r-xp 00000000 00:01 1234                       /memfd:tuml-stub (deleted)`;
  assert.equal(translateMapsLine(stub, new Map()), null);
  const anon = '7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ';
  assert.equal(translateMapsLine(anon, new Map()), anon);
  const lib = '7f0000001000-7f0000002000 r-xp 00001000 fe:00 42                         /usr/lib/libc.so.6';
  assert.equal(translateMapsLine(lib, new Map([[`${makedev(0xfe, 0)}:42`, '/lib/libc.so.6']])),
    '7f0000001000-7f0000002000 r-xp 00001000 fe:00 42' + ' '.repeat(25) + '/lib/libc.so.6');
  assert.match(readAll(init, '/proc/1/smaps'), /\nRss: +\d+ kB\n/);
});

class FakePipe extends File {
  constructor(flags: number, readonly data: Buffer[]) {
    super(flags);
  }
  get anonName(): string {
    return 'pipe:[4242]';
  }
  stat(): Stat {
    const t = { sec: 0, nsec: 0 };
    return { dev: 9, ino: 4242, mode: S_IFIFO | 0o600, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t };
  }
  override read(): Buffer {
    return this.data.shift() ?? Buffer.alloc(0);
  }
}

test('/proc/<pid>/fd and fdinfo: paths, pipe:[…], magic links that reopen the object', () => {
  const { init, sh } = machine();
  const ver = vfs.openAt(init, AT_FDCWD, '/proc/version', O_RDONLY, 0);
  sh.fds.install(ver, false);
  const pipe = new FakePipe(O_RDONLY, [Buffer.from('through the pipe')]);
  sh.fds.install(pipe, true);
  assert.deepEqual(list(init, `/proc/${sh.tid}/fd`), ['0', '1']);
  const link = (n: number) => vfs.lookupAt(init, AT_FDCWD, `/proc/${sh.tid}/fd/${n}`, false).dentry.inode;
  assert.equal(readlinkAs(link(0), init), '/proc/version');
  assert.equal(readlinkAs(link(1), init), 'pipe:[4242]');
  assert.equal(link(0).getattr().mode, S_IFLNK | 0o500);
  const p = followAs(link(1), init)!;
  const reopened = vfs.openPath(init, p, O_RDONLY);
  assert.equal(reopened.read(init, 100).toString(), 'through the pipe');
  assert.equal(readlinkAs(link(1), init), 'pipe:[4242]');
  reopened.unref();
  assert.equal(followAs(link(0), init)!.dentry, ver.path!.dentry);
  assert.equal(readAll(init, `/proc/${sh.tid}/fdinfo/1`), `pos:\t0\nflags:\t02000000\nmnt_id:\t0\nino:\t4242\n`);
  assert.match(readAll(init, `/proc/${sh.tid}/fdinfo/0`), /^pos:\t0\nflags:\t00\nmnt_id:\t\d+\nino:\t\d+\n$/);
  // Another user may not look at root's open files.
  const user = fakeMachine().spawn(process.pid, { cred: new Cred(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000) });
  assert.equal(errnoOf(() => readlinkAs(link(0), user)), EACCES);
  // Closing the fd makes the cached link go away; a reused fd number shows the new file.
  const l1 = link(1);
  sh.fds.close(1);
  assert.equal(errnoOf(() => readlinkAs(l1, init)), ENOENT);
  sh.fds.install(vfs.openAt(init, AT_FDCWD, '/proc/uptime', O_RDONLY, 0), false);
  assert.equal(readlinkAs(link(1), init), '/proc/uptime');
  assert.equal(readlinkAs(l1, init), '/proc/uptime');
});

test('cmdline, environ, comm, cwd, exe and exit', () => {
  const { init, sh, k } = machine();
  assert.equal(readAll(init, '/proc/1/cmdline'), '/sbin/init\0splash\0');
  assert.equal(readAll(init, '/proc/1/environ'), 'PATH=/bin\0HOME=/root\0');
  assert.equal(readAll(init, '/proc/1/comm'), 'init\n');
  // Only the process itself may rename itself (Linux: EINVAL for others).
  const f = vfs.openAt(sh, AT_FDCWD, `/proc/${sh.tid}/comm`, O_WRONLY, 0);
  assert.equal(errnoOf(() => f.write(init, Buffer.from('x'))), 22);
  f.write(sh, Buffer.from('renamed\n'));
  f.unref();
  assert.equal(sh.group.comm, 'renamed');
  assert.equal(readlinkAs(vfs.lookupAt(init, AT_FDCWD, '/proc/1/cwd', false).dentry.inode, init), '/');
  const cwd = vfs.lookupAt(init, AT_FDCWD, '/proc/1/cwd/proc/1', false);
  assert.ok(cwd); // the path walk can cross a magic link once it is wired (text "/" works too)
  // The process exits and is reaped: its directory vanishes, cached dentries too.
  const stat = vfs.lookupAt(init, AT_FDCWD, `/proc/${sh.tid}/stat`, true);
  k.groups.delete(sh.tid);
  k.byTid.delete(sh.tid);
  assert.equal(errnoOf(() => vfs.lookupAt(init, AT_FDCWD, `/proc/${sh.tid}/stat`, true)), ENOENT);
  assert.equal(errnoOf(() => stat.dentry.inode.getattr()), ENOENT);
  assert.ok(!list(init, '/proc').includes(String(sh.tid)));
});

test('zombies show state Z and an empty cmdline', () => {
  const { init, sh } = machine();
  sh.group.zombieStatus = 3 << 8;
  const f = readAll(init, `/proc/${sh.tid}/stat`).trim().split(' ');
  assert.equal(f[2], 'Z');
  assert.equal(f[51], String(3 << 8));
  assert.equal(readAll(init, `/proc/${sh.tid}/cmdline`), '');
});

test('meminfo, uptime, loadavg, stat, version, mounts as Linux formats them', () => {
  const { init, k } = machine();
  const mem = readAll(init, '/proc/meminfo');
  const hostKeys = keysOf(fs.readFileSync('/proc/meminfo', 'latin1'));
  assert.deepEqual(keysOf(mem), hostKeys.filter((x) => keysOf(mem).includes(x)));
  for (const line of mem.split('\n').filter(Boolean)) assert.match(line, /^[\w()]+: *\d+( kB)?$/);
  for (const line of mem.split('\n').filter(Boolean)) assert.ok(line.length >= 24, line);
  const v = (key: string) => Number(mem.match(new RegExp(`^${key}: +(\\d+)`, 'm'))![1]);
  assert.equal(v('MemTotal'), 262144);
  assert.ok(v('MemFree') > 0 && v('MemFree') <= v('MemAvailable') && v('MemAvailable') <= v('MemTotal'));
  assert.match(readAll(init, '/proc/uptime'), /^\d+\.\d\d \d+\.\d\d\n$/);
  assert.ok(Number(readAll(init, '/proc/uptime').split(' ')[0]) >= 5);
  assert.match(readAll(init, '/proc/loadavg'), /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/2 2\n$/);
  const st = readAll(init, '/proc/stat');
  assert.match(st, /^cpu  \d+ 0 \d+ \d+ 0 0 0 0 0 0\ncpu0 /);
  assert.match(st, new RegExp(`\\nbtime ${Math.floor(k.bootMs / 1000)}\\n`));
  assert.match(readAll(init, '/proc/version'), /^Linux version \S+ \(/);
  assert.equal(readAll(init, '/proc/cmdline'), 'mem=256M quiet\n');
  assert.match(readAll(init, '/proc/1/mounts'), /^rootfs \/ tmpfs rw,relatime,.*\nproc \/proc proc rw,nosuid,nodev,noexec,relatime 0 0\n$/);
  assert.match(readAll(init, '/proc/1/mountinfo'), /^\d+ 1 0:\d+ \/ \/ rw,relatime - tmpfs rootfs rw.*\n\d+ \d+ 0:\d+ \/ \/proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n$/);
  assert.equal(readlinkAs(vfs.lookupAt(init, AT_FDCWD, '/proc/mounts', false).dentry.inode, init), 'self/mounts');
  assert.match(readAll(init, '/proc/filesystems'), /^nodev\tsysfs\n/);
  assert.equal(readAll(init, '/proc/cpuinfo'), fs.readFileSync('/proc/cpuinfo', 'latin1'));
});

test('/proc/sys: uts names read and write through the kernel; others remember writes', () => {
  const { init, k } = machine();
  assert.equal(readAll(init, '/proc/sys/kernel/hostname'), 'tuml\n');
  const f = vfs.openAt(init, AT_FDCWD, '/proc/sys/kernel/hostname', O_WRONLY, 0);
  f.write(init, Buffer.from('guest\n'));
  f.unref();
  assert.equal(k.hostname, 'guest');
  assert.equal(readAll(init, '/proc/sys/kernel/ostype'), 'Linux\n');
  assert.match(readAll(init, '/proc/sys/kernel/osrelease'), /^\d+\.\d+\.\d+/);
  assert.match(readAll(init, '/proc/sys/kernel/random/uuid'), /^[0-9a-f-]{36}\n$/);
  assert.notEqual(readAll(init, '/proc/sys/kernel/random/uuid'), readAll(init, '/proc/sys/kernel/random/uuid'));
  assert.equal(readAll(init, '/proc/sys/kernel/random/boot_id'), readAll(init, '/proc/sys/kernel/random/boot_id'));
  const o = vfs.openAt(init, AT_FDCWD, '/proc/sys/vm/overcommit_memory', O_WRONLY, 0);
  o.write(init, Buffer.from('2\n'));
  o.unref();
  assert.equal(readAll(init, '/proc/sys/vm/overcommit_memory'), '2\n');
  for (const p of ['kernel/domainname', 'kernel/version', 'kernel/pid_max', 'kernel/ngroups_max', 'fs/file-max']) {
    assert.match(readAll(init, `/proc/sys/${p}`), /\S\n$/, p);
  }
});

test('oom_score_adj and loginuid are remembered and inherited', () => {
  const { init } = machine();
  const w = (path: string, s: string) => {
    const f = vfs.openAt(init, AT_FDCWD, path, O_WRONLY, 0);
    f.write(init, Buffer.from(s));
    f.unref();
  };
  w('/proc/1/oom_score_adj', '-500\n');
  assert.equal(readAll(init, '/proc/1/oom_score_adj'), '-500\n');
  assert.equal(readAll(init, '/proc/1/loginuid'), '4294967295');
  assert.equal(errnoOf(() => w('/proc/1/oom_score_adj', 'x')), 22);
});

test('file types and owners', () => {
  const { init, sh } = machine();
  sh.group.cred = new Cred(1000, 1000, 1000, 1000, 100, 100, 100, 100);
  const st = vfs.lookupAt(init, AT_FDCWD, `/proc/${sh.tid}/status`, true).dentry.inode.getattr();
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 100);
  assert.equal(st.mode & S_IFMT, 0o100000);
  assert.equal(vfs.lookupAt(init, AT_FDCWD, '/proc/self', false).dentry.inode.getattr().mode, S_IFLNK | 0o777);
});
