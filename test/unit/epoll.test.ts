// epoll, poll/select, eventfd and timerfd through their handlers with fake tasks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeTask, call, rerun, isBlock, type FakeTask } from './ipc-helpers.js';
import { epollCalls as E } from '../../src/kernel/syscalls/sys_epoll.js';
import { pollCalls as P } from '../../src/kernel/syscalls/sys_poll.js';
import { eventfdCalls as V } from '../../src/kernel/syscalls/sys_eventfd.js';
import { pipeCalls } from '../../src/kernel/syscalls/sys_pipe.js';
import {
  EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, EPOLLIN, EPOLLOUT, EPOLLET, EPOLLONESHOT, EPOLLHUP,
  EPOLLEXCLUSIVE, EFD_SEMAPHORE, EFD_NONBLOCK, CLOCK_MONOTONIC, CLOCK_REALTIME, TFD_NONBLOCK, TFD_TIMER_ABSTIME,
} from '../../src/kernel/abi/event.js';
import { EEXIST, ENOENT, EINVAL, ELOOP, EAGAIN, EBADF } from '../../src/kernel/abi/errno.js';
import { POLLIN, POLLOUT, POLLNVAL, POLLHUP } from '../../src/kernel/fs/file.js';
import { Block } from '../../src/kernel/task/task.js';
import { realtimeNowNs } from '../../src/kernel/event/timerfd.js';

function pipe(t: FakeTask): [number, number] {
  const a = t.raw.alloc(8);
  call(pipeCalls.pipe2, t, [a, 0]);
  const b = t.raw.bytes(a, 8);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}
function write(t: FakeTask, fd: number, s: string): void {
  assert.equal(t.fds.get(fd).write(t, Buffer.from(s)), s.length);
}
function read(t: FakeTask, fd: number, n: number): string {
  return t.fds.get(fd).read(t, n).toString();
}
function ctl(t: FakeTask, ep: number, op: number, fd: number, events: number, data = BigInt(fd)): unknown {
  const ev = Buffer.alloc(12);
  ev.writeUInt32LE(events >>> 0, 0);
  ev.writeBigUInt64LE(data, 4);
  return call(E.epoll_ctl, t, [ep, op, fd, t.raw.alloc(ev)]);
}
function wait(t: FakeTask, ep: number, max = 8, timeout = 0): { events: number; data: number }[] | Block | number {
  const buf = t.raw.alloc(12 * max);
  const r = call(E.epoll_wait, t, [ep, buf, max, timeout]);
  if (r instanceof Block) return r;
  if (typeof r !== 'number' || r < 0) return r as number;
  const b = t.raw.bytes(buf, 12 * r);
  return Array.from({ length: r }, (_, i) => ({ events: b.readUInt32LE(i * 12), data: Number(b.readBigUInt64LE(i * 12 + 4)) }));
}

test('epoll_ctl errors', () => {
  const t = fakeTask();
  assert.equal(call(E.epoll_create, t, [0]), -EINVAL);
  assert.equal(call(E.epoll_create1, t, [1]), -EINVAL);
  const ep = call(E.epoll_create1, t, [0]) as number;
  const [r] = pipe(t);
  assert.equal(ctl(t, ep, EPOLL_CTL_ADD, r, EPOLLIN), 0);
  assert.equal(ctl(t, ep, EPOLL_CTL_ADD, r, EPOLLIN), -EEXIST);
  assert.equal(ctl(t, ep, EPOLL_CTL_MOD, 77, EPOLLIN), -EBADF);
  assert.equal(ctl(t, ep, 9, r, EPOLLIN), -EINVAL);
  assert.equal(ctl(t, ep, EPOLL_CTL_ADD, ep, EPOLLIN), -EINVAL);
  assert.equal(ctl(t, r, EPOLL_CTL_ADD, ep, EPOLLIN), -EINVAL, 'not an epoll fd');
  assert.equal(ctl(t, ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLEXCLUSIVE), -EINVAL);
  assert.equal(ctl(t, ep, EPOLL_CTL_DEL, r, 0), 0);
  assert.equal(ctl(t, ep, EPOLL_CTL_DEL, r, 0), -ENOENT);
  // Loops between epoll instances.
  const ep2 = call(E.epoll_create1, t, [0]) as number;
  assert.equal(ctl(t, ep, EPOLL_CTL_ADD, ep2, EPOLLIN), 0);
  assert.equal(ctl(t, ep2, EPOLL_CTL_ADD, ep, EPOLLIN), -ELOOP);
  assert.equal(wait(t, ep, 0), -EINVAL);
});

test('level-triggered: reported while readable', () => {
  const t = fakeTask();
  const ep = call(E.epoll_create1, t, [0]) as number;
  const [r, w] = pipe(t);
  ctl(t, ep, EPOLL_CTL_ADD, r, EPOLLIN, 42n);
  ctl(t, ep, EPOLL_CTL_ADD, w, EPOLLOUT, 43n);
  assert.deepEqual(wait(t, ep), [{ events: EPOLLOUT, data: 43 }]);
  write(t, w, 'abc');
  const got = wait(t, ep) as { events: number; data: number }[];
  assert.deepEqual(got.map((e) => e.data).sort(), [42, 43]);
  read(t, r, 1);
  assert.equal((wait(t, ep) as unknown[]).length, 2, 'still readable');
  read(t, r, 10);
  ctl(t, ep, EPOLL_CTL_DEL, w, 0);
  // Nothing ready: blocks, with the timeout as deadline; a write wakes it.
  const b = wait(t, ep, 8, 1000);
  assert.ok(b instanceof Block && b.deadline !== undefined);
  let woke = 0;
  (b as Block).queues[0]!.add(() => woke++);
  write(t, w, 'x');
  assert.ok(woke > 0);
  assert.deepEqual(wait(t, ep), [{ events: EPOLLIN, data: 42 }]);
  // The writer goes away: EPOLLHUP although not asked for.
  t.fds.close(w);
  read(t, r, 10);
  assert.deepEqual(wait(t, ep), [{ events: EPOLLHUP, data: 42 }]);
});

test('edge-triggered: once per new data, not for space freed; EPOLLONESHOT', () => {
  const t = fakeTask();
  const ep = call(E.epoll_create1, t, [0]) as number;
  const [r, w] = pipe(t);
  ctl(t, ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET);
  assert.deepEqual(wait(t, ep), []);
  write(t, w, 'one');
  assert.equal((wait(t, ep) as unknown[]).length, 1);
  assert.equal((wait(t, ep) as unknown[]).length, 0, 'no new edge');
  read(t, r, 1); // frees space: an EPOLLOUT wake-up, which the EPOLLIN item ignores
  assert.equal((wait(t, ep) as unknown[]).length, 0);
  write(t, w, 'two');
  assert.equal((wait(t, ep) as unknown[]).length, 1, 'new data, new edge');
  // Oneshot: reported once, then disabled until MOD.
  const [r2, w2] = pipe(t);
  ctl(t, ep, EPOLL_CTL_ADD, r2, EPOLLIN | EPOLLONESHOT, 7n);
  write(t, w2, 'x');
  assert.deepEqual(wait(t, ep), [{ events: EPOLLIN, data: 7 }]);
  write(t, w2, 'y');
  assert.deepEqual(wait(t, ep), []);
  ctl(t, ep, EPOLL_CTL_MOD, r2, EPOLLIN | EPOLLONESHOT, 8n);
  assert.deepEqual(wait(t, ep), [{ events: EPOLLIN, data: 8 }]);
});

test('an epoll fd is pollable and nests; closed fds leave the interest list', () => {
  const t = fakeTask();
  const outer = call(E.epoll_create1, t, [0]) as number, inner = call(E.epoll_create1, t, [0]) as number;
  const [r, w] = pipe(t);
  ctl(t, inner, EPOLL_CTL_ADD, r, EPOLLIN);
  ctl(t, outer, EPOLL_CTL_ADD, inner, EPOLLIN, 99n);
  assert.equal(t.fds.get(inner).poll() & POLLIN, 0);
  write(t, w, 'z');
  assert.ok(t.fds.get(inner).poll() & POLLIN);
  assert.deepEqual(wait(t, outer), [{ events: EPOLLIN, data: 99 }]);
  t.fds.close(r);
  assert.deepEqual(wait(t, inner), []);
  // Regular files cannot be watched.
  const [, ww] = pipe(t);
  void ww;
  assert.equal(ctl(t, outer, EPOLL_CTL_ADD, outer, EPOLLIN), -EINVAL);
});

test('poll: revents, POLLNVAL, negative fds, timeouts', () => {
  const t = fakeTask();
  const [r, w] = pipe(t);
  const pfds = Buffer.alloc(32);
  const set = (i: number, fd: number, ev: number) => { pfds.writeInt32LE(fd, i * 8); pfds.writeInt16LE(ev, i * 8 + 4); };
  set(0, r, POLLIN);
  set(1, w, POLLOUT);
  set(2, 55, POLLIN);
  set(3, -1, POLLIN);
  const a = t.raw.alloc(pfds);
  assert.equal(call(P.poll, t, [a, 4, 0]), 2);
  const out = t.raw.bytes(a, 32);
  assert.deepEqual([0, 1, 2, 3].map((i) => out.readUInt16LE(i * 8 + 6)), [0, POLLOUT, POLLNVAL, 0]);
  // Only the read end, no data: blocks until written.
  const one = t.raw.alloc(pfds.subarray(0, 8));
  const b = call(P.poll, t, [one, 1, -1]);
  assert.ok(b instanceof Block && b.deadline === undefined);
  const st = t.syscall!;
  write(t, w, 'q');
  assert.equal(rerun(P.poll, t, 'event', st), 1);
  assert.equal(t.raw.bytes(one, 8).readUInt16LE(6), POLLIN);
  read(t, r, 1);
  assert.ok(call(P.poll, t, [one, 1, 50]) instanceof Block);
  assert.equal(rerun(P.poll, t, 'timeout'), 0);
  t.fds.close(w);
  assert.equal(call(P.poll, t, [one, 1, 0]), 1);
  assert.equal(t.raw.bytes(one, 8).readUInt16LE(6), POLLHUP);
  assert.equal(call(P.poll, t, [one, 5000, 0]), -EINVAL);
});

test('select: fd_set bitmaps, EBADF, remaining time written back', () => {
  const t = fakeTask();
  const [r, w] = pipe(t);
  const rset = Buffer.alloc(8), wset = Buffer.alloc(8);
  rset[0] = (1 << r);
  wset[0] = (1 << w);
  const ra = t.raw.alloc(rset), wa = t.raw.alloc(wset);
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(5n, 0);
  const tva = t.raw.alloc(tv);
  assert.equal(call(P.select, t, [w + 1, ra, wa, 0, tva]), 1);
  assert.equal(t.raw.bytes(ra, 8)[0], 0);
  assert.equal(t.raw.bytes(wa, 8)[0], 1 << w);
  const left = t.raw.bytes(tva, 16);
  const leftMs = Number(left.readBigInt64LE(0)) * 1000 + Number(left.readBigInt64LE(8)) / 1000;
  assert.ok(leftMs > 4900 && leftMs <= 5000, `remaining ${leftMs}`);
  const bad = Buffer.alloc(8);
  bad[1] = 1; // fd 8, not open
  assert.equal(call(P.select, t, [9, t.raw.alloc(bad), 0, 0, 0]), -EBADF);
  // pselect6 with nothing ready and a zero timeout.
  const rs2 = Buffer.alloc(8);
  rs2[0] = 1 << r;
  assert.equal(call(P.pselect6, t, [r + 1, t.raw.alloc(rs2), 0, 0, t.raw.alloc(16), 0]), 0);
});

test('eventfd: counter, semaphore mode, overflow wait', () => {
  const t = fakeTask();
  const fd = call(V.eventfd2, t, [3, EFD_SEMAPHORE | EFD_NONBLOCK]) as number;
  const f = t.fds.get(fd);
  assert.equal(f.read(t, 8).readBigUInt64LE(0), 1n);
  assert.equal(f.read(t, 8).readBigUInt64LE(0), 1n);
  assert.equal(f.read(t, 8).readBigUInt64LE(0), 1n);
  assert.throws(() => f.read(t, 8), (e: { errno: number }) => e.errno === EAGAIN);
  assert.throws(() => f.read(t, 4), (e: { errno: number }) => e.errno === EINVAL);
  const g = t.fds.get(call(V.eventfd, t, [0]) as number);
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(5n);
  g.write(t, v);
  g.write(t, v);
  assert.equal(g.read(t, 8).readBigUInt64LE(0), 10n);
  v.writeBigUInt64LE(0xfffffffffffffffen);
  g.write(t, v);
  assert.equal(g.poll() & POLLOUT, 0);
  v.writeBigUInt64LE(1n);
  assert.throws(() => g.write(t, v), (e: { errno: number }) => e.errno === EAGAIN);
  assert.equal(call(V.eventfd2, t, [0, 0x10]), -EINVAL);
});

test('timerfd: one-shot and interval expirations, gettime, absolute REALTIME', async () => {
  const t = fakeTask();
  const fd = call(V.timerfd_create, t, [CLOCK_MONOTONIC, TFD_NONBLOCK]) as number;
  assert.equal(call(V.timerfd_create, t, [99, 0]), -EINVAL);
  const f = t.fds.get(fd);
  const spec = Buffer.alloc(32);
  spec.writeBigInt64LE(10_000_000n, 8); // interval 10 ms
  spec.writeBigInt64LE(20_000_000n, 24); // first after 20 ms
  assert.equal(call(V.timerfd_settime, t, [fd, 0, t.raw.alloc(spec), 0]), 0);
  const cur = t.raw.alloc(32);
  call(V.timerfd_gettime, t, [fd, cur]);
  const c = t.raw.bytes(cur, 32);
  assert.equal(c.readBigInt64LE(8), 10_000_000n);
  assert.ok(c.readBigInt64LE(24) > 0n && c.readBigInt64LE(24) <= 20_000_000n);
  assert.throws(() => f.read(t, 8), (e: { errno: number }) => e.errno === EAGAIN);
  await new Promise((res) => setTimeout(res, 55));
  t.kernel.timers.runExpired();
  assert.ok(f.poll() & POLLIN);
  const n = f.read(t, 8).readBigUInt64LE(0);
  assert.ok(n >= 3n && n <= 5n, `expirations ${n}`);
  // Disarm.
  assert.equal(call(V.timerfd_settime, t, [fd, 0, t.raw.alloc(32), 0]), 0);
  call(V.timerfd_gettime, t, [fd, cur]);
  assert.equal(t.raw.bytes(cur, 32).readBigInt64LE(24), 0n);
  // Absolute CLOCK_REALTIME in the past: expires at once.
  const rfd = call(V.timerfd_create, t, [CLOCK_REALTIME, TFD_NONBLOCK]) as number;
  const abs = Buffer.alloc(32);
  const past = realtimeNowNs() - 1_000_000_000n;
  abs.writeBigInt64LE(past / 1_000_000_000n, 16);
  abs.writeBigInt64LE(past % 1_000_000_000n, 24);
  call(V.timerfd_settime, t, [rfd, TFD_TIMER_ABSTIME, t.raw.alloc(abs), 0]);
  t.kernel.timers.runExpired();
  assert.equal(t.fds.get(rfd).read(t, 8).readBigUInt64LE(0), 1n);
  // epoll sees a timerfd.
  const ep = call(E.epoll_create1, t, [0]) as number;
  ctl(t, ep, EPOLL_CTL_ADD, rfd, EPOLLIN);
  assert.deepEqual(wait(t, ep), []);
});
