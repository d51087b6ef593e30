// ubd against the reference tools: COW files pass between tuml, Debian's uml_mkcow/uml_moo and
// Debian's UML kernel (linux.uml) in both directions; the host's mkfs.ext4 and e2fsck run
// inside the guest on /dev/ubdb; a 50,000-entry htree directory made in the guest is clean;
// broken images and COW headers are refused with clear messages and left untouched; and a
// kill -9 in the middle of heavy writes leaves raw and COW images that e2fsck accepts after
// replaying the journal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { tumlBin } from './harness.js';

const LINUX_UML = '/usr/bin/linux.uml';
let dir = '';
let tree = '';
let skip: string | null = null;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

interface Out { status: number; stdout: string; stderr: string }

function sh(cmd: string, args: string[], timeout = 60000): Out {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  return { status: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const p = (name: string): string => path.join(dir, name);

/** `script` under /bin/sh in a machine booted with `switches`. */
function guest(switches: string[], script: string): Out {
  return sh(tumlBin, [...switches, '--', '/bin/sh', '-c', script]);
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function fsckClean(img: string): void {
  const r = sh('e2fsck', ['-fn', img]);
  assert.equal(r.status, 0, `e2fsck -fn ${img}:\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /count wrong|Fix\?/, `e2fsck -fn ${img} found something:\n${r.stdout}`);
}

function debugfs(img: string, request: string): string {
  return sh('debugfs', ['-R', request, img]).stdout;
}

function mkfs(img: string, sizeMb: number, from: string | null, extra: string[] = []): void {
  const r = sh('mke2fs', ['-q', '-F', '-t', 'ext4', ...extra, ...(from ? ['-d', from] : []), img, `${sizeMb}M`]);
  assert.equal(r.status, 0, r.stderr);
}

const seqText = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');

// Init of Debian's UML on a tuml-written disk: show what tuml left, write its own files
// (directory, data, symlink), then power off without unmounting, so tuml must replay
// UML's journal at its next boot.
const UML_INIT = `#!/bin/sh
mount -t proc proc /proc
echo "root: $(grep ' / ' /proc/mounts)"
md5sum /tuml/seq /tuml/bb
cat /tuml/hello
mkdir /uml
i=0; while [ $i -lt 100 ]; do echo "uml $i" > /uml/f$i; i=$((i+1)); done
seq 1 20000 > /uml/seq
ln -s seq /uml/link
rm /tuml/doomed
sync
/bin/busybox poweroff -f
`;

/** A busybox root with the UML init script and a loop of heavy writes. */
function makeTree(at: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'mnt']) fs.mkdirSync(path.join(at, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(at, 'bin/busybox'));
  fs.chmodSync(path.join(at, 'bin/busybox'), 0o755);
  for (const a of sh('/bin/busybox', ['--list-full']).stdout.split('\n').filter(Boolean)) {
    if (!fs.existsSync(path.join(at, a))) fs.symlinkSync('/bin/busybox', path.join(at, a));
  }
  fs.writeFileSync(path.join(at, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.chmodSync(path.join(at, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(at, 'uml-init.sh'), UML_INIT, { mode: 0o755 });
  // Creates, writes, hard links, renames and deletes in a loop until killed; each round
  // says its number on stdout.
  fs.writeFileSync(path.join(at, 'heavy.sh'), `i=0
while :; do
  mkdir -p /w/$i; cp /bin/busybox /w/$i/bb; seq 1 3000 > /w/$i/s
  j=0; while [ $j -lt 20 ]; do echo $j > /w/$i/f$j; j=$((j+1)); done
  ln /w/$i/s /w/$i/hl; mv /w/$i/f1 /w/$i/g1
  [ $i -ge 3 ] && rm -rf /w/$((i-3))
  echo $i; i=$((i+1))
done
`);
}

before(() => {
  if (!fs.existsSync('/bin/busybox')) { skip = '/bin/busybox is missing (CI installs busybox-static)'; return; }
  if (!have('mke2fs') || !have('e2fsck') || !have('debugfs')) { skip = 'e2fsprogs is missing (CI installs it)'; return; }
  if (sh(tumlBin, ['--', '/bin/true']).status !== 0) { skip = `${tumlBin} -- /bin/true does not run`; return; }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-ubdi-'));
  tree = p('tree');
  makeTree(tree);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a COW file made by Debian\'s uml_mkcow boots in tuml; the backing file and the header stay as they were', (t) => {
  if (skip) return t.skip(skip);
  if (!have('uml_mkcow') || !have('uml_moo')) return t.skip('uml_mkcow/uml_moo are missing (CI installs uml-utilities)');
  mkfs(p('mk-back.img'), 48, tree);
  const mk = sh('uml_mkcow', [p('mk.cow'), p('mk-back.img')]);
  assert.equal(mk.status, 0, mk.stderr);
  const back = sha(p('mk-back.img'));
  const header = fs.readFileSync(p('mk.cow')).subarray(0, 8192);
  // No backing file on the command line: the header names it.
  const r = guest([`ubd0=${p('mk.cow')}`, 'root=/dev/ubda'], 'seq 1 30000 > /numbers; mkdir /d; echo deep > /d/x; sync; cat /d/x');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'deep\n');
  assert.equal(sha(p('mk-back.img')), back, 'the backing file is unchanged');
  assert.ok(fs.readFileSync(p('mk.cow')).subarray(0, 8192).equals(header), 'the header and bitmap start are uml_mkcow\'s');
  const m = sh('uml_moo', [p('mk.cow'), p('mk-merged.img')]);
  assert.equal(m.status, 0, m.stderr);
  fsckClean(p('mk-merged.img'));
  assert.equal(debugfs(p('mk-merged.img'), 'cat /numbers'), seqText(30000));
});

test('Debian\'s UML boots a COW file tuml wrote and sees its files; tuml boots what UML wrote (replaying its journal)', (t) => {
  if (skip) return t.skip(skip);
  if (!fs.existsSync(LINUX_UML)) return t.skip(`${LINUX_UML} is missing (CI installs user-mode-linux)`);
  mkfs(p('u-back.img'), 48, tree);
  const back = sha(p('u-back.img'));
  const cow = p('u.cow');
  // tuml creates the COW file (UML's "Creating ... as COW file") and writes to it.
  const w = guest([`ubd0=${cow},${p('u-back.img')}`, 'root=/dev/ubda'],
    'mkdir /tuml; seq 1 50000 > /tuml/seq; cp /bin/busybox /tuml/bb; echo "hello from tuml" > /tuml/hello; echo x > /tuml/doomed; sync');
  assert.equal(w.status, 0, w.stderr);
  assert.equal(fs.readFileSync(cow).readUInt32BE(0), 0x4f4f4f4d);
  const seqMd5 = createHash('md5').update(seqText(50000)).digest('hex');
  const bbMd5 = createHash('md5').update(fs.readFileSync('/bin/busybox')).digest('hex');

  const umlDir = p('uml-dir');
  fs.mkdirSync(umlDir);
  const u = sh(LINUX_UML, ['mem=128M', `ubd0=${cow},${p('u-back.img')}`, 'root=/dev/ubda', 'rw', 'init=/uml-init.sh',
    'con=null', 'con0=null,fd:1', 'quiet', `uml_dir=${umlDir}`, `umid=tuml-ubdi-${process.pid}`], 60000);
  assert.match(u.stdout, /root: \/dev\/root \/ ext4 rw/, `UML did not run its init:\n${u.stdout}${u.stderr}`);
  assert.match(u.stdout, new RegExp(`${seqMd5}  /tuml/seq\\r?\\n${bbMd5}  /tuml/bb\\r?\\nhello from tuml\\r?\\n`), 'UML sees tuml\'s files');
  assert.equal(sha(p('u-back.img')), back, 'UML left the backing file alone too');

  // UML powered off without unmounting: tuml replays its journal and sees its files.
  const r = guest([`ubd0=${cow},${p('u-back.img')}`, 'root=/dev/ubda'],
    'ls /uml | wc -l; cat /uml/f99; md5sum /uml/link; ls /tuml; echo "tuml again" > /tuml/again');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `102\numl 99\n${createHash('md5').update(seqText(20000)).digest('hex')}  /uml/link\nbb\nhello\nseq\n`);
  assert.equal(sha(p('u-back.img')), back);
  const m = sh('uml_moo', [cow, p('u-merged.img')]);
  assert.equal(m.status, 0, m.stderr);
  fsckClean(p('u-merged.img'));
  assert.equal(debugfs(p('u-merged.img'), 'cat /uml/seq'), seqText(20000));
  assert.equal(debugfs(p('u-merged.img'), 'cat /tuml/again'), 'tuml again\n');
  assert.equal(debugfs(p('u-merged.img'), 'cat /tuml/seq'), seqText(50000));
});

test('the host\'s mkfs.ext4 and e2fsck run inside the guest on /dev/ubdb', (t) => {
  if (skip) return t.skip(skip);
  const img = p('data.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 64 << 20);
  // The default machine: the host's /sbin is visible, the image is the second disk.
  const r = guest([`ubd1=${img}`], `set -e
    mkfs.ext4 -q -F -L guestfs /dev/ubdb
    e2fsck -fn /dev/ubdb >/dev/null; echo fsck=$?
    mount /dev/ubdb /mnt; seq 1 30000 > /mnt/numbers; mkdir /mnt/d; ln -s ../numbers /mnt/d/l; umount /mnt
    e2fsck -fy /dev/ubdb >/dev/null; echo fsck=$?
    dumpe2fs -h /dev/ubdb 2>/dev/null | grep '^Filesystem volume name'`);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stdout.replace(/[ \t]+/g, ' '), 'fsck=0\nfsck=0\nFilesystem volume name: guestfs\n');
  fsckClean(img);
  assert.equal(debugfs(img, 'cat /numbers'), seqText(30000));
  assert.match(debugfs(img, 'stat /d/l'), /Fast link dest: "\.\.\/numbers"/);
});

test('an htree directory of 50,000 files made in the guest is e2fsck clean', (t) => {
  if (skip) return t.skip(skip);
  if (!have('python3')) return t.skip('python3 is missing');
  const img = p('htree.img');
  mkfs(img, 128, null, ['-N', '60000']);
  // mknod(S_IFREG) is one trapped call per file (open+close would be two).
  const r = guest([`ubd1=${img}`], `mount /dev/ubdb /mnt && mkdir /mnt/h && python3 -c '
import os, stat
for i in range(50000): os.mknod("/mnt/h/entry-with-a-longish-name-%d" % i, 0o644 | stat.S_IFREG)
for i in range(0, 50000, 7): os.unlink("/mnt/h/entry-with-a-longish-name-%d" % i)
names = os.listdir("/mnt/h")
print(len(names), os.path.exists("/mnt/h/entry-with-a-longish-name-49999"), os.path.exists("/mnt/h/entry-with-a-longish-name-49994"))
' && umount /mnt`);
  assert.equal(r.status, 0, r.stderr);
  const left = 50000 - Math.ceil(50000 / 7);
  assert.equal(r.stdout, `${left} True False\n`);
  fsckClean(img);
  const flags = /Flags: (0x[0-9a-f]+)/.exec(debugfs(img, 'stat /h'));
  assert.ok(flags && (Number(flags[1]) & 0x1000) !== 0, 'the directory is indexed (EXT4_INDEX_FL)');
  assert.match(debugfs(img, 'htree /h'), /Indirect levels: 1/);
  // ls -p also lists emptied entries (inode 0) that head a block; those are not files.
  const names = debugfs(img, 'ls -p /h').split('\n').filter((l) => /^\/[1-9]\d*\/.*entry-with/.test(l));
  assert.equal(names.length, left);
});

test('truncated, corrupt and mismatched images and COW headers: clear errors, nothing modified', (t) => {
  if (skip) return t.skip(skip);
  mkfs(p('good.img'), 32, tree);
  const patch = (file: string, off: number, bytes: Buffer): void => {
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, bytes, 0, bytes.length, off);
    fs.closeSync(fd);
  };
  const copy = (name: string): string => { fs.copyFileSync(p('good.img'), p(name)); return p(name); };
  // A COW file over good.img with a few writes, then variants of it.
  fs.copyFileSync(p('good.img'), p('cb.img'));
  const made = guest([`ubd0=${p('c.cow')},${p('cb.img')}`, 'root=/dev/ubda'], 'echo x > /x');
  assert.equal(made.status, 0, made.stderr);
  const cowBytes = fs.readFileSync(p('c.cow'));
  const cowVariant = (name: string, bytes: Buffer): string => { fs.writeFileSync(p(name), bytes); return p(name); };
  const keepTimes = (file: string, fn: () => void): void => { const st = fs.statSync(file); fn(); fs.utimesSync(file, st.atime, st.mtime); };

  const truncated = copy('trunc.img');
  fs.truncateSync(truncated, 16 << 20);
  const badMagic = copy('magic.img');
  patch(badMagic, 1080, Buffer.from([0, 0]));
  const badGdt = copy('gdt.img');
  patch(badGdt, 2048, Buffer.alloc(64, 0x5a)); // 1 KiB blocks: the descriptors are in block 2
  const badSbCsum = copy('sbcsum.img');
  patch(badSbCsum, 1024 + 0x78, Buffer.from('scribbled volume')); // s_volume_name
  const shortHeader = cowVariant('short.cow', cowBytes.subarray(0, 100));
  const badVersion = cowVariant('version.cow', Buffer.from(cowBytes));
  patch(badVersion, 4, Buffer.from([0, 0, 0, 9]));
  const shortBody = cowVariant('body.cow', cowBytes.subarray(0, 9000));
  const missing = cowVariant('missing.cow', Buffer.from(cowBytes));
  patch(missing, 32, Buffer.from(`${p('gone.img')}\0`));
  fs.copyFileSync(p('cb.img'), p('sized.img'));
  const sized = cowVariant('sized.cow', Buffer.from(cowBytes));
  patch(sized, 32, Buffer.from(`${p('sized.img')}\0`));
  fs.utimesSync(p('sized.img'), fs.statSync(p('cb.img')).atime, fs.statSync(p('cb.img')).mtime);
  keepTimes(p('sized.img'), () => fs.appendFileSync(p('sized.img'), Buffer.alloc(4096)));
  fs.copyFileSync(p('cb.img'), p('timed.img'));
  const timed = cowVariant('timed.cow', Buffer.from(cowBytes));
  patch(timed, 32, Buffer.from(`${p('timed.img')}\0`));

  const cases: Array<{ what: string; ubd: string; files: string[]; error: RegExp }> = [
    { what: 'truncated image', ubd: truncated, files: [truncated], error: /EXT4-fs \(ubda\): ext4: filesystem \(33554432 bytes\) is larger than the device \(16777216 bytes\)/ },
    { what: 'bad superblock magic', ubd: badMagic, files: [badMagic], error: /EXT4-fs \(ubda\): ext4: no ext2\/3\/4 superblock \(bad magic\)/ },
    { what: 'corrupt group descriptors', ubd: badGdt, files: [badGdt], error: /EXT4-fs \(ubda\): ext4: group descriptor 0 checksum mismatch \(group descriptors corrupted\)/ },
    { what: 'superblock checksum', ubd: badSbCsum, files: [badSbCsum], error: /EXT4-fs \(ubda\): ext4: superblock checksum mismatch/ },
    { what: 'truncated COW header', ubd: shortHeader, files: [shortHeader, p('cb.img')], error: /ubda: ".*short\.cow" starts with a COW header that can't be used \(read_cow_header - failed to read V3 header: truncated \(100 of 4128 bytes\)\); use the 'd' flag/ },
    { what: 'truncated COW header, backing given', ubd: `${shortHeader},${p('cb.img')}`, files: [shortHeader, p('cb.img')], error: /ubda: Failed to read COW header from COW file ".*short\.cow"/ },
    { what: 'unknown COW version', ubd: badVersion, files: [badVersion, p('cb.img')], error: /read_cow_header - invalid COW version 9/ },
    { what: 'truncated COW file', ubd: shortBody, files: [shortBody, p('cb.img')], error: /COW file ".*body\.cow" is truncated: 9000 bytes, its header needs \d+/ },
    { what: 'missing backing file', ubd: missing, files: [missing], error: /Failed to get modification time of backing file ".*gone\.img", err = 2/ },
    { what: 'backing size changed', ubd: sized, files: [sized, p('sized.img')], error: /ubda: Size mismatch \(33554432 vs 33558528\) of COW header vs backing file/ },
    { what: 'backing mtime changed', ubd: timed, files: [timed, p('timed.img')], error: /ubda: mtime mismatch \(\d+ vs \d+\) of COW header vs backing file/ },
  ];
  // The mtime case: the backing file is touched after the header recorded its time.
  const later = new Date(fs.statSync(p('timed.img')).mtimeMs + 60_000);
  fs.utimesSync(p('timed.img'), later, later);
  for (const c of cases) {
    const hashes = c.files.map(sha);
    const r = sh(tumlBin, [`ubd0=${c.ubd}`, 'root=/dev/ubda', '--', '/bin/sh', '-c', 'echo booted > /booted']);
    assert.notEqual(r.status, 0, `${c.what}: the machine booted`);
    assert.match(r.stderr, c.error, `${c.what}:\n${r.stderr}`);
    assert.match(r.stderr, /Kernel panic - not syncing: VFS: Unable to mount root fs/, c.what);
    assert.deepEqual(c.files.map(sha), hashes, `${c.what}: a file was modified`);
  }
});

/** Boots `switches` on heavy.sh and kills the tuml process with SIGKILL after `ms` of writes. */
function killDuringWrites(switches: string[], ms: number): Promise<{ rounds: number; leftovers: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tumlBin, [...switches, 'root=/dev/ubda', '--', '/bin/sh', '/heavy.sh'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } reject(new Error('heavy.sh never started')); }, 60000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      timer ??= setTimeout(() => process.kill(child.pid!, 'SIGKILL'), ms);
    });
    child.on('close', () => {
      clearTimeout(guard);
      // The guest's processes die with their tracer (PTRACE_O_EXITKILL).
      let leftovers = false;
      try { process.kill(-child.pid!, 0); leftovers = true; process.kill(-child.pid!, 'SIGKILL'); } catch { /* none left */ }
      const rounds = out.trim().split('\n').filter(Boolean).length;
      resolve({ rounds, leftovers });
    });
  });
}

test('kill -9 during heavy writes: raw and COW images are clean after journal replay', async (t) => {
  if (skip) return t.skip(skip);
  mkfs(p('k-raw.img'), 64, tree);
  mkfs(p('k-back.img'), 64, tree);
  const back = sha(p('k-back.img'));
  // Past jbd2's 5 s commit interval, so committed transactions and a running one both exist.
  const [raw, cow] = await Promise.all([
    killDuringWrites([`ubd0=${p('k-raw.img')}`], 7000),
    killDuringWrites([`ubd0=${p('k.cow')},${p('k-back.img')}`], 7000),
  ]);
  assert.equal(raw.leftovers || cow.leftovers, false, 'guest processes outlived tuml');
  assert.ok(raw.rounds > 5 && cow.rounds > 5, `the workload ran (${raw.rounds}, ${cow.rounds} rounds)`);
  assert.equal(sha(p('k-back.img')), back, 'the backing file is unchanged');
  const merged = p('k-merged.img');
  const m = sh(tumlBin, ['moo', p('k.cow'), merged]);
  assert.equal(m.status, 0, m.stderr);
  for (const img of [p('k-raw.img'), merged]) {
    const work = `${img}.fsck`;
    fs.copyFileSync(img, work);
    const y = sh('e2fsck', ['-fy', work]);
    // 0: nothing to fix beyond replaying the journal (1 would mean e2fsck repaired something).
    assert.equal(y.status, 0, `e2fsck -fy ${img}:\n${y.stdout}${y.stderr}`);
    fsckClean(work);
    // Something was committed before the kill: the loop's directory exists.
    assert.match(debugfs(work, 'stat /w'), /Type: directory/, `${img}: nothing of the workload was committed`);
  }
});
