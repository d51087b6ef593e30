// tuml's uml_switch: daemon-protocol clients exchange frames through it in learning-switch
// and hub modes; the control protocol is checked byte by byte with a hand-made client.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { UnixDgramSocket } from '../../src/host/unix-dgram.js';
import { DaemonTransport } from '../../src/drivers/net/daemon.js';
import { abstractDataAddress, decodeRequest, encodeRequestV3, SWITCH_MAGIC } from '../../src/drivers/net/switch-protocol.js';
import { GC_EXPIRE_MS, UmlSwitch } from '../../src/drivers/net/uml-switch.js';
import { BROADCAST, frame, FrameQueue, mac, tempDir } from './switch-helpers.js';

const dir = tempDir('switch');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const ctlPath = (): string => path.join(dir, `s${seq++}.ctl`);

async function ports(ctl: string, n: number): Promise<{ t: DaemonTransport; q: FrameQueue }[]> {
  const out: { t: DaemonTransport; q: FrameQueue }[] = [];
  for (let i = 0; i < n; i++) {
    const t = await DaemonTransport.open({ sockType: 'unix', ctlSock: ctl });
    out.push({ t, q: new FrameQueue(t) });
  }
  return out;
}

describe('tuml switch (learning mode)', { timeout: 20_000 }, () => {
  test('broadcast floods; unicast goes only to the learned port; unknown unicast floods', async () => {
    const log: string[] = [];
    const sw = await UmlSwitch.start({ ctlPath: ctlPath(), log: (l) => log.push(l) });
    const [a, b, c] = await ports(sw.ctlPath, 3);
    try {
      assert.equal(sw.portCount, 3);
      a.t.send(frame(BROADCAST, mac(1), 'hello from a'));
      assert.equal(await b.q.nextText(), 'hello from a');
      assert.equal(await c.q.nextText(), 'hello from a');

      // a is learned: b's reply goes to a alone. The broadcast marker that follows must be
      // the next thing c sees (datagrams from the switch to c keep their order).
      b.t.send(frame(mac(1), mac(2), 'b to a'));
      b.t.send(frame(BROADCAST, mac(2), 'marker 1'));
      assert.equal(await a.q.nextText(), 'b to a');
      assert.equal(await a.q.nextText(), 'marker 1');
      assert.equal(await c.q.nextText(), 'marker 1');

      a.t.send(frame(mac(2), mac(1), 'a to b'));
      a.t.send(frame(BROADCAST, mac(1), 'marker 2'));
      assert.equal(await b.q.nextText(), 'a to b');
      assert.equal(await b.q.nextText(), 'marker 2');
      assert.equal(await c.q.nextText(), 'marker 2');

      // Nobody has used mac(9) yet: flood to everyone but the sender.
      c.t.send(frame(mac(9), mac(3), 'to nowhere'));
      assert.equal(await a.q.nextText(), 'to nowhere');
      assert.equal(await b.q.nextText(), 'to nowhere');

      // A multicast destination floods too.
      c.t.send(frame(Buffer.from([0x01, 0x00, 0x5e, 0, 0, 1]), mac(3), 'mcast'));
      assert.equal(await a.q.nextText(), 'mcast');
      assert.equal(await b.q.nextText(), 'mcast');

      assert.deepEqual([...sw.macTable()].sort(), [['02:00:00:00:00:01', 1], ['02:00:00:00:00:02', 2], ['02:00:00:00:00:03', 3]]);
      assert.equal(a.q.pending + b.q.pending + c.q.pending, 0);
      assert.ok(log.includes('New connection'));
      assert.ok(log.includes(' Addr: 02:00:00:00:00:01 New port 1'));
    } finally {
      for (const p of [a, b, c]) p.t.close();
      await sw.close();
    }
  });

  test('a host that moves is relearned; a port that leaves is forgotten', async () => {
    const log: string[] = [];
    const sw = await UmlSwitch.start({ ctlPath: ctlPath(), log: (l) => log.push(l) });
    const [a, b, c] = await ports(sw.ctlPath, 3);
    try {
      a.t.send(frame(BROADCAST, mac(1), 'a'));
      await b.q.next(); await c.q.next();
      // mac(1) now speaks from c's port.
      c.t.send(frame(BROADCAST, mac(1), 'moved'));
      await a.q.next(); await b.q.next();
      assert.ok(log.includes(' Addr: 02:00:00:00:00:01 New port 3 old port 1'));
      b.t.send(frame(mac(1), mac(2), 'to moved'));
      assert.equal(await c.q.nextText(), 'to moved');

      // c disconnects: its addresses go with it and frames to them flood again.
      c.t.close();
      await waitFor(() => sw.portCount === 2);
      assert.equal(sw.macTable().has('02:00:00:00:00:01'), false);
      b.t.send(frame(mac(1), mac(2), 'flooded'));
      assert.equal(await a.q.nextText(), 'flooded');
      assert.ok(log.includes('Disconnect'));
    } finally {
      for (const p of [a, b, c]) p.t.close();
      await sw.close();
    }
  });

  test('learned addresses expire after 100 s', async () => {
    let now = 1_000_000;
    const sw = await UmlSwitch.start({ ctlPath: ctlPath(), now: () => now });
    const [a, b, c] = await ports(sw.ctlPath, 3);
    try {
      a.t.send(frame(BROADCAST, mac(1), 'learn a'));
      await b.q.next(); await c.q.next();
      now += GC_EXPIRE_MS - 1;
      sw.gc();
      assert.equal(sw.macTable().get('02:00:00:00:00:01'), 1);
      now += 2;
      sw.gc();
      assert.equal(sw.macTable().has('02:00:00:00:00:01'), false);
      b.t.send(frame(mac(1), mac(2), 'after expiry'));
      assert.equal(await a.q.nextText(), 'after expiry');
      assert.equal(await c.q.nextText(), 'after expiry');
    } finally {
      for (const p of [a, b, c]) p.t.close();
      await sw.close();
    }
  });
});

describe('tuml switch under a burst', { timeout: 20_000 }, () => {
  test('1000 back-to-back frames all arrive, in order (the host queue holds only 10)', async () => {
    const sw = await UmlSwitch.start({ ctlPath: ctlPath() });
    const [a, b] = await ports(sw.ctlPath, 2);
    try {
      b.t.send(frame(BROADCAST, mac(2), 'learn b'));
      await a.q.next();
      for (let i = 0; i < 1000; i++) a.t.send(frame(mac(2), mac(1), `n${i}`));
      for (let i = 0; i < 1000; i++) assert.equal(await b.q.nextText(), `n${i}`);
      assert.equal(a.t.stats.txDropped, 0);
    } finally {
      a.t.close(); b.t.close();
      await sw.close();
    }
  });
});

describe('tuml switch (hub mode)', { timeout: 20_000 }, () => {
  test('every frame goes to every other port', async () => {
    const sw = await UmlSwitch.start({ ctlPath: ctlPath(), hub: true });
    const [a, b, c] = await ports(sw.ctlPath, 3);
    try {
      a.t.send(frame(BROADCAST, mac(1), 'learn me'));
      await b.q.next(); await c.q.next();
      b.t.send(frame(mac(1), mac(2), 'unicast to a'));
      assert.equal(await a.q.nextText(), 'unicast to a');
      assert.equal(await c.q.nextText(), 'unicast to a');
      assert.equal(sw.macTable().size, 0);
      assert.equal(a.q.pending + b.q.pending + c.q.pending, 0);
    } finally {
      for (const p of [a, b, c]) p.t.close();
      await sw.close();
    }
  });
});

describe('tuml switch impairment (a bad link for tests)', { timeout: 20_000 }, () => {
  test('loss drops about the asked share, reproducibly by seed', async () => {
    const run = async (): Promise<string[]> => {
      const sw = await UmlSwitch.start({ ctlPath: ctlPath(), impair: { lossPercent: 30, reorderPercent: 0, seed: 42 } });
      const [a, b] = await ports(sw.ctlPath, 2);
      try {
        for (let i = 0; i < 200; i++) a.t.send(frame(BROADCAST, mac(1), `f${i}`));
        a.t.send(frame(BROADCAST, mac(1), 'end'));
        const got: string[] = [];
        // 'end' may itself be lost; then the count shows it.
        for (;;) {
          const txt = await b.q.nextText(500).catch(() => 'timeout');
          if (txt === 'end' || txt === 'timeout') break;
          got.push(txt);
        }
        // Nothing is lost but what the impairment drops ('end' itself may be one of those).
        assert.ok(got.length + sw.impairDropped >= 200, `${got.length} + ${sw.impairDropped}`);
        return got;
      } finally {
        a.t.close(); b.t.close();
        await sw.close();
      }
    };
    const first = await run();
    assert.ok(first.length > 110 && first.length < 170, `kept ${first.length} of 200`);
    assert.deepEqual(await run(), first);
  });

  test('reordering swaps a held frame with the next one and loses nothing', async () => {
    const sw = await UmlSwitch.start({ ctlPath: ctlPath(), impair: { lossPercent: 0, reorderPercent: 100 } });
    const [a, b] = await ports(sw.ctlPath, 2);
    try {
      for (let i = 0; i < 6; i++) a.t.send(frame(BROADCAST, mac(1), `f${i}`));
      const got: string[] = [];
      for (let i = 0; i < 6; i++) got.push(await b.q.nextText());
      assert.deepEqual(got, ['f1', 'f0', 'f3', 'f2', 'f5', 'f4']);
      // A held frame with nothing behind it still goes out.
      a.t.send(frame(BROADCAST, mac(1), 'last'));
      assert.equal(await b.q.nextText(), 'last');
    } finally {
      a.t.close(); b.t.close();
      await sw.close();
    }
  });
});

describe('uml_switch control protocol', { timeout: 20_000 }, () => {
  test('request_v3 encoding is 124 bytes: magic, version 3, REQ_NEW_CONTROL, sockaddr_un', () => {
    const addr = abstractDataAddress(0x1234, 0x56789);
    const r = encodeRequestV3(addr);
    assert.equal(r.length, 124);
    assert.equal(r.readUInt32LE(0), SWITCH_MAGIC);
    assert.equal(r.readUInt32LE(4), 3);
    assert.equal(r.readUInt32LE(8), 0);
    assert.deepEqual(r.subarray(12, 122), addr);
    // sun_family AF_UNIX, sun_path = {char zero; int pid; int usecs;}
    assert.equal(addr.readUInt16LE(0), 1);
    assert.equal(addr[2], 0);
    assert.equal(addr.readInt32LE(6), 0x1234);
    assert.equal(addr.readInt32LE(10), 0x56789);
    const d = decodeRequest(r);
    assert.equal(d.kind, 'port');
    assert.equal(decodeRequest(r.subarray(0, 50)).kind, 'incomplete');
    const v2 = Buffer.from(r); v2.writeUInt32LE(2, 4);
    assert.deepEqual(decodeRequest(v2), { kind: 'error', message: 'Version 2 is not supported' });
    // A v0 request (no magic): {type, mac[6], sockaddr_un}
    const v0 = Buffer.alloc(120); addr.copy(v0, 10);
    const d0 = decodeRequest(v0);
    assert.ok(d0.kind === 'port' && d0.version === 0 && d0.dataAddr.equals(addr));
  });

  test('a raw client sent in pieces gets a 110-byte abstract address and can talk', async () => {
    const sw = await UmlSwitch.start({ ctlPath: ctlPath() });
    const data = UnixDgramSocket.open();
    const ctl = net.createConnection({ path: sw.ctlPath });
    await new Promise((r) => ctl.once('connect', r));
    const peer = await DaemonTransport.open({ sockType: 'unix', ctlSock: sw.ctlPath });
    const pq = new FrameQueue(peer);
    try {
      const me = abstractDataAddress(process.pid, 999_999);
      data.bind(me);
      const req = encodeRequestV3(me);
      // The request may arrive in several reads; the switch must wait for all of it.
      ctl.write(req.subarray(0, 7));
      await new Promise((r) => setTimeout(r, 20));
      ctl.write(req.subarray(7));
      const reply = await new Promise<Buffer>((resolve) => {
        let got = Buffer.alloc(0);
        ctl.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); if (got.length >= 110) resolve(got); });
      });
      assert.equal(reply.length, 110);
      assert.equal(reply.readUInt16LE(0), 1);
      assert.equal(reply[2], 0, 'abstract name');
      assert.equal(reply.readInt32LE(6), process.pid);
      // Frames both ways between the raw client and a DaemonTransport.
      assert.equal(data.sendTo(frame(BROADCAST, mac(5), 'raw hello'), reply), 0);
      assert.equal(await pq.nextText(), 'raw hello');
      peer.send(frame(mac(5), mac(6), 'to raw'));
      const got = await new Promise<Buffer>((resolve) => data.onDatagram((d) => resolve(d.data)));
      assert.equal(got.subarray(14).toString(), 'to raw');
    } finally {
      data.close();
      ctl.destroy();
      peer.close();
      await sw.close();
    }
  });

  test('a stale control socket is replaced; a live one is refused; close removes it', async () => {
    const p = ctlPath();
    fs.writeFileSync(p, '');
    const sw = await UmlSwitch.start({ ctlPath: p });
    await assert.rejects(UmlSwitch.start({ ctlPath: p }), /has another server attached to it/);
    await sw.close();
    assert.equal(fs.existsSync(p), false);
  });

  test('the daemon transport reports a missing switch as UML does', async () => {
    await assert.rejects(DaemonTransport.open({ sockType: 'unix', ctlSock: path.join(dir, 'nothing.ctl') }),
      /daemon_open : control connect failed, errno = 2/);
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
