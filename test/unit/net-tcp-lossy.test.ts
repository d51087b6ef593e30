// TCP between two network stacks joined by an Ethernet "wire" that drops and reorders frames:
// the transfer must arrive complete and in order (retransmission, fast retransmit,
// out-of-order queueing, ARP retries). No tracee: sockets are driven directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createNetStack } from '../../src/kernel/net/inet/netns.js';
import type { NetEnv, NetStack } from '../../src/kernel/net/inet/stack.js';
import { EtherDevice } from '../../src/kernel/net/dev/ether.js';
import { TcpSocket } from '../../src/kernel/net/inet/tcp.js';
import { UdpSocket } from '../../src/kernel/net/inet/udp.js';
import { formatSockaddrIn, parseIp } from '../../src/kernel/net/inet/address.js';
import { monotonicMs } from '../../src/kernel/sched/timers.js';
import { Errno } from '../../src/kernel/errno.js';
import { O_RDWR } from '../../src/kernel/abi/fcntl.js';
import type { Task } from '../../src/kernel/task/task.js';

const task = { cred: { euid: 0, egid: 0, fsuid: 0, fsgid: 0, uid: 0, gid: 0 }, syscall: null, group: { tgid: 1 } } as unknown as Task;

const env: NetEnv = {
  timers: { add(at, fn) { const h = setTimeout(fn, Math.max(0, at - monotonicMs())); h.unref(); return () => clearTimeout(h); } },
  schedule: (fn) => setImmediate(fn),
};

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function machine(n: number): { stack: NetStack; dev: EtherDevice } {
  const stack = createNetStack(env);
  const dev = new EtherDevice('eth0', Buffer.from([0x02, 0, 0, 0, 0, n]), env);
  stack.addDevice(dev);
  stack.setUp(dev, true);
  stack.addAddress(dev, { addr: parseIp(`10.0.0.${n}`)!, prefixLen: 24, broadcast: parseIp('10.0.0.255')! });
  return { stack, dev };
}

function wire(a: EtherDevice, b: EtherDevice, loss: number, reorder: number, seed: number): { frames: number; dropped: number } {
  const rnd = prng(seed);
  const st = { frames: 0, dropped: 0 };
  const link = (from: EtherDevice, to: EtherDevice) => {
    from.output = (f) => {
      st.frames++;
      if (rnd() < loss) { st.dropped++; return; }
      const copy = Buffer.from(f);
      if (rnd() < reorder) setTimeout(() => to.receiveFrame(copy), 3);
      else setImmediate(() => to.receiveFrame(copy));
    };
  };
  link(a, b);
  link(b, a);
  return st;
}

const tick = () => new Promise((r) => setTimeout(r, 1));

function tryOp<T>(op: () => T): T | null {
  try { return op(); } catch (e) { if (e instanceof Errno && e.errno === 11) return null; throw e; }
}

async function transfer(loss: number, reorder: number, size: number): Promise<void> {
  const A = machine(1), B = machine(2);
  const st = wire(A.dev, B.dev, loss, reorder, 42);
  const srv = new TcpSocket(B.stack, O_RDWR, 0, 0);
  srv.bind(task, formatSockaddrIn(0, 7000));
  srv.listen(task, 5);
  const cli = new TcpSocket(A.stack, O_RDWR, 0, 0);
  assert.throws(() => cli.connect(task, formatSockaddrIn(parseIp('10.0.0.2')!, 7000), true), (e: Errno) => e.errno === 115);
  let conn: TcpSocket | null = null;
  for (let i = 0; i < 20000 && !conn; i++) { conn = tryOp(() => srv.accept(task, true)); if (!conn) await tick(); }
  assert.ok(conn, 'accepted');
  const data = Buffer.alloc(size);
  const rnd = prng(7);
  for (let i = 0; i < size; i++) data[i] = (rnd() * 256) | 0;
  let sent = 0;
  const got: Buffer[] = [];
  let received = 0;
  const deadline = Date.now() + 60000;
  while (received < size && Date.now() < deadline) {
    if (sent < size) {
      const n = tryOp(() => cli.sendmsg(task, { data: data.subarray(sent, Math.min(size, sent + 65536)), addr: null, rights: null, creds: null, flags: 0x4000, nonblock: true }));
      if (n) sent += n;
    }
    const r = tryOp(() => conn!.recvmsg(task, 1 << 20, 0, true));
    if (r && r.data.length) { got.push(Buffer.from(r.data)); received += r.data.length; } else await tick();
  }
  assert.equal(received, size, `received ${received} of ${size} (${st.dropped}/${st.frames} frames dropped)`);
  assert.equal(createHash('sha256').update(Buffer.concat(got)).digest('hex'), createHash('sha256').update(data).digest('hex'));
  // Orderly close both ways: the reader sees EOF.
  cli.shutdown(task, 1);
  let eof = false;
  for (let i = 0; i < 20000 && !eof; i++) {
    const r = tryOp(() => conn!.recvmsg(task, 100, 0, true));
    if (r?.eof) eof = true; else await tick();
  }
  assert.ok(eof, 'EOF after the peer shut down');
  if (loss > 0) assert.ok(st.dropped > 0 && cli.totalRetrans > 0, 'the wire dropped frames and TCP retransmitted');
  for (const s of [cli, conn!, srv]) s.unref();
}

test('TCP over a clean Ethernet wire', async () => {
  await transfer(0, 0, 1 << 20);
});

test('TCP over a wire that drops 5% and reorders 10% of frames keeps the data intact', { timeout: 90000 }, async () => {
  await transfer(0.05, 0.1, 512 << 10);
});

test('UDP across the wire, ICMP port unreachable gives ECONNREFUSED', async () => {
  const A = machine(1), B = machine(2);
  wire(A.dev, B.dev, 0, 0, 1);
  const u = new UdpSocket(B.stack, O_RDWR, 0, 0);
  u.bind(task, formatSockaddrIn(0, 9000));
  const c = new UdpSocket(A.stack, O_RDWR, 0, 0);
  c.connect(task, formatSockaddrIn(parseIp('10.0.0.2')!, 9000), false);
  c.sendmsg(task, { data: Buffer.from('hi'), addr: null, rights: null, creds: null, flags: 0, nonblock: true });
  let r = null;
  for (let i = 0; i < 2000 && !r; i++) { r = tryOp(() => u.recvmsg(task, 100, 0, true)); if (!r) await tick(); }
  assert.equal(r?.data.toString(), 'hi');
  const d = new UdpSocket(A.stack, O_RDWR, 0, 0);
  d.connect(task, formatSockaddrIn(parseIp('10.0.0.2')!, 9001), false);
  d.sendmsg(task, { data: Buffer.from('x'), addr: null, rights: null, creds: null, flags: 0, nonblock: true });
  let err = 0;
  for (let i = 0; i < 2000 && !err; i++) {
    try { d.recvmsg(task, 10, 0, true); } catch (e) { if ((e as Errno).errno !== 11) err = (e as Errno).errno; }
    if (!err) await tick();
  }
  assert.equal(err, 111);
});
