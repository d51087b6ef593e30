// ext3/ext4 journalling: replay of a transaction written by debugfs (read-only mount
// replays in memory and leaves the image untouched; read-write mount replays on disk),
// and crash consistency of our own jbd2 commits at many crash points. Also inline_data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { E2FSPROGS, debugfs, debugfsCat, fsck, mkfs, open, resolve, tempDir } from './ext4-helpers.js';
import { FileBlockBackend, type BlockBackend } from '../../src/kernel/fs/ext4/device.js';
import { Ext4Volume } from '../../src/kernel/fs/ext4/volume.js';

const skip = E2FSPROGS ? false : 'e2fsprogs (mke2fs, e2fsck, debugfs) not installed';

test('journal: a committed transaction is replayed (in memory read-only, on disk read-write)', { skip }, () => {
  const t = tempDir();
  try {
    const img = join(t.dir, 'img');
    const src = join(t.dir, 'src');
    execFileSync('mkdir', ['-p', src]);
    writeFileSync(join(src, 'file'), Buffer.alloc(4096, 'a'));
    mkfs(img, 'ext4', 16, ['-b', '1024'], src);
    const blk = Number(/(\d+)/.exec(debugfs(img, 'bmap /file 1'))![1]);
    const payload = join(t.dir, 'payload');
    writeFileSync(payload, Buffer.alloc(1024, 'J'));
    const r = spawnSync('debugfs', ['-w', img, '-f', '-'], { input: `jo\njw -b ${blk} ${payload}\njc\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /needs_recovery/);
    const want = Buffer.concat([Buffer.alloc(1024, 'a'), Buffer.alloc(1024, 'J'), Buffer.alloc(2048, 'a')]);
    // e2fsck's own replay is the reference.
    const ref = join(t.dir, 'ref');
    copyFileSync(img, ref);
    spawnSync('e2fsck', ['-fy', ref]);
    assert.ok(debugfsCat(ref, '/file').equals(want));

    const before = readFileSync(img);
    const ro = open(img, true);
    assert.ok(ro.read(resolve(ro, '/file'), 0, 4096).equals(want));
    ro.unmount();
    assert.ok(readFileSync(img).equals(before), 'read-only mount must not modify the image');

    const rw = open(img);
    assert.ok(rw.read(resolve(rw, '/file'), 0, 4096).equals(want));
    rw.unmount();
    const c = fsck(img);
    assert.ok(c.ok, c.out);
    assert.doesNotMatch(execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /needs_recovery/);
    assert.ok(debugfsCat(img, '/file').equals(want));
  } finally { t.done(); }
});

/** A device that loses every write after the first `budget` (a power cut). */
class CrashingBackend implements BlockBackend {
  writes = 0;
  constructor(private readonly inner: FileBlockBackend, private readonly budget: number) {}
  get size(): number { return this.inner.size; }
  get readOnly(): boolean { return false; }
  read(off: number, len: number): Buffer { return this.inner.read(off, len); }
  write(off: number, data: Buffer): void { if (this.writes++ < this.budget) this.inner.write(off, data); }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close(); }
}

function crashWorkload(v: Ext4Volume): void {
  const d = v.mkdir(v.rootIno, 'd', 0o755, 0, 0);
  for (let i = 0; i < 120; i++) {
    const f = v.create(d, `f${i}`, 0o644, 0, 0);
    v.write(f, 0, Buffer.alloc(1500 + i * 10, i));
    if (i % 3 === 0) v.unlink(d, `f${i}`);
    if (i % 10 === 0) v.sync();
  }
  v.rename(d, 'f1', v.rootIno, 'moved');
  v.sync();
}

test('journal: a crash at any write leaves an image that is clean after replay', { skip }, () => {
  const t = tempDir();
  try {
    const base = join(t.dir, 'base');
    mkfs(base, 'ext4', 16, ['-b', '1024']);
    // Count the writes of a full run, then cut power at points spread over it.
    const probe = join(t.dir, 'probe');
    copyFileSync(base, probe);
    const full = new CrashingBackend(new FileBlockBackend(probe), Infinity);
    crashWorkload(Ext4Volume.mount(full));
    const total = full.writes;
    assert.ok(total > 50);
    for (let k = 1; k <= 6; k++) {
      const budget = Math.floor((total * k) / 7);
      const img = join(t.dir, `crash${k}`);
      copyFileSync(base, img);
      crashWorkload(Ext4Volume.mount(new CrashingBackend(new FileBlockBackend(img), budget)));
      // Replay with e2fsprogs, then with our own mount: both must be clean.
      const ref = join(t.dir, `ref${k}`);
      copyFileSync(img, ref);
      spawnSync('e2fsck', ['-E', 'journal_only', '-y', ref]);
      const r1 = fsck(ref);
      assert.ok(r1.ok, `crash after ${budget}/${total} writes, e2fsck replay:\n${r1.out}`);
      open(img).unmount();
      const r2 = fsck(img);
      assert.ok(r2.ok, `crash after ${budget}/${total} writes, our replay:\n${r2.out}`);
    }
  } finally { t.done(); }
});

test('inline_data: inline files and directories read, and become block-mapped on write', { skip }, () => {
  const t = tempDir();
  try {
    const src = join(t.dir, 'src');
    execFileSync('mkdir', ['-p', join(src, 'dir')]);
    writeFileSync(join(src, 'tiny'), 'inline!');
    writeFileSync(join(src, 'dir/x'), 'x');
    const img = join(t.dir, 'img');
    mkfs(img, 'ext4', 16, ['-O', 'inline_data'], src);
    const v = open(img);
    const tiny = resolve(v, '/tiny');
    assert.ok(v.getInode(tiny).flags & 0x10000000);
    assert.equal(v.read(tiny, 0, 100).toString(), 'inline!');
    assert.deepEqual(v.readdir(resolve(v, '/dir')).map((e) => e.name).sort(), ['.', '..', 'x']);
    v.write(tiny, 7, Buffer.alloc(5000, 'z'));
    const d = resolve(v, '/dir');
    for (let i = 0; i < 50; i++) v.create(d, `n${i}`, 0o644, 0, 0);
    v.unmount();
    const r = fsck(img);
    assert.ok(r.ok, r.out);
    assert.equal(debugfsCat(img, '/tiny').toString(), 'inline!' + 'z'.repeat(5000));
    assert.match(debugfs(img, 'ls /dir'), /n49/);
  } finally { t.done(); }
});

test('metadata_csum: a corrupted inode or group descriptor is refused, the image untouched', { skip }, () => {
  const t = tempDir();
  try {
    const src = join(t.dir, 'src');
    execFileSync('mkdir', ['-p', src]);
    writeFileSync(join(src, 'f'), 'data');
    const img = join(t.dir, 'img');
    mkfs(img, 'ext4', 16, ['-b', '4096'], src);
    const v = open(img, true);
    const ino = resolve(v, '/f');
    v.unmount();
    // Flip a byte of the inode's mtime, through debugfs's raw knowledge of its location.
    const loc = /located at block (\d+), offset (0x[0-9a-f]+)/.exec(debugfs(img, `imap <${ino}>`))!;
    const off = Number(loc[1]) * 4096 + Number(loc[2]) + 0x10;
    const raw = readFileSync(img);
    raw[off] = raw[off]! ^ 0xff;
    writeFileSync(img, raw);
    const v2 = open(img, true);
    assert.throws(() => v2.getInode(ino), /checksum/);
    v2.unmount();
    // A group descriptor: the mount itself fails with a clear message.
    raw[off] = raw[off]! ^ 0xff;
    raw[4096 + 0x0c] = raw[4096 + 0x0c]! ^ 1;
    writeFileSync(img, raw);
    assert.throws(() => open(img), /group descriptor 0 checksum/);
    assert.ok(readFileSync(img).equals(raw));
  } finally { t.done(); }
});
