// The ubd switch parser (ubd_setup_common's rules and texts) and the partition-table scanner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUbdSetup, parseUbdSwitches, UbdConfigError } from '../../src/drivers/ubd/ubd-config.js';
import { scanPartitions } from '../../src/kernel/block/partitions.js';

const ok: [string, Partial<ReturnType<typeof parseUbdSetup> & object>][] = [
  ['0=root_fs', { index: 0, file: 'root_fs', backingFile: null, serial: null }],
  ['a=root_fs', { index: 0, file: 'root_fs' }],
  ['b=cow,back', { index: 1, file: 'cow', backingFile: 'back' }],
  ['1=cow:back:SER', { index: 1, file: 'cow', backingFile: 'back', serial: 'SER' }],
  ['0=File,,Serial', { index: 0, file: 'File', backingFile: null, serial: 'Serial' }],
  ['15r=img', { index: 15, readOnly: true }],
  ['0x2=img', { index: 2 }],
  ['010=img', { index: 8 }],
  ['p=img', { index: 15 }],
  ['0rscdt=img', { readOnly: true, sync: true, shared: true, noCow: true, noTrim: true }],
  ['0rscdtr=img', { readOnly: true }],
];

test('ubd switches UML accepts', () => {
  for (const [setup, want] of ok) {
    const got = parseUbdSetup(setup);
    assert.ok(got && got !== 'sync', setup);
    for (const [k, v] of Object.entries(want)) assert.equal((got as unknown as Record<string, unknown>)[k], v, `${setup}: ${k}`);
  }
  assert.equal(parseUbdSetup('=sync'), 'sync');
});

const bad: [string, string][] = [
  ['=img', ''],
  ['Z=img', "Couldn't parse device number"],
  ['16=img', 'Device number out of range'],
  ['q=img', 'Device number out of range'],
  ['0x=img', "Expected '=' or flag letter (r, s, c, t or d)"],
  ['0rscdtrs=img', 'Too many flags specified'],
  ['0r', "Expected '=' or flag letter (r, s, c, t or d)"],
  ['0rscdtrs', "Missing '='"],
  ['0d=cow,back', "Can't specify both 'd' and a cow file"],
];

test('ubd switches UML refuses, with its texts', () => {
  for (const [setup, why] of bad) {
    if (why === '') { assert.equal(parseUbdSetup(setup), null); continue; }
    assert.throws(() => parseUbdSetup(setup), (e: unknown) => e instanceof UbdConfigError && e.reason === why &&
      e.message === `Failed to initialize device with "${setup}" : ${why}`, setup);
  }
  assert.throws(() => parseUbdSetup('0=x', new Set([0])), /Device is already configured/);
  const all = parseUbdSwitches(new Map([['ubd0', 'a'], ['ubda', 'b'], ['ubd1s', 'c'], ['ubd', 'sync']]));
  assert.equal(all.configs.length, 2);
  assert.equal(all.errors[0]!.reason, 'Device is already configured');
  assert.equal(all.configs[0]!.sync, true, 'ubd=sync applies to every device');
});

function disk(sectors: number): Buffer {
  return Buffer.alloc(sectors * 512);
}
function reader(d: Buffer) {
  return (s: number, n: number) => d.subarray(s * 512, (s + n) * 512);
}
function entry(d: Buffer, sector: number, i: number, type: number, start: number, n: number): void {
  const o = sector * 512 + 446 + i * 16;
  d[o + 4] = type;
  d.writeUInt32LE(start, o + 8);
  d.writeUInt32LE(n, o + 12);
  d.writeUInt16LE(0xaa55, sector * 512 + 510);
}

test('MBR: primary and logical partitions (numbered from 5), extended shown as 1K', () => {
  const d = disk(4096);
  entry(d, 0, 0, 0x83, 64, 1000);
  entry(d, 0, 1, 0x05, 2048, 2000);
  entry(d, 2048, 0, 0x83, 32, 500);      // ubda5 at 2080
  entry(d, 2048, 1, 0x05, 600, 1000);    // next EBR at 2648
  entry(d, 2648, 0, 0x82, 16, 200);      // ubda6 at 2664
  assert.deepEqual(scanPartitions(reader(d), 4096), [
    { index: 1, start: 64, sectors: 1000 }, { index: 2, start: 2048, sectors: 2 },
    { index: 5, start: 2080, sectors: 500 }, { index: 6, start: 2664, sectors: 200 },
  ]);
  assert.deepEqual(scanPartitions(reader(disk(100)), 100), [], 'no signature, no table');
});

test('GPT behind a protective MBR', () => {
  const d = disk(4096);
  entry(d, 0, 0, 0xee, 1, 4095);
  d.write('EFI PART', 512, 'latin1');
  d.writeBigUInt64LE(2n, 512 + 72);
  d.writeUInt32LE(128, 512 + 80);
  d.writeUInt32LE(128, 512 + 84);
  const e = (i: number, first: number, last: number) => {
    const o = 1024 + i * 128;
    d.fill(0xaa, o, o + 16);
    d.writeBigUInt64LE(BigInt(first), o + 32);
    d.writeBigUInt64LE(BigInt(last), o + 40);
  };
  e(0, 2048, 3071);
  e(2, 3072, 4000);
  assert.deepEqual(scanPartitions(reader(d), 4096), [{ index: 1, start: 2048, sectors: 1024 }, { index: 3, start: 3072, sectors: 929 }]);
});
