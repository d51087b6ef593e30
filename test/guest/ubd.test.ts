// ubd block devices and ext2/3/4 in a running machine: images made by the host's mke2fs boot
// as root (`ubd0=img root=/dev/ubda`), a write-heavy workload runs inside, and the host's
// e2fsck and debugfs judge the result. COW files keep the backing image untouched and merge
// with Debian's uml_moo. Partitions, mount/umount, block ioctls and MAP_SHARED writeback too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tuml = path.join(repo, 'tuml');
let dir = '';
let rootTree = '';
let skip: string | null = null;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function sh(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 60000 });
  return { status: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `script` with /bin/sh inside a machine; returns its output. */
function guest(switches: string[], script: string): { status: number; stdout: string; stderr: string } {
  return sh(tuml, [...switches, '--', '/bin/sh', '-c', script]);
}

function e2fsck(img: string): void {
  const r = sh('e2fsck', ['-fn', img]);
  assert.equal(r.status, 0, `e2fsck -fn ${img}:\n${r.stdout}${r.stderr}`);
}

function debugfsCat(img: string, file: string): Buffer {
  const r = spawnSync('debugfs', ['-R', `cat ${file}`, img], { timeout: 20000, maxBuffer: 64 << 20 });
  return r.stdout;
}

function md5(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex');
}

/** A busybox root: every applet as a symlink to /bin/busybox, the directories boot mounts on. */
function makeRootTree(at: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'mnt']) fs.mkdirSync(path.join(at, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(at, 'bin/busybox'));
  fs.chmodSync(path.join(at, 'bin/busybox'), 0o755);
  const list = sh('/bin/busybox', ['--list-full']).stdout.split('\n').filter(Boolean);
  for (const a of list) {
    const p = path.join(at, a);
    if (!fs.existsSync(p)) fs.symlinkSync('/bin/busybox', p);
  }
  fs.writeFileSync(path.join(at, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(at, 'etc/group'), 'root:x:0:\ndisk:x:6:\n');
  fs.chmodSync(path.join(at, 'tmp'), 0o1777);
}

function mkfs(type: string, img: string, sizeMb: number, from: string | null = rootTree, extra: string[] = []): void {
  const args = ['-q', '-F', '-t', type, ...extra, ...(from ? ['-d', from] : []), img, `${sizeMb}M`];
  const r = sh('mke2fs', args);
  assert.equal(r.status, 0, r.stderr);
}

before(() => {
  if (!fs.existsSync('/bin/busybox')) { skip = '/bin/busybox is missing (CI installs busybox-static)'; return; }
  if (!have('mke2fs') || !have('e2fsck') || !have('debugfs')) { skip = 'e2fsprogs is missing (CI installs it)'; return; }
  if (sh(tuml, ['--', '/bin/true']).status !== 0) { skip = './tuml -- /bin/true does not run: the engine is not ready'; return; }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-ubd-'));
  rootTree = path.join(dir, 'tree');
  makeRootTree(rootTree);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// The workload: files, directories, tar out and in, deletes, renames, hard and symbolic
// links (fast and slow), overwrite-by-rename, sync. It prints checksums to compare.
const WORKLOAD = `set -e
cd /root
mkdir -p src/a/b/c src/empty
i=0
while [ $i -lt 150 ]; do echo "file $i $(seq 1 $i)" > src/a/f$i; i=$((i+1)); done
seq 1 60000 > src/big.txt
cp /bin/busybox src/bb
dd if=/dev/zero of=src/sparse bs=1k seek=5000 count=1 2>/dev/null
tar cf /root/src.tar src
mkdir x && cd x && tar xf /root/src.tar && cd ..
i=0
while [ $i -lt 150 ]; do rm x/src/a/f$i; i=$((i+2)); done
mv x/src/big.txt x/src/big-renamed.txt
ln x/src/bb x/src/bb-hardlink
ln -s ../a/f1 x/src/a/b/sym
ln -s $(printf 'long%.0s' $(seq 1 30)) x/src/longsym
mv x/src/a x/src/a2
echo replaced > x/src/new && mv x/src/new x/src/a2/f1
rm -rf src src.tar
echo done > /file
sync
md5sum x/src/big-renamed.txt x/src/bb x/src/sparse
readlink x/src/a2/b/sym
ls x/src/a2 | wc -l
`;

function checkWorkload(img: string, out: string): void {
  e2fsck(img);
  assert.equal(debugfsCat(img, '/file').toString(), 'done\n');
  const big = Buffer.from(Array.from({ length: 60000 }, (_, i) => `${i + 1}\n`).join(''));
  assert.deepEqual(debugfsCat(img, '/root/x/src/big-renamed.txt'), big);
  assert.equal(md5(debugfsCat(img, '/root/x/src/bb-hardlink')), md5(fs.readFileSync('/bin/busybox')));
  assert.equal(debugfsCat(img, '/root/x/src/a2/f1').toString(), 'replaced\n');
  assert.equal(debugfsCat(img, '/root/x/src/a2/f3').toString(), `file 3 1\n2\n3\n`);
  assert.match(out, new RegExp(`${md5(big)}  x/src/big-renamed.txt`));
  assert.match(out, new RegExp(`${md5(fs.readFileSync('/bin/busybox'))}  x/src/bb`));
  assert.match(out, /\n\.\.\/a\/f1\n/);
  const stat = sh('debugfs', ['-R', 'stat /root/x/src/bb', img]).stdout;
  assert.match(stat, /Links: 2/);
}

for (const type of ['ext4', 'ext3', 'ext2']) {
  test(`${type} image from mke2fs -d boots as root; a write-heavy workload leaves e2fsck clean`, (t) => {
    if (skip) return t.skip(skip);
    const img = path.join(dir, `root-${type}.img`);
    mkfs(type, img, 64);
    const r = guest([`ubd0=${img}`, 'root=/dev/ubda'], WORKLOAD);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    checkWorkload(img, r.stdout);
    // Mounted as what its features say.
    const m = guest([`ubd0=${img}`, 'root=/dev/ubda'], 'grep " / " /proc/mounts');
    assert.equal(m.stdout, `/dev/root / ${type} rw,relatime 0 0\n`);
  });
}

test('root=/dev/ubd0 names ubda; ro mounts read-only; ubd0r= makes the device read-only', (t) => {
  if (skip) return t.skip(skip);
  const img = path.join(dir, 'ro.img');
  mkfs('ext4', img, 32);
  const before = md5(fs.readFileSync(img));
  const a = guest([`ubd0=${img}`, 'root=/dev/ubd0', 'ro'], 'grep " / " /proc/mounts; touch /x 2>&1; echo rc=$?');
  assert.match(a.stdout, /^\/dev\/root \/ ext4 ro,relatime 0 0\n/);
  assert.match(a.stdout, /Read-only file system\nrc=1\n/);
  const b = guest([`ubd0r=${img}`, 'root=/dev/ubda'], 'blockdev --getro /dev/ubda; grep " / " /proc/mounts; echo x > /dev/ubda; echo rc=$?');
  assert.match(b.stdout, /^1\n\/dev\/root \/ ext4 ro,relatime 0 0\nrc=1\n/);
  assert.equal(md5(fs.readFileSync(img)), before, 'a read-only image is never written');
});

test('COW: ubd0=cow,backing writes only the COW file; uml_moo and tuml moo merge it to a clean image', (t) => {
  if (skip) return t.skip(skip);
  const back = path.join(dir, 'back.img');
  const cow = path.join(dir, 'root.cow');
  mkfs('ext4', back, 64);
  const before = md5(fs.readFileSync(back));
  const r = guest([`ubd0=${cow},${back}`, 'root=/dev/ubda'], WORKLOAD);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(md5(fs.readFileSync(back)), before, 'the backing file is unchanged');
  assert.equal(fs.readFileSync(cow).readUInt32BE(0), 0x4f4f4f4d, 'a V3 COW header');
  // The machine boots again from the same COW file and sees its own writes.
  const again = guest([`ubd0=${cow},${back}`, 'root=/dev/ubda'], 'cat /file');
  assert.equal(again.stdout, 'done\n');
  const tumlMerged = path.join(dir, 'merged-tuml.img');
  const m1 = sh(tuml, ['moo', cow, tumlMerged]);
  assert.equal(m1.status, 0, m1.stderr);
  checkWorkload(tumlMerged, r.stdout);
  if (!have('uml_moo')) return t.skip('uml_moo is missing (CI installs uml-utilities)');
  const debMerged = path.join(dir, 'merged-deb.img');
  const m2 = sh('uml_moo', [cow, debMerged]);
  assert.equal(m2.status, 0, m2.stderr + m2.stdout);
  checkWorkload(debMerged, r.stdout);
  assert.ok(fs.readFileSync(debMerged).equals(fs.readFileSync(tumlMerged)), 'uml_moo and tuml moo agree');
});

test('partitions: an MBR disk shows ubda1 in /proc/partitions and boots with root=/dev/ubda1', (t) => {
  if (skip) return t.skip(skip);
  const disk = path.join(dir, 'disk.img');
  const startSector = 2048, sectors = 32 * 2048;
  fs.writeFileSync(disk, Buffer.alloc(0));
  fs.truncateSync(disk, (startSector + sectors + 2048) * 512);
  const mbr = Buffer.alloc(512);
  mbr[446 + 4] = 0x83;
  mbr.writeUInt32LE(startSector, 446 + 8);
  mbr.writeUInt32LE(sectors, 446 + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  const fd = fs.openSync(disk, 'r+');
  fs.writeSync(fd, mbr, 0, 512, 0);
  fs.closeSync(fd);
  mkfs('ext4', disk, 32, rootTree, ['-E', `offset=${startSector * 512}`]);
  const r = guest([`ubd0=${disk}`, 'root=/dev/ubda1'],
    'cat /proc/partitions; ls -l /dev/ubda1 | cut -c1-10; blockdev --getsize64 /dev/ubda1; echo part > /p; sync');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /  98        0      34816 ubda\n  98        1      32768 ubda1\n/);
  assert.match(r.stdout, /brw-rw----\n33554432\n/);
  // The partition's file system, cut out of the disk, is clean and has the file.
  const part = path.join(dir, 'part.img');
  fs.writeFileSync(part, fs.readFileSync(disk).subarray(startSector * 512, (startSector + sectors) * 512));
  e2fsck(part);
  assert.equal(debugfsCat(part, '/p').toString(), 'part\n');
});

test('mount/umount inside: ext2 on /dev/ubdb, EBUSY while in use, tmpfs, bind, remount; block ioctls', (t) => {
  if (skip) return t.skip(skip);
  const root = path.join(dir, 'm-root.img');
  const data = path.join(dir, 'm-data.img');
  mkfs('ext4', root, 32);
  mkfs('ext2', data, 16, null);
  const r = guest([`ubd0=${root}`, `ubd1=${data}`, 'root=/dev/ubda'], `
    mount -t ext2 /dev/ubdb /mnt && grep /mnt /proc/mounts
    mkdir /b; seq 1 20000 > /mnt/numbers; mkdir /mnt/d; ln -s numbers /mnt/d/link
    cd /mnt; umount /mnt 2>/dev/null || echo busy; cd /
    umount /mnt && echo unmounted
    mount -t ext4 /dev/ubdb /mnt && grep /mnt /proc/mounts
    mount -t ext4 /dev/ubdb /b 2>/dev/null || echo "already mounted"
    umount /mnt
    mount -t ext3 /dev/ubdb /mnt 2>/dev/null || echo "ext3 needs a journal"
    mount -o ro /dev/ubdb /mnt && grep /mnt /proc/mounts && touch /mnt/n 2>/dev/null || echo ro
    umount /mnt
    mount -t tmpfs -o size=1M none /mnt && grep /mnt /proc/mounts && umount /mnt
    mount --bind /etc /b && ls /b && umount /b
    for o in --getsize64 --getss --getro --getbsz --getsz; do blockdev $o /dev/ubdb; done
    dd if=/dev/ubdb bs=1024 skip=1 count=1 2>/dev/null | od -A n -t x2 -j 56 -N 2
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.replace(/[ \t]+/g, ' '), [
    '/dev/ubdb /mnt ext2 rw,relatime 0 0', 'busy', 'unmounted', '/dev/ubdb /mnt ext4 rw,relatime 0 0',
    'already mounted', 'ext3 needs a journal', '/dev/ubdb /mnt ext2 ro,relatime 0 0', 'ro',
    'none /mnt tmpfs rw,relatime,size=1024k 0 0', 'group', 'passwd', '16777216', '512', '0', '4096', '32768', ' ef53', '',
  ].join('\n'));
  e2fsck(data);
  e2fsck(root);
  assert.equal(debugfsCat(data, '/numbers').toString(), Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join(''));
});

test('MAP_SHARED writes to an ext4 file reach the disk', (t) => {
  if (skip) return t.skip(skip);
  if (!have('gcc')) return t.skip('gcc is missing (CI installs it)');
  const tree = path.join(dir, 'mmap-tree');
  fs.cpSync(rootTree, tree, { recursive: true, verbatimSymlinks: true });
  const cc = sh('gcc', ['-static', '-O1', '-o', path.join(tree, 'bin/mmap-shared'), path.join(repo, 'test/guest/ubd/mmap-shared.c')]);
  if (cc.status !== 0) return t.skip(`gcc -static failed: ${cc.stderr}`);
  const img = path.join(dir, 'mmap.img');
  mkfs('ext4', img, 32, tree);
  const r = guest([`ubd0=${img}`, 'root=/dev/ubda'], '/bin/mmap-shared /mapped');
  assert.equal(r.stdout, 'mmap ok\n', r.stderr);
  e2fsck(img);
  const b = debugfsCat(img, '/mapped');
  assert.equal(b.length, 8192);
  assert.equal(b.subarray(100, 132).toString(), 'written through a shared mapping');
  assert.equal(b.subarray(200, 206).toString(), 'pwrite');
  assert.equal(b.subarray(5000, 5011).toString(), 'second page');
});

test('bad ubd switches and a missing root device give UML\'s messages', (t) => {
  if (skip) return t.skip(skip);
  const r = sh(tuml, ['ubd0rscdtrs=/nonexistent', 'ubd1d=a,b', 'ubd2=/nonexistent', 'root=/dev/ubda', '--', '/bin/true']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Failed to initialize device with "0rscdtrs=\/nonexistent" : Too many flags specified/);
  assert.match(r.stderr, /Failed to initialize device with "1d=a,b" : Can't specify both 'd' and a cow file/);
  assert.match(r.stderr, /ubdc: Failed to open '\/nonexistent', errno = 2/);
  assert.match(r.stderr, /VFS: Unable to mount root fs/);
});

test('loop devices: losetup, mount -o loop of an image file on the ext4 root, autoclear at umount', (t) => {
  if (skip) return t.skip(skip);
  const img = path.join(dir, 'loop-root.img');
  mkfs('ext4', img, 48);
  const r = guest([`ubd0=${img}`, 'root=/dev/ubda'], `
    dd if=/dev/zero of=/root/inner.img bs=1M count=8 2>/dev/null
    mke2fs -q -F /root/inner.img >/dev/null 2>&1
    losetup -f; losetup /dev/loop0 /root/inner.img && losetup /dev/loop0; blockdev --getsize64 /dev/loop0; losetup -d /dev/loop0
    mount -o loop /root/inner.img /mnt && grep /mnt /proc/mounts && seq 1 5000 > /mnt/inner && umount /mnt
    losetup -a; echo end
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '/dev/loop0\n/dev/loop0: 0 /root/inner.img\n8388608\n/dev/loop0 /mnt ext2 rw,relatime 0 0\nend\n');
  e2fsck(img);
  const inner = path.join(dir, 'inner.img');
  fs.writeFileSync(inner, debugfsCat(img, '/root/inner.img'));
  e2fsck(inner);
  assert.equal(debugfsCat(inner, '/inner').toString(), Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join(''));
});
