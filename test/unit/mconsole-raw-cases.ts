// Raw request datagrams and the replies Debian's UML 6.1 gave them (shared by the raw tests).
import { encodeReply, REQUEST_SIZE, V0_REPLY } from '../../src/drivers/mconsole/protocol.js';
import { UML_VERSION } from './mconsole-fake.js';

export function header(magic: number, version: number, len: number, data = ''): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(magic, 0);
  b.writeUInt32LE(version, 4);
  b.writeUInt32LE(len, 8);
  return Buffer.concat([b, Buffer.from(data)]);
}
function full(p: Buffer): Buffer {
  return Buffer.concat([p, Buffer.alloc(REQUEST_SIZE - p.length)]);
}
const reply = (text: string, err = 0, more = false) => encodeReply(text, err, more);
const V = reply(UML_VERSION);

/**
 * [name, packet, expected datagrams]: the sequence and the answers of Debian's UML 6.1 (the
 * stale-buffer cases depend on the packets before them, as in UML's static request struct).
 */
export const RAW_CASES: [string, Buffer, Buffer[]][] = [
  ['bad magic', full(header(0x12345678, 2, 7, 'version')), [Buffer.from(V0_REPLY)]],
  ['version 1 still served', full(header(0xcafebabe, 1, 7, 'version')), [...reply('This driver only supports version 2 clients', 1), ...V]],
  ['version 3 unknown', full(header(0xcafebabe, 3, 3, 'xyz')), [...reply('This driver only supports version 2 clients', 1), ...reply('Unknown command', 1)]],
  ['len 512', full(header(0xcafebabe, 2, 512, 'version')), reply('Request too large', 1)],
  ['len 511', full(header(0xcafebabe, 2, 511, 'version')), V],
  ['header only (stale data)', header(0xcafebabe, 2, 7), V],
  ['13 bytes', header(0xcafebabe, 2, 7, 'v'), V],
  ['not padded', header(0xcafebabe, 2, 7, 'version'), V],
  ['empty packet', Buffer.alloc(0), V],
  ['bare text', Buffer.from('help me'), [Buffer.from(V0_REPLY)]],
  ['log without text', full(header(0xcafebabe, 2, 3, 'log')), reply('')],
  ['proc loadavg', full(header(0xcafebabe, 2, 12, 'proc loadavg')), [...reply('\n', 0, true), ...reply('0.00 0.00 0.00 1/31 449\n', 0, true), ...reply('')]],
  ['remove mem', full(header(0xcafebabe, 2, 10, 'remove mem')), reply("Memory doesn't support the remove operation", -16)],
];

