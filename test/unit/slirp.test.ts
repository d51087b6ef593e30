// The user-mode network without a guest: a fake guest puts hand-built frames into the slirp
// transport and reads what comes back — ARP and ping for the gateway, DHCP leases, DNS
// answers from the host's resolver, TCP refused and proxied to a host server, restrict=on,
// and the ethN=slirp option syntax.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { EthConfigError, parseEthSwitch } from '../../src/drivers/net/eth-config.js';
import {
  BROADCAST_MAC, ETH_HLEN, ETH_P_ARP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, buildIpv4Frame, fillIcmpChecksum,
  finish16, ipToString, parseIp, parseIpv4, sum16, transportChecksumOk, writeUdp,
} from '../../src/drivers/net/slirp/packet.js';
import { parseSlirpOptions, slirpDefaults } from '../../src/drivers/net/slirp/options.js';
import { SlirpTransport } from '../../src/drivers/net/slirp/slirp-transport.js';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../../src/drivers/net/slirp/tcp-endpoint.js';

const GUEST_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x15]);
const GUEST = parseIp('10.0.2.15')!;
const GW = parseIp('10.0.2.2')!;
const DNS = parseIp('10.0.2.3')!;

/** A fake guest: frames in, parsed IPv4 packets out. */
class Guest {
  readonly frames: Buffer[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly t: SlirpTransport, readonly mac = GUEST_MAC) {
    t.onFrame((f) => {
      this.frames.push(f);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The next frame matching `pred` (earlier non-matching ones are dropped). */
  async next(pred: (f: Buffer) => boolean, ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(0, i + 1)[i]!;
      if (Date.now() > deadline) throw new Error('no such frame');
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  sendIp(src: number, dst: number, proto: number, body: Buffer, dstMac = BROADCAST_MAC): void {
    this.t.send(buildIpv4Frame(dstMac, this.mac, src, dst, proto, body.length, (f, at) => {
      body.copy(f, at);
      if (proto === IPPROTO_ICMP) fillIcmpChecksum(f, at, at + body.length);
    }));
  }

  sendUdp(src: number, sport: number, dst: number, dport: number, data: Buffer): void {
    this.t.send(buildIpv4Frame(BROADCAST_MAC, this.mac, src, dst, IPPROTO_UDP, 8 + data.length, (f, at) => writeUdp(f, at, sport, dport, data)));
  }

  sendTcp(sport: number, dst: number, dport: number, seq: number, ack: number, flags: number, data = Buffer.alloc(0), opts = Buffer.alloc(0)): void {
    const h = 20 + opts.length;
    this.t.send(buildIpv4Frame(BROADCAST_MAC, this.mac, GUEST, dst, IPPROTO_TCP, h + data.length, (f, at) => {
      f.writeUInt16BE(sport, at);
      f.writeUInt16BE(dport, at + 2);
      f.writeUInt32BE(seq >>> 0, at + 4);
      f.writeUInt32BE(ack >>> 0, at + 8);
      f[at + 12] = (h / 4) << 4;
      f[at + 13] = flags;
      f.writeUInt16BE(65535, at + 14);
      f.writeUInt32BE(0, at + 16);
      opts.copy(f, at + 20);
      data.copy(f, at + h);
    }));
  }
}

const ip = (f: Buffer) => parseIpv4(f.subarray(ETH_HLEN));
const isProto = (proto: number) => (f: Buffer): boolean => f.readUInt16BE(12) === 0x0800 && ip(f)?.proto === proto;

function dhcpMessage(type: number, mac: Buffer, extra: number[] = []): Buffer {
  const b = Buffer.alloc(300);
  b[0] = 1; b[1] = 1; b[2] = 6;
  b.writeUInt32BE(0x12345678, 4);
  b.writeUInt16BE(0x8000, 10);
  mac.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  Buffer.from([53, 1, type, ...extra, 255]).copy(b, 240);
  return b;
}

function dhcpOptions(b: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (let i = 240; i < b.length && b[i] !== 255;) {
    if (b[i] === 0) { i++; continue; }
    m.set(b[i]!, b.subarray(i + 2, i + 2 + b[i + 1]!));
    i += 2 + b[i + 1]!;
  }
  return m;
}

async function withSlirp(spec: string[], f: (g: Guest) => Promise<void>): Promise<void> {
  const t = await SlirpTransport.open(parseSlirpOptions(spec));
  try {
    await f(new Guest(t));
  } finally {
    t.close();
  }
}

describe('slirp options', () => {
  test('defaults are QEMU\'s', () => {
    const o = slirpDefaults();
    assert.deepEqual([o.network, o.gateway, o.dns, o.dhcpStart].map(ipToString), ['10.0.2.0', '10.0.2.2', '10.0.2.3', '10.0.2.15']);
  });
  test('eth0=slirp,<mac>,options through the ethN= parser', () => {
    const c = parseEthSwitch('eth0=slirp,02:00:00:00:00:15,net=192.168.76.0/24,hostfwd=tcp::8022-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.9:53');
    assert.equal(c.transport.name, 'slirp');
    assert.equal(c.mac.toString('hex'), '020000000015');
    if (c.transport.name !== 'slirp') return;
    const o = c.transport.options;
    assert.equal(ipToString(o.gateway), '192.168.76.2');
    assert.equal(ipToString(o.dns), '192.168.76.3');
    assert.deepEqual(o.forwards.map((f) => [f.proto, f.hostAddr, f.hostPort, ipToString(f.guestAddr), f.guestPort]),
      [['tcp', '127.0.0.1', 8022, '192.168.76.15', 22], ['udp', '127.0.0.1', 5353, '10.0.2.9', 53]]);
  });
  test('bad options are refused with the option named', () => {
    for (const [spec, re] of [
      ['eth0=slirp,,hostfwd=tcp:127.0.0.1:x-:22', /Bad hostfwd host port : 'x'/],
      ['eth0=slirp,,hostfwd=sctp::1-:2', /Bad hostfwd/],
      ['eth0=slirp,,frobnicate=1', /Unknown option : 'frobnicate'/],
      ['eth0=slirp,,net=10.0.2.0/24,host=10.9.9.9', /outside net/],
      ['eth0=slirp,,restrict', /want key=value/],
    ] as const) assert.throws(() => parseEthSwitch(spec), (e: unknown) => e instanceof EthConfigError && re.test(e.message), spec);
  });
});

describe('slirp gateway', { timeout: 20_000 }, () => {
  test('answers ARP for the gateway and the DNS address', () => withSlirp([], async (g) => {
    for (const target of [GW, DNS]) {
      const r = Buffer.alloc(ETH_HLEN + 28);
      BROADCAST_MAC.copy(r, 0);
      g.mac.copy(r, 6);
      r.writeUInt16BE(ETH_P_ARP, 12);
      Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]).copy(r, 14);
      g.mac.copy(r, 22);
      r.writeUInt32BE(GUEST, 28);
      r.writeUInt32BE(target, 38);
      g.t.send(r);
      const a = await g.next((f) => f.readUInt16BE(12) === ETH_P_ARP);
      assert.equal(a.readUInt16BE(20), 2, 'ARP reply');
      assert.deepEqual(a.subarray(0, 6), g.mac);
      assert.equal(a.subarray(22, 28).toString('hex'), `5255${target.toString(16).padStart(8, '0')}`);
      assert.equal(a.readUInt32BE(28), target);
    }
  }));

  test('answers ping to the gateway with the same id, sequence and data', () => withSlirp([], async (g) => {
    const echo = Buffer.from([8, 0, 0, 0, 0x12, 0x34, 0, 7, ...Buffer.from('ping data')]);
    g.sendIp(GUEST, GW, IPPROTO_ICMP, echo);
    const r = ip(await g.next(isProto(IPPROTO_ICMP)))!;
    assert.equal(r.src, GW);
    assert.equal(r.dst, GUEST);
    assert.equal(r.payload[0], 0, 'echo reply');
    assert.deepEqual(r.payload.subarray(4), echo.subarray(4));
    assert.equal(finish16(sum16(r.payload, 0, r.payload.length)), 0, 'ICMP checksum');
  }));
});

describe('slirp DHCP server', { timeout: 20_000 }, () => {
  test('DISCOVER/REQUEST give 10.0.2.15, gateway and DNS; a second client gets .16; a wrong address is NAKed', () => withSlirp([], async (g) => {
    const reply = async (): Promise<{ yiaddr: string; o: Map<number, Buffer> }> => {
      const f = await g.next(isProto(IPPROTO_UDP));
      const p = ip(f)!;
      assert.ok(transportChecksumOk(p.src, p.dst, IPPROTO_UDP, p.payload));
      assert.equal(p.payload.readUInt16BE(0), 67);
      assert.equal(p.payload.readUInt16BE(2), 68);
      const b = p.payload.subarray(8);
      return { yiaddr: ipToString(b.readUInt32BE(16)), o: dhcpOptions(b) };
    };
    g.sendUdp(0, 68, 0xffffffff, 67, dhcpMessage(1, g.mac));
    const offer = await reply();
    assert.equal(offer.yiaddr, '10.0.2.15');
    assert.equal(offer.o.get(53)![0], 2, 'DHCPOFFER');
    assert.deepEqual([1, 3, 6, 54].map((k) => ipToString(offer.o.get(k)!.readUInt32BE(0))), ['255.255.255.0', '10.0.2.2', '10.0.2.3', '10.0.2.2']);
    g.sendUdp(0, 68, 0xffffffff, 67, dhcpMessage(3, g.mac, [50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2]));
    const ack = await reply();
    assert.equal(ack.o.get(53)![0], 5, 'DHCPACK');
    assert.equal(ack.yiaddr, '10.0.2.15');
    assert.equal(ack.o.get(51)!.readUInt32BE(0), 86400);
    const other = Buffer.from([0x02, 0, 0, 0, 0, 0x16]);
    g.sendUdp(0, 68, 0xffffffff, 67, dhcpMessage(1, other));
    assert.equal((await reply()).yiaddr, '10.0.2.16');
    g.sendUdp(0, 68, 0xffffffff, 67, dhcpMessage(3, g.mac, [50, 4, 10, 0, 2, 99]));
    assert.equal((await reply()).o.get(53)![0], 6, 'DHCPNAK');
  }));
});

describe('slirp DNS forwarder', { timeout: 20_000 }, () => {
  const query = (id: number, name: string, type: number): Buffer => Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0, 0, type, 0, 1]),
  ]);
  test('localhost resolves as the host resolves it; a .invalid name is NXDOMAIN', () => withSlirp([], async (g) => {
    g.sendUdp(GUEST, 40000, DNS, 53, query(0x4242, 'localhost', 1));
    const a = ip(await g.next(isProto(IPPROTO_UDP)))!;
    assert.equal(a.src, DNS);
    assert.equal(a.payload.readUInt16BE(0), 53);
    const m = a.payload.subarray(8);
    assert.equal(m.readUInt16BE(0), 0x4242);
    assert.equal(m.readUInt16BE(2) & 0x800f, 0x8000, 'a response, NOERROR');
    assert.ok(m.readUInt16BE(6) >= 1, 'an answer');
    assert.equal(ipToString(m.readUInt32BE(m.length - 4)), '127.0.0.1');
    g.sendUdp(GUEST, 40001, DNS, 53, query(0x4243, 'no-such-host.invalid', 1));
    const n = ip(await g.next(isProto(IPPROTO_UDP)))!.payload.subarray(8);
    assert.equal(n.readUInt16BE(0), 0x4243);
    assert.equal(n.readUInt16BE(2) & 0xf, 3, 'NXDOMAIN');
  }));
});

describe('slirp TCP proxy', { timeout: 20_000 }, () => {
  const mss = Buffer.from([2, 4, 0x05, 0xb4]);
  const tcpOf = (f: Buffer) => { const p = ip(f)!; return { p, flags: p.payload[13]!, seq: p.payload.readUInt32BE(4), ack: p.payload.readUInt32BE(8), data: p.payload.subarray((p.payload[12]! >> 4) * 4) }; };

  test('a SYN to a closed host port, to an empty LAN address, or out of a restricted net is reset', async () => {
    const closed = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
    await withSlirp([], async (g) => {
      for (const dst of [GW, parseIp('10.0.2.77')!]) {
        g.sendTcp(40000, dst, closed, 1000, 0, TH_SYN, undefined, mss);
        const r = tcpOf(await g.next(isProto(IPPROTO_TCP)));
        assert.equal(r.flags, TH_RST | TH_ACK, ipToString(dst));
        assert.equal(r.ack, 1001);
        assert.ok(transportChecksumOk(r.p.src, r.p.dst, IPPROTO_TCP, r.p.payload));
      }
    });
    await withSlirp(['restrict=on'], async (g) => {
      g.sendTcp(40001, parseIp('192.0.2.1')!, 80, 5, 0, TH_SYN, undefined, mss);
      assert.equal(tcpOf(await g.next(isProto(IPPROTO_TCP))).flags, TH_RST | TH_ACK);
    });
  });

  test('a guest connection to the gateway reaches a host server on 127.0.0.1: data both ways and FINs', async () => {
    const got: Buffer[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => s.end('pong'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await withSlirp([], async (g) => {
        g.sendTcp(40002, GW, port, 100, 0, TH_SYN, undefined, mss);
        const sa = tcpOf(await g.next(isProto(IPPROTO_TCP)));
        assert.equal(sa.flags, TH_SYN | TH_ACK);
        assert.equal(sa.ack, 101);
        assert.equal(sa.p.src, GW);
        let their = (sa.seq + 1) >>> 0;
        g.sendTcp(40002, GW, port, 101, their, TH_ACK | TH_FIN, Buffer.from('ping'));
        let data = '';
        let fin = false;
        while (!fin) {
          const s = tcpOf(await g.next(isProto(IPPROTO_TCP)));
          assert.equal(s.flags & TH_RST, 0);
          if (s.data.length) { assert.equal(s.seq, their); data += s.data.toString(); their = (their + s.data.length) >>> 0; }
          if (s.flags & TH_FIN) { fin = true; their = (their + 1) >>> 0; }
          if (s.data.length || fin) assert.equal(s.ack, 106, 'our data and FIN are acknowledged');
        }
        g.sendTcp(40002, GW, port, 106, their, TH_ACK);
        assert.equal(data, 'pong');
        assert.equal(Buffer.concat(got).toString(), 'ping');
      });
    } finally {
      server.close();
    }
  });
});
