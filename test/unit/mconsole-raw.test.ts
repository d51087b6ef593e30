// Raw datagrams against tuml's mconsole server: malformed packets get UML's exact replies
// (recorded from Debian's UML 6.1), and a client that floods 1,000 requests without reading
// neither hangs the server nor loses replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { UnixDgramSocket, sockaddrAbstract, sockaddrUn } from '../../src/host/unix-dgram.js';
import { decodeReply, encodeReply, encodeRequest, REQUEST_SIZE, V0_REPLY } from '../../src/drivers/mconsole/protocol.js';
import { fakeMachine, recvWithin, sendWaiting, UML_VERSION } from './mconsole-fake.js';

function header(magic: number, version: number, len: number, data = ''): Buffer {
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

let dir: string;
let server: MconsoleServer;
let to: Buffer;

before(() => {
  dir = mkdtempSync(`${tmpdir()}/mcr-`);
  server = MconsoleServer.listen(`${dir}/mconsole`, fakeMachine());
  to = sockaddrUn(`${dir}/mconsole`);
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function exchange(sock: UnixDgramSocket, packet: Buffer): Promise<Buffer[]> {
  await sendWaiting(sock, packet, to);
  const out: Buffer[] = [];
  for (let d = await recvWithin(sock, 200); d; d = await recvWithin(sock, 30)) out.push(d);
  return out;
}

test('malformed packets get UML replies, byte for byte', async () => {
  const sock = UnixDgramSocket.open(4096);
  sock.bind(sockaddrAbstract(`mcr-${process.pid}-a`));
  try {
    for (const [name, packet, expected] of RAW_CASES) {
      assert.deepEqual((await exchange(sock, packet)).map((b) => b.toString('hex')), expected.map((b) => b.toString('hex')), name);
    }
  } finally {
    sock.close();
  }
});

test('1,000 requests without reading: the server keeps answering, and no reply is lost', async () => {
  const flooder = UnixDgramSocket.open(4096);
  flooder.bind(sockaddrAbstract(`mcr-${process.pid}-flood`));
  const other = UnixDgramSocket.open(4096);
  other.bind(sockaddrAbstract(`mcr-${process.pid}-other`));
  try {
    for (let i = 0; i < 1000; i++) await sendWaiting(flooder, encodeRequest(i % 2 ? 'version' : 'proc loadavg'), to);
    // Another client is answered at once while the flooder's replies wait.
    const t0 = Date.now();
    const got = await exchange(other, encodeRequest('version'));
    assert.deepEqual(got.map((b) => decodeReply(b).text), [UML_VERSION]);
    assert.ok(Date.now() - t0 < 1000);
    // The flooder now reads everything: 500 version replies + 500 three-packet proc replies.
    let n = 0;
    for (let d = await recvWithin(flooder, 500); d; d = await recvWithin(flooder, 200)) n++;
    assert.equal(n, 500 + 500 * 3);
  } finally {
    flooder.close();
    other.close();
  }
});

test('a client that disappears with replies queued is forgotten', async () => {
  const gone = UnixDgramSocket.open(4096);
  gone.bind(sockaddrAbstract(`mcr-${process.pid}-gone`));
  for (let i = 0; i < 50; i++) await sendWaiting(gone, encodeRequest('help'), to);
  gone.close();
  const sock = UnixDgramSocket.open(4096);
  sock.bind(sockaddrAbstract(`mcr-${process.pid}-after`));
  try {
    assert.deepEqual((await exchange(sock, encodeRequest('version'))).map((b) => decodeReply(b).text), [UML_VERSION]);
  } finally {
    sock.close();
  }
});
