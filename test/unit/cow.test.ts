// COW files and the image tools against the reference: Debian's uml_mkcow and uml_moo
// (uml-utilities) must agree with ours byte for byte, in both directions.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  COW_HEADER_V1_SIZE, COW_HEADER_V2_SIZE, COW_HEADER_V3_BROKEN_SIZE, COW_HEADER_V3_SIZE, CowError, CowHeader,
  cowLayout, parseCowHeader, serializeCowHeader, setBit,
} from '../../src/drivers/ubd/cow-header.js';
import { CowFile } from '../../src/drivers/ubd/cow-file.js';
import { RawImage } from '../../src/drivers/ubd/raw-image.js';
import { openBlockBackend } from '../../src/drivers/ubd/block-backend.js';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const MiB = 1 << 20;

function haveTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}
// CI installs uml-utilities; install it here too if we can (we run as root in the sandbox).
if (!haveTool('uml_moo') && process.getuid?.() === 0)
  spawnSync('apt-get', ['install', '-y', '-q', 'uml-utilities'], { stdio: 'ignore', timeout: 300_000 });
const DEBIAN = haveTool('uml_moo') && haveTool('uml_mkcow');
const needDebian = DEBIAN ? {} : { skip: 'Debian uml-utilities (uml_moo, uml_mkcow) not installable here' };
const needUml = haveTool('linux') ? {} : { skip: "Debian's user-mode-linux (the `linux` binary) is not installed" };

let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-cow-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const p = (name: string): string => path.join(dir, name);
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

function randomBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(Math.ceil(n / 4) * 4);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
  return b.subarray(0, n);
}

/** A backing image: random data with zero stretches (so sparse merging is exercised). */
function makeBacking(name: string, size: number, seed: number): Buffer {
  const data = randomBytes(size, seed);
  data.fill(0, 64 * 1024, 256 * 1024);
  data.fill(0, size - 8192, size); // a zero last sector: uml_moo still writes it (file size)
  fs.writeFileSync(p(name), data);
  const t = new Date('2024-05-01T12:00:00Z');
  fs.utimesSync(p(name), t, t);
  return data;
}

function copyKeepingMtime(from: string, to: string): void {
  fs.copyFileSync(from, to);
  const st = fs.statSync(from);
  fs.utimesSync(to, st.atime, st.mtime);
}

interface Run { status: number | null; stdout: string; stderr: string }
function run(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** Our tool, run the way the integrator wires it, under the reference tool's name. */
function ours(tool: 'moo' | 'mkcow', prog: string, args: string[]): Run {
  const code = `const m = await import(${JSON.stringify(path.join(DIST_SRC, 'cli', `${tool}.js`))});` +
    `process.exitCode = await m.main(process.argv.slice(1), ${JSON.stringify(prog)});`;
  return run(process.execPath, ['--input-type=module', '-e', code, '--', ...args]);
}

/** Random unaligned writes through a backend, mirrored into a model buffer. */
function scribble(dev: { write(o: number, d: Uint8Array): void; size: number }, model: Buffer, seed: number, n: number): void {
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r() * (i % 5 === 0 ? 70_000 : 1500));
    const off = Math.floor(r() * (dev.size - len));
    const data = i % 7 === 0 ? Buffer.alloc(len) : randomBytes(len, seed * 131 + i);
    dev.write(off, data);
    data.copy(model, off);
  }
}

describe('COW header formats', () => {
  const base = { mtime: 0x6b097f2c, size: 4n * BigInt(MiB), sectorSize: 512, cowFormat: 0, backingFile: '/srv/uml/root_fs' };
  const cases: Array<[string, CowHeader, number]> = [
    ['V1 (host order)', { ...base, version: 1, broken64: false, magicOrder: 'le', alignment: 512 }, COW_HEADER_V1_SIZE],
    ['V2 (big-endian)', { ...base, version: 2, broken64: false, magicOrder: 'be', alignment: 512 }, COW_HEADER_V2_SIZE],
    ['V3', { ...base, version: 3, broken64: false, magicOrder: 'be', alignment: 4096 }, COW_HEADER_V3_SIZE],
    ['V3 broken 64-bit', { ...base, version: 3, broken64: true, magicOrder: 'be', alignment: 4096 }, COW_HEADER_V3_BROKEN_SIZE],
    ['V3 with host-order magic', { ...base, version: 3, broken64: false, magicOrder: 'le', alignment: 512 }, COW_HEADER_V3_SIZE],
  ];
  for (const [name, h, size] of cases) {
    test(`${name}: serialize and parse round trip`, () => {
      const bytes = serializeCowHeader(h);
      assert.equal(bytes.length, size);
      const back = parseCowHeader(bytes);
      assert.deepEqual(back, h);
      assert.deepEqual(serializeCowHeader(back!), bytes);
    });
  }

  test('field positions match the C structs', () => {
    const v3 = serializeCowHeader(cases[2]![1]);
    assert.equal(v3.toString('hex', 0, 32), '4f4f4f4d000000036b097f2c0000000000400000000002000000100000000000');
    assert.equal(v3.toString('latin1', 32, 48), '/srv/uml/root_fs');
    const broken = serializeCowHeader(cases[3]![1]);
    assert.equal(broken.toString('hex', 0, 40), '4f4f4f4d000000036b097f2c000000000000000000400000000002000000100000000000' + '2f737276');
    const v1 = serializeCowHeader(cases[0]![1]);
    assert.equal(v1.readUInt32LE(0), 0x4f4f4f4d);
    assert.equal(v1.readUInt32LE(264), 0x6b097f2c);
    assert.equal(v1.readBigUInt64LE(268), 4n * BigInt(MiB));
    const v2 = serializeCowHeader(cases[1]![1]);
    assert.equal(v2.readUInt32BE(4104), 0x6b097f2c);
    assert.equal(v2.readInt32BE(4116), 512);
  });

  test('layout math (cow_sizes), historic V1/V2 rounding included', () => {
    const h = (version: 1 | 2 | 3, size: number, broken64 = false, alignment = 4096): CowHeader => ({
      version, broken64, magicOrder: 'be', backingFile: '/x', mtime: 0, size: BigInt(size), sectorSize: 512,
      alignment: version === 3 ? alignment : 512, cowFormat: 0,
    });
    const table: Array<[CowHeader, number, number, number]> = [
      [h(1, 4 * MiB), 280, 1024, 1536],
      [h(2, 4 * MiB), 4120, 1024, 5632],
      [h(3, 4 * MiB), 8192, 1024, 12288],
      [h(3, 4 * MiB, true), 8192, 1024, 12288],
      [h(3, 4 * MiB, false, 512), 4608, 1024, 5632],
      [h(3, 4 * MiB, true, 8), 4136, 1024, 5160],
      [h(2, 81 * 512), 4120, 10, 4608], // rounds bytes: 10 bitmap bytes for 81 sectors
      [h(3, 81 * 512), 8192, 11, 12288],
      [h(3, 1000), 8192, 1, 12288],
      [h(3, 0), 8192, 0, 8192],
    ];
    for (const [hdr, bitmapOffset, bitmapLen, dataOffset] of table)
      assert.deepEqual(cowLayout(hdr), { bitmapOffset, bitmapLen, dataOffset }, JSON.stringify({ ...hdr, size: String(hdr.size) }));
  });

  test('a file without the magic is not a COW file', () => {
    assert.equal(parseCowHeader(Buffer.alloc(0)), null);
    assert.equal(parseCowHeader(Buffer.from('\x7fELF and more bytes')), null);
    assert.equal(parseCowHeader(Buffer.alloc(8192)), null);
  });

  test('truncated and corrupt headers give clear errors', () => {
    const good = serializeCowHeader(cases[2]![1]);
    const bad = (f: (b: Buffer) => Buffer | void): Buffer => { const b = Buffer.from(good); return f(b) ?? b; };
    const table: Array<[string, Buffer, RegExp]> = [
      ['only the magic', good.subarray(0, 6), /short header/],
      ['V3 cut short', good.subarray(0, 100), /failed to read V3 header: truncated \(100 of 4128 bytes\)/],
      ['V1 cut short', serializeCowHeader(cases[0]![1]).subarray(0, 200), /failed to read V1 header/],
      ['V2 cut short', serializeCowHeader(cases[1]![1]).subarray(0, 4000), /failed to read V2 header/],
      ['unknown version', bad((b) => { b.writeUInt32BE(7, 4); }), /invalid COW version 7/],
      ['alignment 0', bad((b) => { b.writeUInt32BE(0, 24); }), /align == 0/],
      ['sector size 0', bad((b) => { b.writeUInt32BE(0, 20); }), /sector size 0/],
      ['unknown cow_format', bad((b) => { b.writeUInt32LE(1, 28); }), /cow_format 1/],
      ['name not terminated', bad((b) => { b.fill(0x41, 32); }), /not NUL-terminated/],
      ['absurd size', bad((b) => { b.writeBigUInt64BE(0xffffffffffffffffn, 12); }), /size .* out of range/],
    ];
    for (const [name, buf, re] of table)
      assert.throws(() => parseCowHeader(buf), (e: unknown) => e instanceof CowError && re.test(e.message), name);
  });
});

describe('interoperability with Debian uml-utilities', needDebian, () => {
  test('tuml mkcow writes the same bytes as uml_mkcow, and the same usage errors', () => {
    makeBacking('mk-back.img', 4 * MiB, 1);
    const a = ours('mkcow', 'uml_mkcow', ['mk-ours.cow', 'mk-back.img']);
    const b = run('uml_mkcow', ['mk-deb.cow', 'mk-back.img']);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.ok(fs.readFileSync(p('mk-ours.cow')).equals(fs.readFileSync(p('mk-deb.cow'))));
    assert.equal(fs.statSync(p('mk-ours.cow')).size, 12288 + 4 * MiB);
    assert.ok(fs.statSync(p('mk-ours.cow')).blocks * 512 <= 64 * 1024, 'sparse');
    for (const args of [[], ['-f'], ['only-one'], ['mk-ours.cow', 'mk-back.img']]) {
      const x = ours('mkcow', 'uml_mkcow', args);
      const y = run('uml_mkcow', args);
      assert.deepEqual(x, y, `uml_mkcow ${args.join(' ')}`);
    }
    // -f overwrites.
    assert.equal(ours('mkcow', 'uml_mkcow', ['-f', 'mk-ours.cow', 'mk-back.img']).status, 0);
    assert.ok(fs.readFileSync(p('mk-ours.cow')).equals(fs.readFileSync(p('mk-deb.cow'))));
  });

  test('a COW file made by uml_mkcow opens in tuml; after tuml writes, uml_moo and tuml moo merge it identically', () => {
    const model = makeBacking('i-back.img', 4 * MiB, 2);
    assert.equal(run('uml_mkcow', ['i.cow', 'i-back.img']).status, 0);
    const backHash = sha(p('i-back.img'));
    const cow = CowFile.open(p('i.cow'));
    assert.equal(cow.size, 4 * MiB);
    assert.equal(cow.backingPath, p('i-back.img'));
    assert.ok(cow.read(0, cow.size).equals(model));
    scribble(cow, model, 3, 200);
    assert.ok(cow.read(0, cow.size).equals(model));
    // Whole pages only (each bitmap byte is one 4 KiB page): what UML's reads need.
    assert.ok(cow.bitmap.every((b) => b === 0 || b === 0xff), 'page-granular bitmap');
    cow.close();
    assert.equal(sha(p('i-back.img')), backHash, 'backing file untouched');
    // A fresh open sees the same device.
    const again = CowFile.open(p('i.cow'), { readOnly: true });
    assert.ok(again.read(0, again.size).equals(model));
    again.close();

    const d = run('uml_moo', ['i.cow', 'i-deb.img']);
    const o = ours('moo', 'uml_moo', ['i.cow', 'i-ours.img']);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(o, d);
    assert.ok(fs.readFileSync(p('i-deb.img')).equals(model), 'uml_moo output is the device contents');
    assert.ok(fs.readFileSync(p('i-ours.img')).equals(model), 'tuml moo output is the device contents');
    assert.equal(fs.statSync(p('i-ours.img')).blocks, fs.statSync(p('i-deb.img')).blocks, 'same sparseness');

    // In place (-d), each on its own copy of the backing file.
    copyKeepingMtime(p('i-back.img'), p('i-back-deb.img'));
    copyKeepingMtime(p('i-back.img'), p('i-back-ours.img'));
    const dd = run('uml_moo', ['-d', '-b', 'i-back-deb.img', 'i.cow']);
    const od = ours('moo', 'uml_moo', ['-d', '-b', 'i-back-ours.img', 'i.cow']);
    assert.equal(dd.status, 0, dd.stderr);
    assert.deepEqual(od, dd);
    assert.ok(fs.readFileSync(p('i-back-ours.img')).equals(model));
    assert.ok(fs.readFileSync(p('i-back-deb.img')).equals(model));
  });

  test('a COW file tuml creates on first use is what uml_mkcow makes, and uml_moo reads what tuml wrote', () => {
    const model = makeBacking('f-back.img', 4 * MiB, 4);
    const lines: string[] = [];
    const cow = CowFile.open(p('f.cow'), { backingFile: p('f-back.img'), log: (l) => lines.push(l) });
    assert.deepEqual(lines, [`Creating "${p('f.cow')}" as COW file for "${p('f-back.img')}"`]);
    assert.equal(run('uml_mkcow', ['f-deb.cow', 'f-back.img']).status, 0);
    assert.ok(fs.readFileSync(p('f.cow')).equals(fs.readFileSync(p('f-deb.cow'))), 'same bytes as uml_mkcow');
    scribble(cow, model, 5, 300);
    cow.write(cow.size - 512, Buffer.alloc(512, 0xee)); // last sector: UML's back-up-one-word case
    model.fill(0xee, cow.size - 512);
    cow.flush();
    cow.close();
    assert.equal(run('uml_moo', ['f.cow', 'f-deb.img']).status, 0);
    assert.equal(ours('moo', 'uml_moo', ['f.cow', 'f-ours.img']).status, 0);
    assert.ok(fs.readFileSync(p('f-deb.img')).equals(model));
    assert.ok(fs.readFileSync(p('f-ours.img')).equals(fs.readFileSync(p('f-deb.img'))));
  });

  test('V1, V2 and broken 64-bit V3 files: tuml reads them as uml_moo merges them', () => {
    const size = 2 * MiB;
    const variants: Array<[string, Pick<CowHeader, 'version' | 'broken64' | 'magicOrder' | 'alignment'>]> = [
      ['v1', { version: 1, broken64: false, magicOrder: 'le', alignment: 512 }],
      ['v2', { version: 2, broken64: false, magicOrder: 'be', alignment: 512 }],
      ['v3b', { version: 3, broken64: true, magicOrder: 'be', alignment: 4096 }],
    ];
    for (const [name, v] of variants) {
      const model = makeBacking(`${name}-back.img`, size, 10 + v.version);
      const st = fs.statSync(p(`${name}-back.img`));
      const header: CowHeader = { ...v, backingFile: p(`${name}-back.img`), mtime: Math.floor(st.mtimeMs / 1000),
        size: BigInt(size), sectorSize: 512, cowFormat: 0 };
      const layout = cowLayout(header);
      const file = Buffer.alloc(layout.dataOffset + size);
      serializeCowHeader(header).copy(file, 0);
      const bitmap = file.subarray(layout.bitmapOffset, layout.bitmapOffset + layout.bitmapLen);
      const r = rng(20 + v.version);
      for (let i = 0; i < 300; i++) {
        const s = Math.floor(r() * (size / 512));
        setBit(bitmap, s);
        const data = i % 10 === 0 ? Buffer.alloc(512) : randomBytes(512, i * 7 + v.version);
        data.copy(file, layout.dataOffset + s * 512);
        data.copy(model, s * 512);
      }
      fs.writeFileSync(p(`${name}.cow`), file);
      const lines: string[] = [];
      const cow = CowFile.open(p(`${name}.cow`), { readOnly: true, log: (l) => lines.push(l) });
      assert.equal(cow.header.version, v.version);
      assert.equal(cow.header.broken64, v.broken64);
      if (v.broken64) assert.match(lines.join('\n'), /broken V3 file with 64-bit layout/);
      assert.ok(cow.read(0, size).equals(model), `${name}: tuml reads the device`);
      cow.close();
      const d = run('uml_moo', [`${name}.cow`, `${name}-deb.img`]);
      const o = ours('moo', 'uml_moo', [`${name}.cow`, `${name}-ours.img`]);
      assert.equal(d.status, 0, `${name}: ${d.stderr}`);
      assert.deepEqual(o, d, name);
      assert.ok(fs.readFileSync(p(`${name}-deb.img`)).equals(model), `${name}: uml_moo agrees`);
      assert.ok(fs.readFileSync(p(`${name}-ours.img`)).equals(model), `${name}: tuml moo agrees`);
    }
  });

  test('uml_moo and tuml moo fail alike on mismatched and bad inputs, and change nothing', () => {
    makeBacking('m-back.img', MiB, 6);
    assert.equal(run('uml_mkcow', ['m.cow', 'm-back.img']).status, 0);
    fs.appendFileSync(p('m-back.img'), Buffer.alloc(512, 1));
    const t = new Date('2024-05-01T12:00:00Z');
    fs.utimesSync(p('m-back.img'), t, t);
    const hashes = [sha(p('m.cow')), sha(p('m-back.img'))];
    for (const args of [[], ['-d'], ['m.cow'], ['m.cow', 'm-out.img'], ['-d', 'm.cow'], ['missing.cow', 'x.img'],
      ['m-back.img', 'x.img']]) {
      const o = ours('moo', 'uml_moo', args);
      const d = run('uml_moo', args);
      if (args.length === 1 && args[0] === '-d') { assert.equal(o.status, 1); continue; } // uml_moo segfaults here
      assert.deepEqual(o, d, `uml_moo ${args.join(' ')}`);
    }
    assert.match(ours('moo', 'uml_moo', ['m.cow', 'm-out.img']).stderr,
      /^Size mismatch \(1048576 vs 1049088\) of COW header vs backing file ".*m-back.img"\n$/);
    assert.deepEqual([sha(p('m.cow')), sha(p('m-back.img'))], hashes);
  });
});

describe('interoperability with a real UML kernel', needUml, () => {
  test('UML reads the COW file tuml wrote, and tuml reads what UML wrote to it', () => {
    const model = makeBacking('k-back.img', 4 * MiB, 70);
    const cow = CowFile.open(p('k.cow'), { backingFile: p('k-back.img') });
    scribble(cow, model, 71, 150);
    cow.close();
    const patch = randomBytes(3 * 4096, 72);
    fs.writeFileSync(p('k-patch.bin'), patch);
    // The host's / stays read-only for UML (as root, a writable hostfs root lets it change
    // the host's own files); only the test directory is mounted writable inside.
    fs.writeFileSync(p('k-init.sh'), '#!/bin/sh\n' +
      `mount -t hostfs none /mnt -o ${dir}\n` +
      `cat /dev/ubdb > /mnt/k-uml-view.img\n` +
      `dd if=/mnt/k-patch.bin of=/dev/ubdb bs=4096 seek=77 conv=notrunc,fsync 2>/dev/null\n` +
      'sync\numount /mnt\nhalt -f\n', { mode: 0o755 });
    const r = spawnSync('linux', ['mem=64M', `uml_dir=${dir}`, 'umid=tuml-cow-test', 'rootfstype=hostfs', 'rootflags=/', 'ro',
      `init=${p('k-init.sh')}`, `ubd1=${p('k.cow')}`, 'con0=fd:0,fd:1', 'con=null', 'ssl=null'],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    assert.ok(fs.existsSync(p('k-uml-view.img')), `UML did not run the test script:\n${r.stdout}${r.stderr}`);
    assert.ok(fs.readFileSync(p('k-uml-view.img')).equals(model), 'UML sees the device tuml wrote');
    patch.copy(model, 77 * 4096);
    const again = CowFile.open(p('k.cow'), { readOnly: true });
    assert.ok(again.read(0, again.size).equals(model), 'tuml sees what UML wrote');
    again.close();
  });
});

describe('CowFile open-time checks', () => {
  function freshCow(name: string, size = MiB): { model: Buffer; cow: string; back: string } {
    const model = makeBacking(`${name}-back.img`, size, name.length * 17);
    const cow = CowFile.open(p(`${name}.cow`), { backingFile: p(`${name}-back.img`) });
    scribble(cow, model, 7, 40);
    cow.close();
    return { model, cow: p(`${name}.cow`), back: p(`${name}-back.img`) };
  }
  const hashes = (...files: string[]): string[] => files.map(sha);
  const throwsCow = (f: () => unknown, re: RegExp): void =>
    assert.throws(f, (e: unknown) => e instanceof CowError && re.test(e.message) || assert.fail(String(e)));

  test('size mismatch: UML\'s message, nothing modified', () => {
    const { cow, back } = freshCow('sz');
    fs.appendFileSync(back, Buffer.alloc(4096, 1));
    const before = hashes(cow, back);
    throwsCow(() => CowFile.open(cow), /^Size mismatch \(1048576 vs 1052672\) of COW header vs backing file$/);
    throwsCow(() => CowFile.open(cow, { backingFile: back }), /^Size mismatch/);
    throwsCow(() => openBlockBackend(cow), /^Size mismatch/);
    assert.deepEqual(hashes(cow, back), before);
  });

  test('mtime mismatch: UML\'s message, nothing modified', () => {
    const { cow, back } = freshCow('mt');
    const st = fs.statSync(back);
    fs.utimesSync(back, st.atime, new Date(st.mtimeMs + 10_000));
    const before = hashes(cow, back);
    const m = Math.floor(st.mtimeMs / 1000);
    throwsCow(() => CowFile.open(cow), new RegExp(`^mtime mismatch \\(${m} vs ${m + 10}\\) of COW header vs backing file$`));
    assert.deepEqual(hashes(cow, back), before);
  });

  test('truncated or corrupt COW files are refused and left alone', () => {
    const { cow, back } = freshCow('tr');
    const orig = fs.readFileSync(cow);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['header cut', orig.subarray(0, 100), /failed to read V3 header: truncated/],
      ['data cut', orig.subarray(0, 9000), /is truncated: 9000 bytes, its header needs 1060864/],
      ['bad version', Buffer.concat([orig.subarray(0, 4), Buffer.from([0, 0, 0, 9]), orig.subarray(8)]), /invalid COW version 9/],
    ];
    for (const [name, content, re] of cases) {
      const f = p(`tr-${name.replace(' ', '-')}.cow`);
      fs.writeFileSync(f, content);
      const before = hashes(f, back);
      throwsCow(() => CowFile.open(f), re);
      throwsCow(() => CowFile.open(f, { backingFile: back }), re);
      throwsCow(() => openBlockBackend(f), re);
      assert.deepEqual(hashes(f, back), before, name);
    }
    // With 'd' the same bytes are a plain image.
    const raw = openBlockBackend(p('tr-bad-version.cow'), { noCow: true, readOnly: true });
    assert.ok(raw instanceof RawImage);
    raw.close();
    throwsCow(() => openBlockBackend(cow, { noCow: true, backingFile: back }), /Can't specify both 'd' and a cow file/);
  });

  test('host locks: write lock on the COW file, read lock on the backing file, none when shared', () => {
    const { cow, back } = freshCow('lk');
    const calls: Array<[boolean, string]> = [];
    const lock = (fd: number, write: boolean): void => { calls.push([write, fs.readlinkSync(`/proc/self/fd/${fd}`)]); };
    CowFile.open(cow, { lock }).close();
    assert.deepEqual(calls, [[true, cow], [false, back]]);
    const lines: string[] = [];
    calls.length = 0;
    CowFile.open(cow, { lock, shared: true, log: (l) => lines.push(l) }).close();
    assert.deepEqual(calls, []);
    assert.deepEqual(lines, [`Not locking "${cow}" on the host`, `Not locking "${back}" on the host`]);
    const before = sha(cow);
    const busy = (): void => { throw Object.assign(new Error('locked'), { code: 'EAGAIN', errno: -11 }); };
    throwsCow(() => CowFile.open(cow, { lock: busy }), /^Failed to lock '.*lk.cow', err = 11$/);
    throwsCow(() => RawImage.open(back, { lock: busy }), /^Failed to lock/);
    assert.equal(sha(cow), before);
  });

  test('a missing backing file is an error, and no COW file is left behind', () => {
    throwsCow(() => CowFile.open(p('nb.cow'), { backingFile: p('no-such.img') }), /mtime request failed, err = 2/);
    assert.equal(fs.existsSync(p('nb.cow')), false);
  });

  test('the backing path is switched when the command line names the same file elsewhere', () => {
    const { model, cow, back } = freshCow('sw');
    fs.mkdirSync(p('moved'));
    const moved = p('moved/sw-back.img');
    fs.renameSync(back, moved);
    throwsCow(() => CowFile.open(cow), /Failed to get modification time of backing file/);
    const lines: string[] = [];
    const c = CowFile.open(cow, { backingFile: moved, log: (l) => lines.push(l) });
    assert.ok(lines.includes(`Switching backing file to '${moved}'`), lines.join('\n'));
    assert.equal(c.header.backingFile, moved);
    assert.ok(c.read(0, c.size).equals(model));
    c.close();
    assert.equal(parseCowHeader(fs.readFileSync(cow).subarray(0, 4136))!.backingFile, moved);
    // Now the header's own path works without naming it.
    CowFile.open(cow).close();
  });

  test('no switch for another name of the same file, nor for a different file', () => {
    const { model, cow, back } = freshCow('ns');
    fs.linkSync(back, p('ns-link.img'));
    let before = sha(cow);
    CowFile.open(cow, { backingFile: p('ns-link.img') }).close();
    assert.equal(sha(cow), before, 'hard link: header unchanged');
    makeBacking('ns-other.img', MiB / 2, 99);
    before = sha(cow);
    const lines: string[] = [];
    const c = CowFile.open(cow, { backingFile: p('ns-other.img'), log: (l) => lines.push(l) });
    assert.match(lines.join('\n'), /Backing file mismatch - ".*ns-other.img" requested, ".*ns-back.img" specified in COW header/);
    assert.match(lines.join('\n'), /Size mismatch \(1048576 vs 524288\)/);
    assert.equal(c.backingPath, back);
    assert.ok(c.read(0, c.size).equals(model));
    c.close();
    assert.equal(sha(cow), before, 'different file: header unchanged');
  });
});

describe('CowFile I/O', () => {
  test('the bitmap on disk is always complete (UML 2006 bitmap-length corruption)', () => {
    const model = makeBacking('bm-back.img', MiB, 30);
    const cow = CowFile.open(p('bm.cow'), { backingFile: p('bm-back.img') });
    const { bitmapOffset, bitmapLen } = cow.layout;
    // One write covering sectors 61..360 (crossing many 64-bit bitmap words), unaligned at
    // both ends, then writes at the very end of the device and around word boundaries.
    const spans: Array<[number, number]> = [[61 * 512 + 100, 300 * 512 - 200], [MiB - 10, 10], [63 * 8 * 512 - 1, 2],
      [1024 * 512 + 511, 1], [0, 1]];
    for (const [off, len] of spans) {
      const data = randomBytes(len, off);
      cow.write(off, data);
      data.copy(model, off);
    }
    const onDisk = (): Buffer => {
      const b = Buffer.alloc(bitmapLen);
      const fd = fs.openSync(p('bm.cow'), 'r');
      fs.readSync(fd, b, 0, bitmapLen, bitmapOffset);
      fs.closeSync(fd);
      return b;
    };
    assert.ok(onDisk().equals(cow.bitmap), 'file bitmap == memory bitmap after every write');
    // Written sectors rounded out to whole 4 KiB pages: one bitmap byte per page.
    const expected = Buffer.alloc(bitmapLen);
    for (const [off, len] of spans) expected.fill(0xff, Math.floor(off / 4096), Math.ceil((off + len) / 4096));
    assert.ok(onDisk().equals(expected), 'exactly the written pages');
    // Partial pages were completed from the backing file.
    assert.ok(cow.read(0, MiB).equals(model));
    cow.close();
    const again = CowFile.open(p('bm.cow'));
    assert.ok(again.read(0, MiB).equals(model), 'nothing reverts to the backing file after reopening');
    again.close();
  });

  test('odd-sized backing file: the device is rounded up to a sector, the tail reads as zeros', () => {
    const data = randomBytes(3000, 40);
    fs.writeFileSync(p('odd-back.img'), data);
    const cow = CowFile.open(p('odd.cow'), { backingFile: p('odd-back.img') });
    assert.equal(cow.size, 3072);
    const model = Buffer.concat([data, Buffer.alloc(72)]);
    assert.ok(cow.read(0, 3072).equals(model));
    cow.write(2990, Buffer.alloc(50, 7));
    model.fill(7, 2990, 3040);
    assert.ok(cow.read(0, 3072).equals(model));
    assert.throws(() => cow.read(3000, 100), CowError);
    assert.throws(() => cow.write(3072, Buffer.alloc(1)), CowError);
    cow.close();
    assert.ok(CowFile.open(p('odd.cow'), { readOnly: true }).read(0, 3072).equals(model));
  });

  test('read-only devices refuse writes; auto-detection picks COW or plain image', () => {
    makeBacking('ro-back.img', MiB, 50);
    CowFile.open(p('ro.cow'), { backingFile: p('ro-back.img') }).close();
    const before = sha(p('ro.cow'));
    const c = openBlockBackend(p('ro.cow'), { readOnly: true });
    assert.ok(c instanceof CowFile && c.readOnly);
    assert.throws(() => c.write(0, Buffer.alloc(1)), (e: unknown) => e instanceof CowError && e.errno === 30);
    c.close();
    assert.equal(sha(p('ro.cow')), before);
    const r = openBlockBackend(p('ro-back.img'));
    assert.ok(r instanceof RawImage && !r.readOnly);
    r.close();
  });
});

describe('RawImage', () => {
  test('byte-granular reads and writes on a plain image', () => {
    const model = makeBacking('raw.img', MiB + 100, 60);
    const img = RawImage.open(p('raw.img'));
    assert.equal(img.size, MiB + 512);
    const padded = Buffer.concat([model, Buffer.alloc(412)]);
    scribble(img, padded, 61, 50);
    assert.ok(img.read(0, img.size).equals(padded));
    img.flush();
    img.close();
    assert.ok(fs.readFileSync(p('raw.img')).subarray(0, MiB + 100).equals(padded.subarray(0, MiB + 100)));
    const ro = RawImage.open(p('raw.img'), { readOnly: true });
    assert.throws(() => ro.write(0, Buffer.alloc(1)), CowError);
    ro.close();
  });
});
