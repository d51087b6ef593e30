// tuml mkfs: the host-mke2fs path and the built-in formatter + copier, judged by e2fsck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, parseSize } from '../../src/cli/mkfs.js';
import { FileBlockBackend } from '../../src/kernel/fs/ext4/device.js';
import { formatVolume } from '../../src/kernel/fs/ext4/format.js';
import { E2FSPROGS, debugfs, debugfsCat, fsck, open, resolve, tempDir } from './ext4-helpers.js';

const skip = E2FSPROGS ? false : 'e2fsprogs (mke2fs, e2fsck, debugfs) not installed';

function tree(root: string): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'tuml\n');
  writeFileSync(join(root, 'data'), Buffer.alloc(70_000, 7));
  symlinkSync('etc/hostname', join(root, 'link'));
}

test('mkfs: size parsing', () => {
  assert.equal(parseSize('64M'), 64 * 1024 * 1024);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('12Q'), null);
});

for (const builtin of [false, true]) {
  for (const type of ['ext2', 'ext4']) {
    test(`mkfs: ${builtin ? 'built-in formatter' : 'host mke2fs'} makes a clean ${type} from a directory`, { skip }, async () => {
      const t = tempDir();
      try {
        const src = join(t.dir, 'src');
        tree(src);
        const img = join(t.dir, 'img');
        const rc = await main([...(builtin ? ['--builtin'] : []), '-t', type, '-L', 'root', '-d', src, img, '24M']);
        assert.equal(rc, 0);
        const r = fsck(img);
        assert.ok(r.ok, r.out);
        assert.equal(debugfsCat(img, '/etc/hostname').toString(), 'tuml\n');
        assert.ok(debugfsCat(img, '/data').equals(Buffer.alloc(70_000, 7)));
        assert.match(debugfs(img, 'stat /link'), /Fast link dest: "etc\/hostname"/);
        const v = open(img, true);
        assert.equal(v.label, 'root');
        assert.equal(v.readlink(resolve(v, '/link')), 'etc/hostname');
        v.unmount();
      } finally { t.done(); }
    });
  }
}

test('mkfs: built-in formatter with 4 KiB blocks and several groups', { skip }, () => {
  const t = tempDir();
  try {
    const img = join(t.dir, 'img');
    const fd = openSync(img, 'w');
    ftruncateSync(fd, 300 * 1024 * 1024);
    closeSync(fd);
    formatVolume(new FileBlockBackend(img), { type: 'ext4', blockSize: 4096 });
    const v = open(img);
    const f = v.create(v.rootIno, 'f', 0o644, 0, 0);
    v.write(f, 200 * 1024 * 1024, Buffer.from('far'));
    v.unmount();
    const r = fsck(img);
    assert.ok(r.ok, r.out);
  } finally { t.done(); }
});

test('mkfs: bad arguments fail with a message', async () => {
  assert.equal(await main(['only-one']), 2);
  assert.equal(await main(['-t', 'xfs', 'a', '1M']), 2);
  assert.equal(await main(['img', 'lots']), 2);
});
