// The copy-on-write overlay, judged by Linux overlayfs: the same script over the same
// read-only lower directory gives the same listings, contents, modes and errnos through
// tuml's OverlayFs (hostfs lower + tmpfs upper) as through a real overlay mount (when the
// host lets us mount one). And the lower directory is never modified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { HostFs } from '../../src/kernel/fs/hostfs/hostfs.js';
import { TmpFs } from '../../src/kernel/fs/tmpfs/tmpfs.js';
import { OverlayFs, OVERLAYFS_SUPER_MAGIC } from '../../src/kernel/fs/overlay/overlayfs.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import * as hostFiles from '../../src/host/files.js';
import { File } from '../../src/kernel/fs/file.js';
import { makedev } from '../../src/kernel/fs/devnums.js';
import {
  AT_FDCWD, O_RDONLY, O_RDWR, O_WRONLY, O_TRUNC, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFCHR, S_IFMT, S_IFDIR,
} from '../../src/kernel/abi/fcntl.js';
import { EXDEV, ENOENT, ENOTSUP, EINVAL, EEXIST, EPERM } from '../../src/kernel/abi/errno.js';
import type { Stat } from '../../src/kernel/fs/inode.js';
import type { Task } from '../../src/kernel/task/task.js';
import { errnoOf, fakeTask, lstat, names, readFile, writeFile } from './fs-fake-task.js';
import { hostBackend, tumlBackend, Recorder, type Backend } from './fs-script.js';

const T0 = { sec: 1_600_000_000, nsec: 123_456_789 };

/** A lower layer with the shapes that matter: nested dirs, links, set-id bits, old times. */
function makeLower(): string {
  const d = fs.mkdtempSync('/tmp/tuml-ovl-lower-');
  const w = (p: string, s: string | Buffer) => fs.writeFileSync(join(d, p), s);
  fs.mkdirSync(join(d, 'etc'));
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  w('etc/hosts', '127.0.0.1 localhost\n');
  w('etc/suid', '#!/bin/sh\n');
  fs.chmodSync(join(d, 'etc/suid'), 0o4755);
  fs.mkdirSync(join(d, 'dir/sub/deep'), { recursive: true });
  w('dir/sub/deep/file', 'deep');
  w('dir/top', 'top');
  fs.mkdirSync(join(d, 'gone'));
  w('gone/a', 'a');
  w('gone/b', 'b');
  fs.mkdirSync(join(d, 'movable'));
  w('movable/x', 'x');
  w('a', 'lower a');
  w('b', 'lower b');
  fs.symlinkSync('etc/hosts', join(d, 'hosts-link'));
  fs.symlinkSync('nowhere', join(d, 'dangling'));
  const sparse = fs.openSync(join(d, 'sparse'), 'w');
  fs.writeSync(sparse, Buffer.from('end'), 0, 3, 4 << 20);
  fs.closeSync(sparse);
  for (const p of ['etc/passwd', 'etc/hosts', 'etc/suid', 'a', 'b', 'sparse']) {
    hostFiles.utimens(join(d, p), T0, T0);
  }
  return d;
}

/** Everything about a tree that a write could change: names, types, modes, sizes, times, bytes. */
function snapshot(root: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    const st = fs.lstatSync(p, { bigint: true });
    h.update(`${p} ${st.mode} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.nlink} ${st.ino}\n`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(join(p, n));
    else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
    else if (st.isFile()) h.update(fs.readFileSync(p));
  };
  walk(root);
  return h.digest('hex');
}

function ourOverlay(lower: string): { t: Task; ovl: OverlayFs; upper: TmpFs } {
  const upper = new TmpFs();
  const ovl = new OverlayFs({ lower: new HostFs(lower, true), upper, lowerDesc: lower, upperDesc: 'tmpfs' });
  return { t: fakeTask(ovl), ovl, upper };
}

function script(b: Backend): unknown[] {
  const r = new Recorder();
  const st = (p: string) => r.run(`stat ${p}`, () => {
    const s = b.stat(p);
    // Directory sizes and block counts are the upper file system's business, not overlay's.
    return (s.mode & S_IFMT) === S_IFDIR ? { mode: s.mode } : { mode: s.mode, size: s.size, nlink: s.nlink };
  });
  const ls = (p: string) => r.run(`list ${p}`, () => b.list(p));
  const cat = (p: string) => r.run(`read ${p}`, () => b.read(p));
  ls('.'); ls('etc'); cat('etc/hosts'); cat('hosts-link');
  r.run('readlink', () => b.readlink('hosts-link'));
  // Copy-up on write, append, truncate, chmod.
  const ino = b.fullStat('etc/hosts').ino;
  r.run('append etc/hosts', () => b.append('etc/hosts', Buffer.from('10.0.0.1 box\n')));
  cat('etc/hosts');
  r.run('ino kept across copy-up', () => b.fullStat('etc/hosts').ino === ino);
  r.run('truncate a', () => b.truncate('a', 3));
  cat('a');
  r.run('chmod etc/passwd', () => b.chmod('etc/passwd', 0o600));
  st('etc/passwd');
  r.run('chmod keeps mtime', () => b.fullStat('etc/passwd').mtime.sec === T0.sec && b.fullStat('etc/passwd').mtime.nsec === T0.nsec);
  st('etc/suid');
  // Deleting lower entries: whiteouts.
  r.run('unlink etc/passwd', () => b.unlink('etc/passwd'));
  ls('etc');
  st('etc/passwd');
  r.run('unlink again', () => b.unlink('etc/passwd'));
  r.run('recreate etc/passwd', () => b.write('etc/passwd', Buffer.from('new\n'), 0));
  cat('etc/passwd'); ls('etc');
  r.run('rmdir non-empty lower dir', () => b.rmdir('dir/sub'));
  r.run('unlink deep file', () => b.unlink('dir/sub/deep/file'));
  r.run('rmdir deep', () => b.rmdir('dir/sub/deep'));
  r.run('rmdir sub', () => b.rmdir('dir/sub'));
  ls('dir');
  // A removed and recreated directory is opaque: the old lower entries stay hidden.
  r.run('unlink gone/a', () => b.unlink('gone/a'));
  r.run('unlink gone/b', () => b.unlink('gone/b'));
  r.run('rmdir gone', () => b.rmdir('gone'));
  r.run('mkdir gone', () => b.mkdir('gone'));
  ls('gone');
  r.run('write gone/c', () => b.write('gone/c', Buffer.from('c'), 0));
  ls('gone');
  // Renames.
  r.run('rename lower dir', () => b.rename('movable', 'moved', 0));
  r.run('rename lower file over lower file', () => b.rename('a', 'b', 0));
  cat('b'); st('a'); ls('.');
  r.run('rename back', () => b.rename('b', 'a', 0));
  r.run('mkdir newdir', () => b.mkdir('newdir'));
  r.run('write newdir/f', () => b.write('newdir/f', Buffer.from('f'), 0));
  r.run('rename upper dir', () => b.rename('newdir', 'newdir2', 0));
  ls('newdir2');
  r.run('rename noreplace onto lower', () => b.rename('a', 'etc/hosts', RENAME_NOREPLACE));
  r.run('exchange two lower files', () => b.rename('etc/hosts', 'dir/top', RENAME_EXCHANGE));
  cat('etc/hosts'); cat('dir/top');
  r.run('rename upper dir onto empty lower dir', () => {
    b.unlink('movable/x');
    b.rename('newdir2', 'movable', 0);
  });
  ls('movable');
  // Hard links to lower files.
  r.run('link lower file', () => b.link('etc/suid', 'suid2'));
  st('suid2'); st('etc/suid');
  // Symlinks, xattrs.
  r.run('symlink', () => b.symlink('dir/top', 'toplink'));
  cat('toplink');
  r.run('set user xattr on lower file', () => b.setxattr('sparse', 'user.tuml', 'yes'));
  r.run('get user xattr', () => b.getxattr('sparse', 'user.tuml'));
  r.run('append sparse', () => b.append('sparse', Buffer.from('!')));
  r.run('mknod a whiteout by hand', () => b.mknod('wh', S_IFCHR | 0o600, 0));
  r.run('mknod a fifo', () => b.mknod('fifo', 0o10644, 0));
  st('fifo');
  r.run('mkdir over lower dir', () => b.mkdir('dir'));
  r.run('rename file over lower dir', () => b.rename('a', 'dir', 0));
  r.run('rename lower dir over file', () => b.rename('dir', 'a', 0));
  r.run('exchange lower dir and file', () => b.rename('dir', 'a', RENAME_EXCHANGE));
  r.run('exchange upper dir and lower symlink', () => b.rename('movable', 'hosts-link', RENAME_EXCHANGE));
  ls('.'); cat('movable'); r.run('readlink movable', () => b.readlink('movable')); ls('hosts-link');
  r.run('unlink dir/top', () => b.unlink('dir/top'));
  r.run('rmdir emptied merged dir', () => b.rmdir('dir'));
  r.run('rmdir emptied lower dir', () => { b.unlink('etc/hosts'); b.unlink('etc/suid'); b.unlink('etc/passwd'); b.rmdir('etc'); });
  r.run('write under dangling link', () => b.write('dangling', Buffer.from('made'), 0));
  cat('nowhere');
  st('sparse');
  ls('.');
  return r.out;
}

function canMountOverlay(): boolean {
  return process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
}

test('the same script through tuml\'s overlay and Linux overlayfs gives the same results; the lower dir is untouched',
  { skip: canMountOverlay() ? false : 'mounting a real overlayfs needs host root' }, (ctx) => {
    const lower = makeLower();
    const work = fs.mkdtempSync('/tmp/tuml-ovl-real-');
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(join(work, d));
    const before = snapshot(lower);
    try {
      const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o',
        `lowerdir=${lower},upperdir=${join(work, 'upper')},workdir=${join(work, 'work')}`, join(work, 'merged')], { encoding: 'utf8' });
      if (m.status !== 0) {
        ctx.skip(`mount -t overlay failed: ${m.stderr.trim()}`);
        return;
      }
      let real: unknown[];
      try {
        real = script(hostBackend(join(work, 'merged')));
      } finally {
        spawnSync('umount', [join(work, 'merged')]);
      }
      const { t } = ourOverlay(lower);
      t.fs.umask = 0o022;
      const ours = script(tumlBackend(t));
      if (process.env.TUML_TEST_VERBOSE) console.log(JSON.stringify(real));
      assert.deepEqual(ours, real);
      assert.equal(snapshot(lower), before, 'the lower directory was modified');
    } finally {
      fs.rmSync(lower, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

test('writes stay in the upper layer: the host directory is never modified', () => {
  const lower = makeLower();
  try {
    const before = snapshot(lower);
    const { t } = ourOverlay(lower);
    script(tumlBackend(t));
    writeFile(t, '/gone/new', 'x'.repeat(100_000));
    vfs.unlinkAt(t, AT_FDCWD, '/sparse', false);
    assert.equal(snapshot(lower), before);
    assert.equal(readFile(t, '/gone/new').length, 100_000);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});

test('copy-up keeps data, mode, owner, times, xattrs and the inode number; readdir inos match stat', () => {
  const lower = makeLower();
  try {
    let xattrs = true;
    try { hostFiles.setxattr(join(lower, 'b'), 'user.color', Buffer.from('blue'), 0); } catch { xattrs = false; }
    const { t, upper } = ourOverlay(lower);
    const host = hostFiles.lstat(join(lower, 'etc/suid'));
    const before = lstat(t, '/etc/suid');
    assert.equal(before.ino, host.ino);
    const f = vfs.openAt(t, AT_FDCWD, '/etc/suid', O_RDWR, 0);
    const after = lstat(t, '/etc/suid');
    assert.equal(after.ino, host.ino);
    assert.equal(after.mode, host.mode, 'set-uid bit kept');
    assert.equal(after.uid, host.uid);
    assert.deepEqual(after.mtime, host.mtime);
    assert.equal(readFile(t, '/etc/suid').toString(), '#!/bin/sh\n');
    assert.ok(upper.root.child('etc')?.child('suid'), 'now in the upper layer');
    f.unref();
    // Parent directories were copied up with their modes and times.
    assert.equal(upper.root.child('etc')!.getattr().mode, hostFiles.lstat(join(lower, 'etc')).mode);
    // A sparse lower file stays sparse.
    vfs.lookupAt(t, AT_FDCWD, '/sparse', false).dentry.inode.setattr({ mode: 0o600 });
    const sp = upper.root.child('sparse')!.getattr();
    assert.equal(sp.size, (4 << 20) + 3);
    assert.ok(sp.blocks <= 16, `copy-up filled holes: ${sp.blocks} blocks`);
    if (xattrs) {
      vfs.lookupAt(t, AT_FDCWD, '/b', false).dentry.inode.setattr({ mode: 0o600 });
      assert.equal(upper.root.child('b')!.getxattr('user.color')?.toString(), 'blue');
    }
    // readdir's d_ino agrees with st_ino for lower, copied-up and new entries.
    writeFile(t, '/newfile', 'n');
    vfs.mkdirAt(t, AT_FDCWD, '/etc/newdir', 0o755);
    for (const dir of ['/', '/etc']) {
      const d = vfs.openAt(t, AT_FDCWD, dir, O_RDONLY, 0);
      for (const e of d.readdir()) assert.equal(e.ino, lstat(t, `${dir}/${e.name}`).ino, `d_ino of ${dir}/${e.name}`);
      d.unref();
    }
    // A merged directory reports one link, as overlayfs does.
    assert.equal(lstat(t, '/etc').nlink, 1);
    // The union's root looks like the lower root, not like a fresh tmpfs.
    const root = lstat(t, '/');
    const hostRoot = hostFiles.lstat(lower);
    assert.deepEqual([root.mode, root.uid, root.ino], [hostRoot.mode, hostRoot.uid, hostRoot.ino]);
    // Nobody makes a whiteout by hand.
    assert.equal(errnoOf(() => vfs.mknodAt(t, AT_FDCWD, '/fake-whiteout', S_IFCHR | 0o600, 0)), EPERM);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});

test('mmapSource: a read-only lower file maps the host file; opened for writing it is copied up first', () => {
  const lower = makeLower();
  try {
    const { t } = ourOverlay(lower);
    const ro = vfs.openAt(t, AT_FDCWD, '/etc/hosts', O_RDONLY, 0);
    const src = ro.mmapSource(false);
    assert.equal(src.hostPath, join(lower, 'etc/hosts'));
    assert.equal(ro.stat().dev, lstat(t, '/').dev, 'fstat shows the overlay device');
    const rw = vfs.openAt(t, AT_FDCWD, '/etc/hosts', O_RDWR, 0);
    const wsrc = rw.mmapSource(true);
    assert.equal(wsrc.hostPath, undefined, 'the upper tmpfs memfd');
    rw.pwrite(t, Buffer.from('XYZ'), 0);
    // The read-only file now follows the copy, as overlayfs does since Linux 4.19.
    assert.equal(ro.pread(t, 3, 0).toString(), 'XYZ');
    assert.equal(ro.mmapSource(false).hostFd, wsrc.hostFd);
    ro.unref();
    rw.unref();
    // O_TRUNC copies up without the data.
    const tr = vfs.openAt(t, AT_FDCWD, '/etc/passwd', O_WRONLY | O_TRUNC, 0);
    assert.equal(tr.stat().size, 0);
    tr.unref();
    assert.equal(fs.readFileSync(join(lower, 'etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});

test('whiteouts in a tmpfs upper are character devices 0:0, opaque directories carry trusted.overlay.opaque', () => {
  const lower = makeLower();
  try {
    const { t, upper, ovl } = ourOverlay(lower);
    vfs.unlinkAt(t, AT_FDCWD, '/a', false);
    const wh = upper.root.child('a')!.getattr();
    assert.equal(wh.mode & S_IFMT, S_IFCHR);
    assert.equal(wh.rdev, makedev(0, 0));
    vfs.unlinkAt(t, AT_FDCWD, '/gone/a', false);
    vfs.unlinkAt(t, AT_FDCWD, '/gone/b', false);
    vfs.unlinkAt(t, AT_FDCWD, '/gone', true);
    vfs.mkdirAt(t, AT_FDCWD, '/gone', 0o755);
    assert.equal(upper.root.child('gone')!.getxattr('trusted.overlay.opaque')?.toString(), 'y');
    // The bookkeeping is invisible through the overlay.
    const g = vfs.lookupAt(t, AT_FDCWD, '/gone', false).dentry.inode;
    assert.deepEqual(g.listxattr!(), []);
    assert.equal(g.getxattr!('trusted.overlay.opaque'), null);
    assert.equal(errnoOf(() => g.setxattr!('trusted.overlay.opaque', Buffer.from('n'), 0)), ENOTSUP);
    // A second overlay on the same layers sees the same union.
    const again = fakeTask(new OverlayFs({ lower: new HostFs(lower, true), upper }));
    assert.deepEqual(names(again, '/'), names(t, '/'));
    assert.deepEqual(names(again, '/gone'), []);
    assert.equal(ovl.statfs().type, OVERLAYFS_SUPER_MAGIC);
    assert.equal(ovl.mountOptions(), `rw,lowerdir=${lower},upperdir=tmpfs`);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});

test('a host directory as the upper layer (hostfs rw, aufs-style whiteouts) persists the union', () => {
  const lower = makeLower();
  const upperDir = fs.mkdtempSync('/tmp/tuml-ovl-upper-');
  try {
    const before = snapshot(lower);
    const mk = () => new OverlayFs({ lower: new HostFs(lower, true), upper: new HostFs(upperDir, false), whiteout: 'aufs' });
    const t = fakeTask(mk());
    writeFile(t, '/etc/hosts', 'replaced\n');
    vfs.unlinkAt(t, AT_FDCWD, '/etc/passwd', false);
    vfs.unlinkAt(t, AT_FDCWD, '/gone/a', false);
    vfs.unlinkAt(t, AT_FDCWD, '/gone/b', false);
    vfs.unlinkAt(t, AT_FDCWD, '/gone', true);
    vfs.mkdirAt(t, AT_FDCWD, '/gone', 0o755);
    vfs.mkdirAt(t, AT_FDCWD, '/newdir', 0o755);
    writeFile(t, '/newdir/f', 'f');
    vfs.renameAt(t, AT_FDCWD, '/newdir', AT_FDCWD, '/renamed', 0);
    writeFile(t, '/renamed/g', 'g');
    assert.equal(errnoOf(() => writeFile(t, '/.wh.sneaky', 'x')), EINVAL);
    assert.deepEqual(fs.readdirSync(join(upperDir, 'etc')).sort(), ['.wh.passwd', 'hosts']);
    assert.deepEqual(fs.readdirSync(join(upperDir, 'gone')), ['.wh..wh..opq']);
    assert.deepEqual(fs.readdirSync(join(upperDir, 'renamed')).sort(), ['f', 'g']);
    // A fresh overlay over the same directories: the same view.
    const t2 = fakeTask(mk());
    assert.deepEqual(names(t2, '/etc'), ['hosts', 'suid']);
    assert.equal(readFile(t2, '/etc/hosts').toString(), 'replaced\n');
    assert.deepEqual(names(t2, '/gone'), []);
    assert.deepEqual(names(t2, '/renamed'), ['f', 'g']);
    assert.equal(snapshot(lower), before);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
    fs.rmSync(upperDir, { recursive: true, force: true });
  }
});

test('renames: lower directories give EXDEV, upper-only ones move; NOREPLACE and EXCHANGE across layers', () => {
  const lower = makeLower();
  try {
    const { t } = ourOverlay(lower);
    assert.equal(errnoOf(() => vfs.renameAt(t, AT_FDCWD, '/dir', AT_FDCWD, '/dir2', 0)), EXDEV);
    assert.equal(errnoOf(() => vfs.renameAt(t, AT_FDCWD, '/a', AT_FDCWD, '/b', RENAME_NOREPLACE)), EEXIST);
    const inoA = lstat(t, '/a').ino;
    vfs.renameAt(t, AT_FDCWD, '/a', AT_FDCWD, '/etc/a2', 0);
    assert.equal(lstat(t, '/etc/a2').ino, inoA, 'a renamed lower file keeps its inode number');
    assert.equal(errnoOf(() => lstat(t, '/a')), ENOENT);
    vfs.renameAt(t, AT_FDCWD, '/etc/a2', AT_FDCWD, '/a', 0);
    assert.equal(readFile(t, '/a').toString(), 'lower a');
    // Open files follow their object through renames.
    const f = vfs.openAt(t, AT_FDCWD, '/b', O_RDONLY, 0);
    vfs.renameAt(t, AT_FDCWD, '/b', AT_FDCWD, '/dir/b', 0);
    assert.equal(f.pread(t, 7, 0).toString(), 'lower b');
    f.unref();
    // Unlinked while open: the upper copy lives on until closed.
    const g = vfs.openAt(t, AT_FDCWD, '/dir/b', O_RDWR, 0);
    vfs.unlinkAt(t, AT_FDCWD, '/dir/b', false);
    g.pwrite(t, Buffer.from('still'), 0);
    assert.equal(g.pread(t, 5, 0).toString(), 'still');
    assert.equal(g.stat().nlink, 0);
    g.unref();
    assert.equal(errnoOf(() => lstat(t, '/dir/b')), ENOENT);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});

test('device and FIFO nodes open through the hooks, for lower and upper nodes alike', () => {
  const lower = makeLower();
  try {
    const opened: unknown[] = [];
    class Dummy extends File {
      stat() { return { mode: 0 } as Stat; }
    }
    const upper = new TmpFs();
    const ovl = new OverlayFs({
      lower: new HostFs(lower, true), upper,
      deviceOpener: (rdev, flags) => { opened.push(['dev', rdev, flags]); return new Dummy(flags); },
      fifoOpener: (inode, flags) => { opened.push(['fifo', inode.ino, flags]); return new Dummy(flags); },
    });
    const t = fakeTask(ovl);
    vfs.mknodAt(t, AT_FDCWD, '/zero', S_IFCHR | 0o666, makedev(1, 5));
    vfs.openAt(t, AT_FDCWD, '/zero', O_RDONLY, 0).unref();
    vfs.mknodAt(t, AT_FDCWD, '/p', 0o10644, 0);
    vfs.openAt(t, AT_FDCWD, '/p', O_RDONLY, 0).unref();
    assert.deepEqual(opened, [['dev', makedev(1, 5), O_RDONLY], ['fifo', lstat(t, '/p').ino, O_RDONLY]]);
  } finally {
    fs.rmSync(lower, { recursive: true, force: true });
  }
});
