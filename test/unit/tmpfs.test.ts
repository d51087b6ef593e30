// tmpfs, judged by the host's own tmpfs: the same script of namespace and data operations
// run on /dev/shm and through tuml's VFS on a TmpFs gives the same errnos, sizes, link counts
// and block counts; then the parts the host cannot be asked about without mounting (size=,
// hooks, unlinked-but-open files, memfd coherence, timestamps, xattrs, mount options).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { TmpFs, TMPFS_MAGIC } from '../../src/kernel/fs/tmpfs/tmpfs.js';
import { TmpInode } from '../../src/kernel/fs/tmpfs/inode.js';
import * as hostFiles from '../../src/host/files.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { File } from '../../src/kernel/fs/file.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { makedev } from '../../src/kernel/fs/devnums.js';
import {
  AT_FDCWD, O_APPEND, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, O_PATH, RENAME_EXCHANGE, RENAME_NOREPLACE,
  S_IFCHR, S_IFIFO, S_IFDIR, S_IFREG, S_IFSOCK, S_ISGID, S_ISUID, SEEK_DATA, SEEK_HOLE,
} from '../../src/kernel/abi/fcntl.js';
import {
  EEXIST, EINVAL, EISDIR, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ENXIO, EPERM, ENODATA, ENOTSUP, EXDEV,
} from '../../src/kernel/abi/errno.js';
import type { Stat } from '../../src/kernel/fs/inode.js';
import { errnoOf, fakeTask, lstat, names, readFile, writeFile } from './fs-fake-task.js';
import { hostBackend, tumlBackend, type Backend } from './fs-script.js';

// ---- the same script on the host's tmpfs and on ours ----

/** Runs the script, recording each step's result or errno. */
function script(b: Backend): unknown[] {
  const out: unknown[] = [];
  const run = (what: string, fn: () => unknown) => {
    try {
      out.push([what, fn() ?? 'ok']);
    } catch (e) {
      out.push([what, 'errno', (e as { errno?: number }).errno]);
    }
  };
  const st = (p: string) => run(`stat ${p}`, () => b.stat(p));
  run('mkdir d', () => b.mkdir('d'));
  run('mkdir d/e', () => b.mkdir('d/e'));
  run('mkdir d again', () => b.mkdir('d'));
  run('write d/f', () => b.write('d/f', Buffer.from('hello'), 0));
  run('link d/f d/g', () => b.link('d/f', 'd/g'));
  run('symlink', () => b.symlink('f', 'd/s'));
  run('long symlink', () => b.symlink('/x'.repeat(100), 'd/s2'));
  st('d'); st('d/e'); st('d/f'); st('d/s'); st('d/s2');
  run('rename dir over file', () => b.rename('d/e', 'd/f', 0));
  run('rename file over dir', () => b.rename('d/f', 'd/e', 0));
  run('mkdir d/e/x', () => b.mkdir('d/e/x'));
  run('rmdir non-empty', () => b.rmdir('d/e'));
  run('rename into own subdir', () => b.rename('d/e', 'd/e/x/y', 0));
  run('rename noreplace', () => b.rename('d/f', 'd/s', RENAME_NOREPLACE));
  run('rename noreplace to new', () => b.rename('d/s', 'd/s3', RENAME_NOREPLACE));
  run('exchange dir and file', () => b.rename('d/e', 'd/f', RENAME_EXCHANGE));
  st('d/e'); st('d/f');
  run('exchange back', () => b.rename('d/e', 'd/f', RENAME_EXCHANGE));
  run('exchange with missing', () => b.rename('d/e', 'd/nothing', RENAME_EXCHANGE));
  run('mkdir d/m', () => b.mkdir('d/m'));
  run('rename dir over non-empty dir', () => b.rename('d/m', 'd/e', 0));
  run('rename dir over empty dir', () => b.rename('d/e/x', 'd/m', 0));
  st('d'); st('d/e'); st('d/m');
  run('sparse write', () => b.write('d/sparse', Buffer.from('tail'), 1 << 20));
  st('d/sparse');
  run('overwrite middle', () => b.write('d/sparse', Buffer.from('mid'), 300000));
  st('d/sparse');
  run('truncate down', () => b.truncate('d/sparse', 10));
  st('d/sparse');
  run('truncate up', () => b.truncate('d/sparse', 50000));
  st('d/sparse');
  run('fallocate', () => b.fallocate('d/fa', 0, 0, 10000));
  st('d/fa');
  run('fallocate keep size', () => b.fallocate('d/fa', 1, 10000, 20000));
  st('d/fa');
  run('punch hole', () => b.fallocate('d/fa', 3, 0, 8192));
  st('d/fa');
  run('punch without keep size', () => b.fallocate('d/fa', 2, 0, 8192));
  run('unlink d/g', () => b.unlink('d/g'));
  st('d/f');
  run('unlink dir', () => b.unlink('d/e'));
  run('rmdir file', () => b.rmdir('d/f'));
  run('unlink missing', () => b.unlink('d/zzz'));
  run('write under file', () => b.write('d/f/x', Buffer.from('x'), 0));
  run('list d', () => b.list('d'));
  run('read d/f', () => b.read('d/f'));
  run('read d/s3 (symlink)', () => b.read('d/s3'));
  st('d');
  return out;
}

const shmOk = (() => {
  try {
    return fs.statfsSync('/dev/shm').type === TMPFS_MAGIC;
  } catch {
    return false;
  }
})();

test('the same script on the host tmpfs (/dev/shm) and on TmpFs gives the same results', { skip: shmOk ? false : '/dev/shm is not a tmpfs here' }, () => {
  const base = fs.mkdtempSync('/dev/shm/tuml-tmpfs-');
  try {
    const host = script(hostBackend(base));
    const ours = script(tumlBackend(fakeTask(new TmpFs())));
    if (process.env.TUML_TEST_VERBOSE) console.log(JSON.stringify(host));
    assert.deepEqual(ours, host);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

// ---- what needs no host comparison ----

test('statfs and mount options follow shmem: size=, nr_inodes=, mode=', () => {
  const ram = 256 * 1024 * 1024;
  const def = new TmpFs({ ramBytes: ram });
  assert.equal(def.mountOptions(), 'rw');
  const s = def.statfs();
  assert.equal(s.type, TMPFS_MAGIC);
  assert.equal(s.bsize, 4096);
  assert.equal(s.blocks, ram / 4096 / 2);
  assert.equal(s.namelen, 255);
  const t = new TmpFs({ ramBytes: ram, options: 'size=10M,mode=755,uid=1000,gid=100,nr_inodes=50,noexec' });
  assert.equal(t.mountOptions(), 'rw,size=10240k,nr_inodes=50,mode=755,uid=1000,gid=100');
  assert.equal(t.statfs().blocks, 2560);
  assert.equal(t.statfs().files, 50);
  const rs = t.root.getattr();
  assert.equal(rs.mode, S_IFDIR | 0o755);
  assert.equal(rs.uid, 1000);
  assert.equal(rs.gid, 100);
  assert.equal(rs.ino, 1);
  assert.equal(new TmpFs({ ramBytes: ram, options: 'size=50%' }).statfs().blocks, ram / 4096 / 2);
  assert.equal(new TmpFs({ ramBytes: ram, options: 'size=25%' }).mountOptions(), 'rw,size=65536k');
  assert.equal(errnoOf(() => new TmpFs({ options: 'size=lots' })), EINVAL);
  assert.equal(errnoOf(() => new TmpFs({ options: 'mode=9' })), EINVAL);
});

test('size= limit: a write fills to the limit and returns short, then ENOSPC; freeing gives space back', () => {
  const t = fakeTask(new TmpFs({ options: 'size=64k' }));
  const tfs = (t.kernel.mounts.root.fs as TmpFs);
  const f = vfs.openAt(t, AT_FDCWD, '/big', O_RDWR | O_CREAT, 0o644);
  assert.equal(f.write(t, Buffer.alloc(100_000, 1)), 65536);
  assert.equal(tfs.statfs().bfree, 0);
  assert.equal(errnoOf(() => f.write(t, Buffer.from('x'))), ENOSPC);
  // Overwriting pages already held needs no new space.
  assert.equal(f.pwrite(t, Buffer.alloc(8192, 2), 4096), 8192);
  // A sparse file beyond the limit is fine until its pages are touched.
  f.truncate(10 << 20);
  assert.equal(f.stat().size, 10 << 20);
  assert.equal(errnoOf(() => f.pwrite(t, Buffer.from('y'), 5 << 20)), ENOSPC);
  assert.equal(errnoOf(() => f.fallocate(0, 1 << 20, 4096)), ENOSPC);
  f.truncate(4096);
  assert.equal(tfs.statfs().bfree, 15);
  f.unref();
  vfs.unlinkAt(t, AT_FDCWD, '/big', false);
  assert.equal(tfs.statfs().bfree, 16);
  assert.equal(tfs.usedBlocks, 0);
  // Inode limit.
  const small = fakeTask(new TmpFs({ options: 'nr_inodes=3' }));
  writeFile(small, '/a', 'a');
  writeFile(small, '/b', 'b');
  assert.equal(errnoOf(() => writeFile(small, '/c', 'c')), ENOSPC);
  vfs.unlinkAt(small, AT_FDCWD, '/a', false);
  writeFile(small, '/c', 'c');
});

test('an unlinked file stays readable and writable through open files until the last close', () => {
  const tfs = new TmpFs();
  const t = fakeTask(tfs);
  writeFile(t, '/f', 'before');
  const f = vfs.openAt(t, AT_FDCWD, '/f', O_RDWR, 0);
  const g = f.ref();
  const inodes = tfs.usedInodes;
  vfs.unlinkAt(t, AT_FDCWD, '/f', false);
  assert.equal(errnoOf(() => lstat(t, '/f')), ENOENT);
  assert.equal(f.stat().nlink, 0);
  f.pwrite(t, Buffer.from('AFTER'), 0);
  assert.equal(f.pread(t, 100, 0).toString(), 'AFTERe');
  const fd = f.mmapSource(true).hostFd;
  f.unref();
  assert.equal(tfs.usedInodes, inodes);
  assert.equal(hostFiles.fstat(fd).size, 6);
  g.unref();
  assert.equal(tfs.usedInodes, inodes - 1);
  assert.equal(tfs.usedBlocks, 0);
  // Linking an unlinked inode back is refused (no O_TMPFILE here).
  const h = vfs.openAt(t, AT_FDCWD, '/h', O_RDWR | O_CREAT, 0o600);
  const node = h.inode!;
  vfs.unlinkAt(t, AT_FDCWD, '/h', false);
  assert.equal(errnoOf(() => tfs.root.link('h2', node)), ENOENT);
  h.unref();
});

test('mmapSource is the memfd itself: bytes written through it and through write() are the same pages', () => {
  const t = fakeTask(new TmpFs());
  const f = vfs.openAt(t, AT_FDCWD, '/m', O_RDWR | O_CREAT, 0o644);
  f.write(t, Buffer.alloc(8192, 0x61));
  const src = f.mmapSource(true);
  assert.equal(src.writable, true);
  // What a MAP_SHARED store does to the page, done through the host fd.
  fs.writeSync(src.hostFd, Buffer.from('SHARED'), 0, 6, 4096);
  assert.equal(f.pread(t, 6, 4096).toString(), 'SHARED');
  f.pwrite(t, Buffer.from('write()'), 100);
  const b = Buffer.alloc(7);
  fs.readSync(src.hostFd, b, 0, 7, 100);
  assert.equal(b.toString(), 'write()');
  // The same memfd for every open of the inode.
  const g = vfs.openAt(t, AT_FDCWD, '/m', O_RDONLY, 0);
  assert.equal(g.mmapSource(false).hostFd, src.hostFd);
  g.unref();
  f.unref();
  // A directory has no pages.
  const d = vfs.openAt(t, AT_FDCWD, '/', O_RDONLY, 0);
  assert.throws(() => d.mmapSource(false));
  d.unref();
});

test('read/write positions, O_APPEND (pwrite too), SEEK_DATA/SEEK_HOLE on sparse files', () => {
  const t = fakeTask(new TmpFs());
  writeFile(t, '/a', 'abc');
  const f = vfs.openAt(t, AT_FDCWD, '/a', O_WRONLY | O_APPEND, 0);
  f.write(t, Buffer.from('def'));
  assert.equal(f.pos, 6);
  f.pwrite(t, Buffer.from('g'), 0);
  f.unref();
  assert.equal(readFile(t, '/a').toString(), 'abcdefg');
  const s = vfs.openAt(t, AT_FDCWD, '/s', O_RDWR | O_CREAT, 0o644);
  s.pwrite(t, Buffer.from('x'), 3 * 4096 + 5);
  assert.equal(s.seek(0, SEEK_DATA), 3 * 4096);
  assert.equal(s.seek(0, SEEK_HOLE), 0);
  assert.equal(s.seek(3 * 4096, SEEK_HOLE), 3 * 4096 + 6);
  assert.equal(errnoOf(() => s.seek(3 * 4096 + 6, SEEK_DATA)), ENXIO);
  assert.deepEqual([...s.pread(t, 4, 4096)], [0, 0, 0, 0]);
  s.seek(0, 0);
  assert.equal(s.read(t, 1 << 20).length, 3 * 4096 + 6);
  assert.equal(s.read(t, 10).length, 0);
  assert.equal(errnoOf(() => s.fallocate(8, 0, 10)), ENOTSUP);
  s.unref();
  const r = vfs.openAt(t, AT_FDCWD, '/s', O_RDONLY, 0);
  assert.throws(() => r.write(t, Buffer.from('no')));
  r.unref();
});

test('owners come from the creating cred; set-gid directories pass their group on; writes by non-root drop set-id bits', () => {
  const t = fakeTask(new TmpFs());
  t.fs.umask = 0;
  vfs.mkdirAt(t, AT_FDCWD, '/pub', 0o777);
  vfs.mkdirAt(t, AT_FDCWD, '/pub/sg', 0o2777);
  t.kernel.mounts.root.fs.root.lookup!('pub')!.lookup!('sg')!.setattr({ gid: 50 });
  const user = new Cred(1000, 1000, 1000, 1000, 100, 100, 100, 100);
  const u = fakeTask(t.kernel.mounts.root.fs, user);
  writeFile(u, '/pub/mine', 'x');
  const st = lstat(u, '/pub/mine');
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 100);
  assert.equal(st.mode, S_IFREG | 0o644);
  writeFile(u, '/pub/sg/f', 'x');
  assert.equal(lstat(u, '/pub/sg/f').gid, 50);
  vfs.mkdirAt(u, AT_FDCWD, '/pub/sg/d', 0o755);
  const ds = lstat(u, '/pub/sg/d');
  assert.equal(ds.gid, 50);
  assert.equal(ds.mode & S_ISGID, S_ISGID);
  // set-id bits go on write by a non-root writer, and on chown.
  const ino = vfs.lookupAt(u, AT_FDCWD, '/pub/mine', false).dentry.inode;
  ino.setattr({ mode: 0o6755 });
  const f = vfs.openAt(u, AT_FDCWD, '/pub/mine', O_WRONLY, 0);
  f.write(u, Buffer.from('y'));
  f.unref();
  assert.equal(lstat(u, '/pub/mine').mode & 0o7777, 0o755);
  ino.setattr({ mode: 0o6755 });
  ino.setattr({ uid: 1000 });
  assert.equal(lstat(u, '/pub/mine').mode & 0o7777, 0o755);
  ino.setattr({ mode: 0o4755 });
  const rf = vfs.openAt(t, AT_FDCWD, '/pub/mine', O_WRONLY, 0);
  rf.write(t, Buffer.from('z'));
  rf.unref();
  assert.equal(lstat(t, '/pub/mine').mode & S_ISUID, S_ISUID, 'root keeps set-id bits (CAP_FSETID)');
});

test('timestamps move as Linux moves them', async () => {
  const t = fakeTask(new TmpFs());
  const ns = (x: { sec: number; nsec: number }) => x.sec * 1e9 + x.nsec;
  const tick = () => new Promise((r) => setTimeout(r, 3));
  vfs.mkdirAt(t, AT_FDCWD, '/d', 0o755);
  const d0 = lstat(t, '/d');
  await tick();
  writeFile(t, '/d/f', 'x');
  const d1 = lstat(t, '/d');
  const f1 = lstat(t, '/d/f');
  assert.ok(ns(d1.mtime) > ns(d0.mtime) && ns(d1.ctime) > ns(d0.ctime), 'create updates the directory');
  assert.equal(ns(d1.atime), ns(d0.atime));
  await tick();
  const f = vfs.openAt(t, AT_FDCWD, '/d/f', O_RDWR, 0);
  f.pwrite(t, Buffer.from('y'), 0);
  const f2 = f.stat();
  assert.ok(ns(f2.mtime) > ns(f1.mtime) && ns(f2.ctime) > ns(f1.ctime), 'write updates mtime, ctime');
  // relatime: the first read after a write moves atime; the next does not.
  await tick();
  f.pread(t, 1, 0);
  const f3 = f.stat();
  assert.ok(ns(f3.atime) > ns(f2.atime));
  await tick();
  f.pread(t, 1, 0);
  assert.equal(ns(f.stat().atime), ns(f3.atime));
  // chmod: ctime only.
  await tick();
  f.inode!.setattr({ mode: 0o600 });
  const f4 = f.stat();
  assert.ok(ns(f4.ctime) > ns(f3.ctime));
  assert.equal(ns(f4.mtime), ns(f2.mtime));
  // utimens-style explicit times.
  f.inode!.setattr({ atime: { sec: 1000, nsec: 5 }, mtime: { sec: 2000, nsec: 7 } });
  assert.deepEqual([f.stat().atime, f.stat().mtime], [{ sec: 1000, nsec: 5 }, { sec: 2000, nsec: 7 }]);
  // truncate to the same size changes nothing; to another size updates mtime.
  const before = f.stat();
  f.inode!.setattr({ size: before.size });
  assert.equal(ns(f.stat().ctime), ns(before.ctime));
  f.truncate(0);
  assert.ok(ns(f.stat().mtime) > ns(before.mtime));
  f.unref();
  // link, rename, unlink: ctime of the inode and both directories.
  await tick();
  const c0 = lstat(t, '/d/f');
  vfs.linkAt(t, AT_FDCWD, '/d/f', AT_FDCWD, '/l', 0);
  assert.ok(ns(lstat(t, '/d/f').ctime) > ns(c0.ctime));
  await tick();
  const r0 = lstat(t, '/');
  vfs.renameAt(t, AT_FDCWD, '/l', AT_FDCWD, '/d/l2', 0);
  assert.ok(ns(lstat(t, '/').mtime) > ns(r0.mtime));
  assert.ok(ns(lstat(t, '/d').mtime) > ns(r0.mtime));
});

test('device nodes open through the device hook with their rdev; FIFOs through the FIFO hook; sockets are ENXIO', () => {
  const calls: unknown[] = [];
  class Dummy extends File {
    stat() { return { mode: 0 } as Stat; }
  }
  const tfs = new TmpFs({
    deviceOpener: (rdev, flags, _task, type) => { calls.push(['dev', rdev, flags, type]); return new Dummy(flags); },
    fifoOpener: (inode, flags) => { calls.push(['fifo', (inode as TmpInode).ino, flags]); return new Dummy(flags); },
  });
  const t = fakeTask(tfs);
  vfs.mknodAt(t, AT_FDCWD, '/null', S_IFCHR | 0o666, makedev(1, 3));
  vfs.mknodAt(t, AT_FDCWD, '/fifo', S_IFIFO | 0o644, 0);
  vfs.mknodAt(t, AT_FDCWD, '/sock', S_IFSOCK | 0o755, 0);
  const st = lstat(t, '/null');
  assert.equal(st.mode, S_IFCHR | 0o644, 'umask applies');
  assert.equal(st.rdev, makedev(1, 3));
  assert.equal(st.size, 0);
  vfs.openAt(t, AT_FDCWD, '/null', O_RDWR, 0).unref();
  vfs.openAt(t, AT_FDCWD, '/fifo', O_RDONLY, 0).unref();
  assert.deepEqual(calls, [['dev', makedev(1, 3), O_RDWR, S_IFCHR], ['fifo', lstat(t, '/fifo').ino, O_RDONLY]]);
  assert.equal(errnoOf(() => vfs.openAt(t, AT_FDCWD, '/sock', O_RDONLY, 0)), ENXIO);
  // O_PATH does not reach the driver.
  vfs.openAt(t, AT_FDCWD, '/null', O_PATH, 0).unref();
  assert.equal(calls.length, 2);
  // Without hooks: ENXIO.
  const bare = fakeTask(new TmpFs());
  vfs.mknodAt(bare, AT_FDCWD, '/n', S_IFCHR | 0o666, makedev(1, 3));
  assert.equal(errnoOf(() => vfs.openAt(bare, AT_FDCWD, '/n', O_RDWR, 0)), ENXIO);
});

test('extended attributes: user.* and trusted.*, create/replace flags, user.* refused on symlinks', () => {
  const t = fakeTask(new TmpFs());
  writeFile(t, '/f', 'x');
  vfs.symlinkAt(t, 'f', AT_FDCWD, '/l');
  const f = vfs.lookupAt(t, AT_FDCWD, '/f', false).dentry.inode;
  const l = vfs.lookupAt(t, AT_FDCWD, '/l', false).dentry.inode;
  f.setxattr!('user.a', Buffer.from('1'), 0);
  f.setxattr!('trusted.overlay.opaque', Buffer.from('y'), 0);
  assert.equal(f.getxattr!('user.a')!.toString(), '1');
  assert.deepEqual(f.listxattr!().sort(), ['trusted.overlay.opaque', 'user.a']);
  assert.equal(errnoOf(() => f.setxattr!('user.a', Buffer.from('2'), 1 /* XATTR_CREATE */)), EEXIST);
  assert.equal(errnoOf(() => f.setxattr!('user.b', Buffer.from('2'), 2 /* XATTR_REPLACE */)), ENODATA);
  assert.equal(errnoOf(() => f.setxattr!('bogus.a', Buffer.from('2'), 0)), ENOTSUP);
  f.removexattr!('user.a');
  assert.equal(f.getxattr!('user.a'), null);
  assert.equal(errnoOf(() => f.removexattr!('user.a')), ENODATA);
  assert.equal(errnoOf(() => l.setxattr!('user.a', Buffer.from('1'), 0)), EPERM);
  l.setxattr!('trusted.x', Buffer.from('1'), 0);
  assert.equal(l.getxattr!('trusted.x')!.toString(), '1');
});

test('hard links share the inode; rename replaces; cross-fs link and rename are EXDEV', () => {
  const tfs = new TmpFs();
  const t = fakeTask(tfs);
  writeFile(t, '/a', 'data');
  vfs.linkAt(t, AT_FDCWD, '/a', AT_FDCWD, '/b', 0);
  assert.equal(lstat(t, '/a').ino, lstat(t, '/b').ino);
  assert.equal(lstat(t, '/b').nlink, 2);
  writeFile(t, '/c', 'other');
  vfs.renameAt(t, AT_FDCWD, '/c', AT_FDCWD, '/a', 0);
  assert.equal(readFile(t, '/a').toString(), 'other');
  assert.equal(lstat(t, '/b').nlink, 1);
  assert.equal(readFile(t, '/b').toString(), 'data');
  // rename onto another name of the same inode does nothing
  vfs.linkAt(t, AT_FDCWD, '/b', AT_FDCWD, '/b2', 0);
  tfs.root.rename('b', tfs.root, 'b2', 0);
  assert.deepEqual(names(t, '/'), ['a', 'b', 'b2']);
  const other = new TmpFs();
  assert.equal(errnoOf(() => tfs.root.rename('a', other.root, 'a', 0)), EXDEV);
  assert.equal(errnoOf(() => other.root.link('x', tfs.root.lookup('a')!)), EXDEV);
  assert.equal(errnoOf(() => tfs.root.rmdir('a')), ENOTDIR);
  assert.equal(errnoOf(() => tfs.root.unlink('nope')), ENOENT);
  assert.equal(errnoOf(() => tfs.root.mkdir('a', 0o755, new Cred())), EEXIST);
  // An emptied directory that is still someone's cwd takes no new entries.
  vfs.mkdirAt(t, AT_FDCWD, '/gone', 0o755);
  const gone = tfs.root.lookup('gone')!;
  vfs.unlinkAt(t, AT_FDCWD, '/gone', true);
  assert.equal(errnoOf(() => gone.create!('x', 0o644, new Cred())), ENOENT);
  assert.equal(gone.getattr().nlink, 0);
  void [EISDIR, ENOTEMPTY];
});

test('a few thousand files: no host fd is spent on empty files', () => {
  const tfs = new TmpFs();
  const t = fakeTask(tfs);
  const before = fs.readdirSync('/proc/self/fd').length;
  vfs.mkdirAt(t, AT_FDCWD, '/many', 0o755);
  for (let i = 0; i < 3000; i++) writeFile(t, `/many/${i}`, '');
  assert.ok(fs.readdirSync('/proc/self/fd').length - before < 5);
  assert.equal(lstat(t, '/many').size, 40 + 20 * 3000);
  assert.equal(names(t, '/many').length, 3000);
});
