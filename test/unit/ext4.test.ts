// ext2/3/4 in TypeScript, judged by the host's e2fsprogs: images made by mke2fs -d read
// back identical; a write-heavy workload through the API leaves e2fsck -fn clean and
// debugfs reading the same bytes; htree directories, journal replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { E2FSPROGS, debugfs, debugfsCat, fsck, mkfs, open, resolve, tempDir } from './ext4-helpers.js';
import type { Ext4Volume } from '../../src/kernel/fs/ext4/volume.js';
import { Errno } from '../../src/kernel/errno.js';
import { EEXIST, ENOENT, ENOTEMPTY, EROFS } from '../../src/kernel/abi/errno.js';

const skip = E2FSPROGS ? false : 'e2fsprogs (mke2fs, e2fsck, debugfs) not installed';

/** Deterministic pseudo-random bytes. */
function bytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x & 0xff; }
  return out;
}

function makeTree(root: string): void {
  mkdirSync(join(root, 'sub/deep'), { recursive: true });
  mkdirSync(join(root, 'many'));
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'small.txt'), 'hello, ext4\n');
  writeFileSync(join(root, 'big.bin'), bytes(1, 300_000));
  writeFileSync(join(root, 'sub/deep/two-mb'), bytes(2, 2_000_000));
  symlinkSync('small.txt', join(root, 'fast-link'));
  symlinkSync('x'.repeat(100) + '/target', join(root, 'slow-link'));
  linkSync(join(root, 'small.txt'), join(root, 'sub/hard'));
  for (let i = 0; i < 400; i++) writeFileSync(join(root, 'many', `entry-${i}`), `${i}\n`);
}

function compareTree(v: Ext4Volume, host: string, ino: number): number {
  let n = 0;
  const names = v.readdir(ino).map((e) => e.name).filter((x) => x !== '.' && x !== '..' && x !== 'lost+found').sort();
  assert.deepEqual(names, readdirSync(host).sort(), `listing of ${host}`);
  for (const name of names) {
    const p = join(host, name);
    const ci = v.lookup(ino, name);
    const st = lstatSync(p);
    const a = v.getInode(ci);
    assert.equal(a.mode, st.mode, `mode of ${p}`);
    if (st.isDirectory()) n += compareTree(v, p, ci);
    else if (st.isSymbolicLink()) assert.equal(v.readlink(ci), readlinkSync(p));
    else {
      assert.equal(a.size, st.size, `size of ${p}`);
      assert.ok(v.read(ci, 0, st.size + 100).equals(readFileSync(p)), `data of ${p}`);
      assert.equal(a.nlink, st.nlink, `nlink of ${p}`);
    }
    n++;
  }
  return n;
}

for (const [type, bs] of [['ext4', 4096], ['ext4', 1024], ['ext3', 1024], ['ext2', 4096]] as const) {
  test(`read: ${type} (${bs}-byte blocks) made by mke2fs -d reads back identical`, { skip }, () => {
    const t = tempDir();
    try {
      const src = join(t.dir, 'src');
      makeTree(src);
      const img = join(t.dir, 'img');
      mkfs(img, type, 16, ['-b', String(bs)], src);
      const v = open(img, true);
      assert.ok(compareTree(v, src, v.rootIno) > 400);
      assert.throws(() => v.lookup(v.rootIno, 'nope'), (e: unknown) => e instanceof Errno && e.errno === ENOENT);
      assert.throws(() => v.create(v.rootIno, 'x', 0o644, 0, 0), (e: unknown) => e instanceof Errno && e.errno === EROFS);
      const s = v.statfs();
      assert.equal(s.bsize, bs);
      assert.ok(s.bfree < s.blocks);
      v.unmount();
    } finally { t.done(); }
  });
}

/** The write workload; returns the expected contents of files by path. */
function workload(v: Ext4Volume, nfiles: number): Map<string, Buffer> {
  const want = new Map<string, Buffer>();
  const root = v.rootIno;
  const w = v.mkdir(root, 'work', 0o755, 1000, 1000);
  for (let i = 0; i < nfiles; i++) {
    const ino = v.create(w, `file-${i}`, 0o644, 1000, 1000);
    const data = bytes(i + 10, (i * 7919) % 9000);
    // Write in two pieces, the second overlapping a block boundary.
    const cut = Math.floor(data.length / 3);
    v.write(ino, 0, data.subarray(0, cut));
    v.write(ino, cut, data.subarray(cut));
    want.set(`/work/file-${i}`, data);
  }
  for (let i = 0; i < nfiles; i += 2) { v.unlink(w, `file-${i}`); want.delete(`/work/file-${i}`); }
  // rename within and across directories, over an existing file
  const d2 = v.mkdir(root, 'other', 0o700, 0, 0);
  v.rename(w, 'file-1', d2, 'renamed-1');
  want.set('/other/renamed-1', want.get('/work/file-1')!); want.delete('/work/file-1');
  v.rename(w, 'file-3', w, 'file-5');
  want.set('/work/file-5', want.get('/work/file-3')!); want.delete('/work/file-3');
  assert.throws(() => v.rename(w, 'file-7', w, 'file-9', 1), (e: unknown) => e instanceof Errno && e.errno === EEXIST);
  // hard links, symlinks
  v.link(v.lookup(w, 'file-7'), d2, 'hard-7');
  want.set('/other/hard-7', want.get('/work/file-7')!);
  v.symlink(d2, 'fast', '../work/file-7');
  v.symlink(d2, 'slow', 'y'.repeat(300));
  assert.equal(v.readlink(v.lookup(d2, 'slow')), 'y'.repeat(300));
  // xattrs, in the inode and in a block
  const x = v.lookup(w, 'file-9');
  v.setXattr(x, 'user.small', Buffer.from('v'));
  v.setXattr(x, 'user.large', bytes(3, 600));
  v.setXattr(x, 'trusted.t', Buffer.from('trusted value'));
  v.removeXattr(x, 'trusted.t');
  assert.deepEqual(v.listXattr(x).sort(), ['user.large', 'user.small']);
  assert.ok(v.getXattr(x, 'user.large').equals(bytes(3, 600)));
  // sparse file and truncation
  const sp = v.create(root, 'sparse', 0o600, 0, 0);
  v.write(sp, 5_000_000, Buffer.from('tail'));
  const spData = Buffer.alloc(5_000_004);
  spData.write('tail', 5_000_000);
  want.set('/sparse', spData);
  assert.ok(v.getInode(sp).blocks < 64);
  const tr = v.lookup(w, 'file-11');
  v.truncate(tr, 100);
  want.set('/work/file-11', want.get('/work/file-11')!.subarray(0, 100));
  const grow = v.lookup(w, 'file-13');
  v.truncate(grow, 20_000);
  const g = Buffer.alloc(20_000);
  want.get('/work/file-13')!.copy(g);
  want.set('/work/file-13', g);
  // directories: nested, non-empty rmdir, move a directory, remove it
  const a = v.mkdir(root, 'a', 0o755, 0, 0);
  const b = v.mkdir(a, 'b', 0o755, 0, 0);
  v.create(b, 'inside', 0o644, 0, 0);
  assert.throws(() => v.rmdir(a, 'b'), (e: unknown) => e instanceof Errno && e.errno === ENOTEMPTY);
  v.rename(a, 'b', d2, 'b-moved');
  assert.equal(v.lookup(v.lookup(d2, 'b-moved'), '..'), d2);
  v.unlink(v.lookup(d2, 'b-moved'), 'inside');
  v.rmdir(d2, 'b-moved');
  v.mknod(root, 'fifo', 0o010644, 0, 0, 0);
  v.mknod(root, 'null', 0o020666, (1 << 8) | 3, 0, 0);
  assert.equal(v.getInode(v.lookup(root, 'null')).rdev, (1 << 8) | 3);
  return want;
}

function checkWithHost(img: string, want: Map<string, Buffer>): void {
  const r = fsck(img);
  assert.ok(r.ok, `e2fsck -fn:\n${r.out}`);
  for (const [path, data] of want) {
    const got = debugfsCat(img, path);
    assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(data).digest('hex'), `debugfs cat ${path}`);
  }
}

for (const [type, bs, n] of [['ext4', 4096, 1500], ['ext4', 1024, 600], ['ext3', 4096, 600], ['ext2', 1024, 600]] as const) {
  test(`write: ${type} (${bs}-byte blocks) workload is e2fsck-clean and reads back with debugfs`, { skip }, () => {
    const t = tempDir();
    try {
      const src = join(t.dir, 'src');
      makeTree(src);
      const img = join(t.dir, 'img');
      mkfs(img, type, 48, ['-b', String(bs)], src);
      const v = open(img);
      const want = workload(v, n);
      // The host tree's files are still there, and some are rewritten in place.
      const big = resolve(v, '/big.bin');
      v.write(big, 4096 * 3 + 17, Buffer.from('patched'));
      const bigWant = bytes(1, 300_000);
      bigWant.write('patched', 4096 * 3 + 17);
      want.set('/big.bin', bigWant);
      want.set('/sub/deep/two-mb', bytes(2, 2_000_000));
      v.sync();
      v.unmount();
      checkWithHost(img, want);
      // And our own reader agrees after a remount.
      const v2 = open(img, true);
      for (const [p, d] of want) assert.ok(v2.read(resolve(v2, p), 0, d.length + 1).equals(d), p);
      v2.unmount();
    } finally { t.done(); }
  });
}

test('htree: directories of thousands of entries (two index levels) stay e2fsck-clean', { skip }, () => {
  const t = tempDir();
  try {
    const img = join(t.dir, 'img');
    mkfs(img, 'ext4', 32, ['-b', '1024', '-N', '12000']);
    const v = open(img);
    const d = v.mkdir(v.rootIno, 'big', 0o755, 0, 0);
    const N = 7000;
    for (let i = 0; i < N; i++) v.create(d, `some-longer-file-name-${i}`, 0o644, 0, 0);
    for (let i = 0; i < N; i += 3) v.unlink(d, `some-longer-file-name-${i}`);
    for (let i = 0; i < N; i++) {
      if (i % 3 === 0) assert.throws(() => v.lookup(d, `some-longer-file-name-${i}`));
      else v.lookup(d, `some-longer-file-name-${i}`);
    }
    v.unmount();
    const htree = debugfs(img, 'htree /big');
    assert.match(htree, /Indirect levels: 1/);
    const r = fsck(img);
    assert.ok(r.ok, r.out);
    const ls = debugfs(img, 'ls /big');
    assert.match(ls, /some-longer-file-name-6998/);
  } finally { t.done(); }
});
