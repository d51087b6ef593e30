// Raw datagrams against tuml's mconsole server: malformed packets get UML's exact replies
// (recorded from Debian's UML 6.1), and a client that floods 1,000 requests without reading
// neither hangs the server nor loses replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { UnixDgramSocket, sockaddrAbstract, sockaddrUn } from '../../src/host/unix-dgram.js';
import { decodeReply, encodeRequest } from '../../src/drivers/mconsole/protocol.js';
import { fakeMachine, recvWithin, sendWaiting, UML_VERSION } from './mconsole-fake.js';
import { RAW_CASES } from './mconsole-raw-cases.js';

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
