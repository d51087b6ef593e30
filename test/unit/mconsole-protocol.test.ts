// mconsole framing: chunking as mconsole_reply_len() does it, requests as uml_mconsole's format_cmd().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReply, encodeReply, encodeRequest, encodeNotify, decodeNotify, REQUEST_SIZE } from '../../src/drivers/mconsole/protocol.js';
import { findCommand, memparse, ubdId, lineId } from '../../src/drivers/mconsole/commands.js';

test('replies: 511-byte chunks with their NUL, err on the first, more on all but the last', () => {
  const empty = encodeReply('', 0, false);
  assert.deepEqual(empty.map((p) => p.toString('hex')), ['000000000000000001000000' + '00']);
  const one = encodeReply('a'.repeat(511), 1, false);
  assert.equal(one.length, 1);
  assert.equal(one[0].length, 524);
  const two = encodeReply('a'.repeat(512), -19, true);
  assert.deepEqual(two.map((p) => [p.length, p.readUInt32LE(0), p.readUInt32LE(4), p.readUInt32LE(8)]), [[524, 4294967277, 1, 512], [14, 0, 1, 2]]);
  assert.deepEqual(decodeReply(two[1]), { err: 0, more: true, text: 'a' });
});

test('requests: the full 524-byte struct, len capped at 511', () => {
  const r = encodeRequest('version');
  assert.equal(r.length, REQUEST_SIZE);
  assert.deepEqual([r.readUInt32LE(0), r.readUInt32LE(4), r.readUInt32LE(8)], [0xcafebabe, 2, 7]);
  assert.equal(encodeRequest('x'.repeat(600)).readUInt32LE(8), 511);
});

test('notify packets: 16-byte header, data truncated to 512', () => {
  const p = encodeNotify(3, Buffer.alloc(600, 1));
  assert.equal(p.length, 16 + 512);
  assert.equal(decodeNotify(p)!.data.length, 512);
});

test('prefix matching and unit parsing as UML does them', () => {
  assert.equal(findCommand('versionXYZ')?.name, 'version');
  assert.equal(findCommand('hel'), undefined);
  assert.equal(findCommand('gone')?.name, 'go');
  assert.deepEqual(memparse('64M'), { value: 64 << 20, end: 3 });
  assert.deepEqual(memparse('0x10k'), { value: 16384, end: 5 });
  assert.equal(ubdId('b').n, 1);
  assert.equal(ubdId('').n, -1);
  assert.equal(lineId('9', 64).n, 9);
  assert.equal(lineId('9x', 64).n, -1);
});
