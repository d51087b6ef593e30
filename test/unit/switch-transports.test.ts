// The other host transports and the ethN= parser: mcast over the loopback interface (TTL 0,
// nothing leaves the host), ucast on 127.0.0.1, pcap capture read back by tcpdump, and
// UML's ethN= syntax and MAC rules, table-driven.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { EthConfigError, openEthTransport, parseEthCaptureSwitch, parseEthSwitch, setupEtherAddr, type LogLine } from '../../src/drivers/net/eth-config.js';
import { McastTransport } from '../../src/drivers/net/mcast.js';
import { CaptureTransport, PcapWriter, readPcap } from '../../src/drivers/net/pcap.js';
import { splitIfSpec } from '../../src/drivers/net/transports.js';
import { UcastTransport } from '../../src/drivers/net/ucast.js';
import { BROADCAST, frame, FrameQueue, mac, payload, tempDir } from './switch-helpers.js';

const dir = tempDir('swtr');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Two currently free UDP ports on 127.0.0.1. */
async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = socks.map((s) => s.address().port);
  for (const s of socks) s.close();
  return ports;
}

describe('mcast transport', { timeout: 20_000 }, () => {
  test('two members on 239.255.x.y over lo with TTL 0 hear each other', async () => {
    const [port] = await freePorts(1);
    const group = `239.255.${1 + (process.pid % 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const opts = { addr: group, port, ttl: 0, iface: '127.0.0.1' };
    const a = await McastTransport.open(opts);
    const b = await McastTransport.open(opts);
    try {
      const qa = new FrameQueue(a);
      const qb = new FrameQueue(b);
      a.send(frame(BROADCAST, mac(1), 'from a'));
      assert.equal(await qb.nextText(), 'from a');
      // IP_MULTICAST_LOOP: a member hears itself too, as a UML on mcast does.
      assert.equal(await qa.nextText(), 'from a');
      b.send(frame(mac(1), mac(2), 'from b'));
      assert.equal(await qa.nextText(), 'from b');
      assert.equal(a.describe(), `mcast,,${group},${port},0`);
      assert.equal(a.info(), `mcast backend multicast address: ${group}:${port}, TTL:0`);
      assert.equal(a.stats.txFrames, 1);
      assert.equal(b.stats.rxFrames, 2);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('ucast transport', { timeout: 20_000 }, () => {
  test('a point-to-point pair on 127.0.0.1: each UDP payload is exactly one frame', async () => {
    const [pa, pb] = await freePorts(2);
    const a = await UcastTransport.open({ addr: '127.0.0.1', listenPort: pa, remotePort: pb, bindAddress: '127.0.0.1' });
    const b = await UcastTransport.open({ addr: '127.0.0.1', listenPort: pb, remotePort: pa, bindAddress: '127.0.0.1' });
    // A plain UDP socket sees the wire format: no header, no trailer.
    const raw = await new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const qa = new FrameQueue(a);
      const qb = new FrameQueue(b);
      const f = frame(mac(2), mac(1), 'ping');
      a.send(f);
      assert.deepEqual(await qb.next(), f);
      b.send(frame(mac(1), mac(2), 'pong'));
      assert.equal(await qa.nextText(), 'pong');
      raw.send(f, pa, '127.0.0.1');
      assert.deepEqual(await qa.next(), f);
      assert.equal(a.info(), `ucast backend address: 127.0.0.1:${pb} listen port: ${pa}`);
    } finally {
      a.close();
      b.close();
      raw.close();
    }
  });
});

describe('pcap capture', { timeout: 20_000 }, () => {
  test('every frame sent and received is recorded in order; tcpdump reads the file', async (t) => {
    const [pa, pb] = await freePorts(2);
    const file = path.join(dir, 'eth0.pcap');
    const cfg = parseEthSwitch(`eth0=ucast,02:00:00:00:00:01,127.0.0.1,${pa},${pb}`);
    (cfg.transport.options as { bindAddress?: string }).bindAddress = '127.0.0.1';
    const a = await openEthTransport(cfg, file);
    assert.ok(a instanceof CaptureTransport);
    const b = await UcastTransport.open({ addr: '127.0.0.1', listenPort: pb, remotePort: pa, bindAddress: '127.0.0.1' });
    try {
      const qa = new FrameQueue(a);
      const qb = new FrameQueue(b);
      const sent = [frame(BROADCAST, mac(1), 'one'), frame(mac(2), mac(1), 'two')];
      a.send(sent[0]);
      assert.equal(await qb.nextText(), 'one');
      b.send(frame(mac(1), mac(2), 'three'));
      assert.equal(await qa.nextText(), 'three');
      a.send(sent[1]);
      assert.equal(await qb.nextText(), 'two');
    } finally {
      a.close();
      b.close();
    }
    const pcap = readPcap(fs.readFileSync(file));
    assert.equal(pcap.linktype, 1);
    assert.deepEqual(pcap.records.map((r) => payload(r.data)), ['one', 'three', 'two']);
    assert.ok(pcap.records.every((r) => r.origLen === r.data.length && r.tsSec > 1_600_000_000));

    const td = spawnSync('tcpdump', ['-nn', '-e', '-r', file], { encoding: 'utf8' });
    if (td.error) {
      t.diagnostic('tcpdump is not installed: only the pcap parser above checked the file');
      return;
    }
    assert.equal(td.status, 0, td.stderr);
    // Unknown ethertypes get a hex dump under their line; keep the frame lines.
    const lines = td.stdout.split('\n').filter((l) => /^\d\d:/.test(l));
    assert.equal(lines.length, 3);
    assert.match(lines[0], /02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype Unknown \(0x88b5\), length 17/);
    assert.match(lines[1], /02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype Unknown \(0x88b5\), length 19/);
  });

  test('snaplen truncates the captured bytes but keeps the original length', () => {
    const file = path.join(dir, 'snap.pcap');
    const w = new PcapWriter(file, 20);
    w.write(Buffer.alloc(100, 7), 1_700_000_000_123_456);
    w.close();
    const p = readPcap(fs.readFileSync(file));
    assert.equal(p.snaplen, 20);
    assert.deepEqual(p.records.map((r) => [r.tsSec, r.tsUsec, r.origLen, r.data.length]), [[1_700_000_000, 123_456, 100, 20]]);
  });
});

describe('ethN= parsing (UML net_kern.c rules)', () => {
  const fixed = (n: number): Buffer => Buffer.from([0xff, 0x11, 0x22, 0x33, 0x44, 0x55].slice(0, n));

  test('split_if_spec: empty fields keep defaults; the rest after the last field', () => {
    assert.deepEqual(splitIfSpec('a,,c', 3), { fields: ['a', undefined, 'c'], rest: null });
    assert.deepEqual(splitIfSpec('a,b,c,d,e', 3), { fields: ['a', 'b', 'c'], rest: 'd,e' });
    assert.deepEqual(splitIfSpec('a,b,c,', 3), { fields: ['a', 'b', 'c'], rest: '' });
    assert.deepEqual(splitIfSpec('', 2), { fields: [undefined, undefined], rest: null });
    assert.deepEqual(splitIfSpec(',x', 2), { fields: [undefined, 'x'], rest: null });
  });

  const cases: [string, object][] = [
    ['eth0=daemon', { index: 0, transport: { name: 'daemon', options: { sockType: 'unix', ctlSock: '/tmp/uml.ctl' } } }],
    ['eth1=daemon,fe:fd:01:02:03:04,unix,/tmp/x.ctl', { index: 1, transport: { name: 'daemon', options: { sockType: 'unix', ctlSock: '/tmp/x.ctl' } }, mac: 'fe:fd:01:02:03:04' }],
    ['eth0=daemon,,unix,/tmp/x.ctl,/tmp/data', { log: ['4 daemon_setup : Ignoring data socket specification'] }],
    ['eth2=mcast', { transport: { name: 'mcast', options: { addr: '239.192.168.1', port: 1102, ttl: 1 } }, log: ['6 Configured mcast device: 239.192.168.1:1102-1'] }],
    ['eth0=mcast,,239.1.2.3,1234,0', { transport: { name: 'mcast', options: { addr: '239.1.2.3', port: 1234, ttl: 0 } } }],
    ['eth0=ucast,,10.0.0.1,5000,6000', { transport: { name: 'ucast', options: { addr: '10.0.0.1', listenPort: 5000, remotePort: 6000 } }, log: ['6 Configured ucast device: :5000 -> 10.0.0.1:6000'] }],
    ['eth0x10=ucast', { index: 16 }],
    ['eth010=ucast', { index: 8 }],
  ];
  for (const [arg, want] of cases) {
    test(arg, () => {
      const got = parseEthSwitch(arg, new Set(), fixed);
      const view = {
        index: got.index,
        transport: got.transport,
        mac: got.mac.toString('hex').replace(/(..)(?!$)/g, '$1:'),
        log: got.log.filter((l) => !l.text.startsWith('Choosing')).map((l) => `${l.level} ${l.text}`),
      };
      for (const [k, v] of Object.entries(want)) assert.deepEqual(view[k as keyof typeof view], v, k);
    });
  }

  const errors: [string, string][] = [
    ['eth0=mcast,,,abc', "mcast_setup - Bad port : 'abc'"],
    ['eth0=mcast,,,1,x', "mcast_setup - Bad ttl : 'x'"],
    ['eth0=mcast,,,1,2,3', "mcast_setup - Extra garbage on specification : '3'"],
    ['eth0=ucast,,,1,2,3', "ucast_setup - Extra garbage on specification : '3'"],
    ['eth0=ucast,,,p', "ucast_setup - Bad listen port : 'p'"],
    ['eth0=ucast,,,1,q', "ucast_setup - Bad remote port : 'q'"],
    ['eth0=foo', 'No match for configured backends'],
    ['eth0=daemonx', 'No match for configured backends'],
    ['ethx=daemon', "eth_setup - Couldn't parse 'x=daemon' : Bad device number"],
    ['eth0daemon', "eth_setup - Couldn't parse '0daemon' : Expected '=' after device number"],
  ];
  for (const [arg, msg] of errors) {
    test(`${arg} is refused`, () => {
      assert.throws(() => parseEthSwitch(arg), (e: unknown) => e instanceof EthConfigError && e.message === msg);
    });
  }

  test('a device number already configured is refused', () => {
    assert.throws(() => parseEthSwitch('eth3=daemon', new Set([3])), /Device already configured/);
  });

  test('MAC rules: random, kept, warned, refused', () => {
    const run = (text: string | undefined): { mac: string; random: boolean; log: string[] } => {
      const log: LogLine[] = [];
      const r = setupEtherAddr('eth0', text, log, () => Buffer.from([0xff, 1, 2, 3, 4, 5]));
      return { mac: r.mac.toString('hex'), random: r.random, log: log.map((l) => `${l.level} ${l.text}`) };
    };
    const rnd = '6 Choosing a random ethernet address for device eth0';
    // eth_random_addr clears the multicast bit and sets the local bit of random bytes.
    assert.deepEqual(run(undefined), { mac: 'fe0102030405', random: true, log: [rnd] });
    assert.deepEqual(run('fe:fd:0:1:2:3'), { mac: 'fefd00010203', random: false, log: [] });
    assert.deepEqual(run('0xfe:fd:0:1:2:3'), { mac: 'fefd00010203', random: false, log: [] });
    assert.deepEqual(run('00:11:22:33:44:55'), { mac: '001122334455', random: false, log: [
      '4 Warning: Assigning a globally valid ethernet address to a device',
      '4 You should set the 2nd rightmost bit in the first byte of the MAC,',
      '4 i.e. 02:11:22:33:44:55'] });
    assert.deepEqual(run('01:00:5e:00:00:01'), { mac: 'fe0102030405', random: true, log: [
      '3 Attempt to assign a multicast ethernet address to a device disallowed', rnd] });
    assert.deepEqual(run('00:00:00:00:00:00'), { mac: 'fe0102030405', random: true, log: [
      '3 Attempt to assign an invalid ethernet address to a device disallowed', rnd] });
    assert.deepEqual(run('fe:fd:zz'), { mac: 'fe0102030405', random: true, log: [
      "3 setup_etheraddr: failed to parse 'fe:fd:zz' as an ethernet address", rnd] });
    assert.deepEqual(run('fe:fd:1:2:3'), { mac: 'fe0102030405', random: true, log: [
      "3 setup_etheraddr: failed to parse 'fe:fd:1:2:3' as an ethernet address", rnd] });
  });

  test('capture switch eth<N>.pcap=<file>', () => {
    assert.deepEqual(parseEthCaptureSwitch('eth2.pcap=/tmp/x.pcap'), { index: 2, file: '/tmp/x.pcap' });
    assert.equal(parseEthCaptureSwitch('eth2=daemon'), null);
  });
});
