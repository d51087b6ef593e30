// AF_UNIX sockets through the syscall handlers with fake tasks: connections, names,
// datagrams, SCM_RIGHTS/SCM_CREDENTIALS, shutdown and the errnos Linux gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { fakeTask, fakeKernel, call, rerun, isBlock, withHostFs, sockaddrUn, msghdr, cmsgBuf, newState, type FakeTask } from './ipc-helpers.js';
import { socketCalls as S } from '../../src/kernel/syscalls/sys_socket.js';
import { newPipe } from '../../src/kernel/ipc/pipe.js';
import {
  AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_NONBLOCK, SOCK_CLOEXEC,
  SOL_SOCKET, SO_TYPE, SO_PEERCRED, SO_PASSCRED, SO_RCVBUF, SO_ERROR, SO_REUSEADDR, SCM_RIGHTS, SCM_CREDENTIALS,
  MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_CTRUNC, MSG_WAITALL,
} from '../../src/kernel/abi/socket.js';
import {
  EAFNOSUPPORT, EINVAL, EAGAIN, ECONNREFUSED, EISCONN, ENOTCONN, EPIPE, EADDRINUSE, EPROTOTYPE, ENOTSOCK,
  ENOENT, EOPNOTSUPP, ECONNRESET, EPERM,
} from '../../src/kernel/abi/errno.js';
import { POLLIN, POLLOUT, POLLHUP, POLLRDHUP } from '../../src/kernel/fs/file.js';
import { S_IFSOCK, S_IFMT, O_NONBLOCK } from '../../src/kernel/abi/fcntl.js';
import type { SyscallReturn } from '../../src/kernel/task/task.js';

function pair(t: FakeTask, type = SOCK_STREAM): [number, number] {
  const sv = t.raw.alloc(8);
  assert.equal(call(S.socketpair, t, [AF_UNIX, type, 0, sv]), 0);
  const b = t.raw.bytes(sv, 8);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

function send(t: FakeTask, fd: number, s: string | Buffer, flags = 0): unknown {
  const d = typeof s === 'string' ? Buffer.from(s) : s;
  const a = t.raw.alloc(d.length ? d : 1);
  return call(S.sendto, t, [fd, a, d.length, flags, 0, 0]);
}

function recv(t: FakeTask, fd: number, n: number, flags = 0): string | number {
  const a = t.raw.alloc(n || 1);
  const r = call(S.recvfrom, t, [fd, a, n, flags, 0, 0]);
  if (typeof r !== 'number' || r < 0) return r as number;
  return t.raw.bytes(a, Math.min(r, n)).toString();
}

function sock(t: FakeTask, type: number): number {
  return call(S.socket, t, [AF_UNIX, type, 0]) as number;
}

function bindTo(t: FakeTask, fd: number, name: string): number {
  const sa = sockaddrUn(name);
  return call(S.bind, t, [fd, t.raw.alloc(sa), sa.length]) as number;
}
function connectTo(t: FakeTask, fd: number, name: string): SyscallReturn {
  const sa = sockaddrUn(name);
  return call(S.connect, t, [fd, t.raw.alloc(sa), sa.length]);
}
function sockname(t: FakeTask, fd: number, peer = false): Buffer | number {
  const a = t.raw.alloc(128), l = t.raw.alloc(4);
  t.raw.writeFrom(l, Buffer.from([128, 0, 0, 0]));
  const r = call(peer ? S.getpeername : S.getsockname, t, [fd, a, l]);
  if (r !== 0) return r as number;
  return t.raw.bytes(a, t.raw.bytes(l, 4).readInt32LE(0));
}
function getopt(t: FakeTask, fd: number, name: number, len = 4): Buffer | number {
  const a = t.raw.alloc(len), l = t.raw.alloc(4);
  t.raw.writeFrom(l, Buffer.from([len, 0, 0, 0]));
  const r = call(S.getsockopt, t, [fd, SOL_SOCKET, name, a, l]);
  if (r !== 0) return r as number;
  return t.raw.bytes(a, t.raw.bytes(l, 4).readInt32LE(0));
}
function setopt(t: FakeTask, fd: number, name: number, v: number): unknown {
  const a = t.raw.alloc(4);
  t.raw.writeFrom(a, Buffer.from(new Int32Array([v]).buffer));
  return call(S.setsockopt, t, [fd, SOL_SOCKET, name, a, 4]);
}

test('socket(): families, types and flags', () => {
  const t = fakeTask();
  for (const af of [AF_INET, AF_INET6, AF_NETLINK, 99]) assert.equal(call(S.socket, t, [af, SOCK_STREAM, 0]), -EAFNOSUPPORT);
  assert.equal(call(S.socket, t, [AF_UNIX, 0, 0]), -EINVAL);
  assert.equal(call(S.socket, t, [AF_UNIX, SOCK_STREAM | 0x100000, 0]), -EINVAL);
  const fd = call(S.socket, t, [AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0]) as number;
  assert.ok(fd >= 0);
  assert.ok(t.fds.get(fd).flags & O_NONBLOCK);
  assert.equal(t.fds.entry(fd)!.cloexec, true);
  assert.equal((t.fds.get(fd).stat().mode & S_IFMT), S_IFSOCK);
  assert.equal((getopt(t, fd, SO_TYPE) as Buffer).readInt32LE(0), SOCK_STREAM);
  const [p] = newPipe(t);
  const pfd = t.fds.install(p, false);
  assert.equal(call(S.listen, t, [pfd, 1]), -ENOTSOCK);
});

test('socketpair stream: data both ways, EOF, EPIPE with and without SIGPIPE', () => {
  const t = fakeTask();
  const [a, b] = pair(t);
  assert.equal(send(t, a, 'hello'), 5);
  assert.equal(send(t, b, 'world'), 5);
  assert.equal(recv(t, b, 3), 'hel');
  assert.equal(recv(t, b, 100), 'lo');
  assert.equal(recv(t, a, 100), 'world');
  assert.equal(recv(t, a, 10, MSG_DONTWAIT), -EAGAIN);
  assert.ok(isBlock(call(S.recvfrom, t, [a, t.raw.alloc(4), 4, 0, 0, 0])));
  const peerCred = getopt(t, a, SO_PEERCRED, 12) as Buffer;
  assert.deepEqual([peerCred.readInt32LE(0), peerCred.readInt32LE(4), peerCred.readInt32LE(8)], [t.pid, 0, 0]);
  t.fds.close(b);
  assert.equal(recv(t, a, 10), '', 'EOF');
  assert.ok(t.fds.get(a).poll() & POLLHUP);
  assert.equal(send(t, a, 'x', MSG_NOSIGNAL), -EPIPE);
  assert.equal(t.sigpipes, 0);
  assert.equal(send(t, a, 'x'), -EPIPE);
  assert.equal(t.sigpipes, 1);
});

test('unread data at close resets the peer', () => {
  const t = fakeTask();
  const [a, b] = pair(t);
  send(t, a, 'unread');
  t.fds.close(b);
  assert.equal(recv(t, a, 10), -ECONNRESET);
  assert.equal(recv(t, a, 10), '');
});

test('shutdown: SHUT_WR gives the peer EOF, our sends EPIPE', () => {
  const t = fakeTask();
  const [a, b] = pair(t);
  send(t, a, 'last');
  assert.equal(call(S.shutdown, t, [a, 1]), 0);
  assert.equal(call(S.shutdown, t, [a, 3]), -EINVAL);
  assert.equal(recv(t, b, 10), 'last');
  assert.equal(recv(t, b, 10), '');
  assert.ok(t.fds.get(b).poll() & POLLRDHUP);
  assert.equal(send(t, a, 'x', MSG_NOSIGNAL), -EPIPE);
  assert.equal(send(t, b, 'back'), 4, 'the other direction still works');
  assert.equal(recv(t, a, 10), 'back');
});

test('listen/connect/accept on an abstract name; getsockname/getpeername; ECONNREFUSED', () => {
  const k = fakeKernel();
  const srv = fakeTask(k), cli = fakeTask(k, { uid: 1000, gid: 1000 });
  const l = sock(srv, SOCK_STREAM);
  const name = '\0tuml-test';
  assert.equal(call(S.listen, srv, [l, 5]), -EINVAL, 'unbound listen');
  assert.equal(bindTo(srv, l, name), 0);
  assert.equal(bindTo(srv, sock(srv, SOCK_STREAM), name), -EADDRINUSE);
  const c = sock(cli, SOCK_STREAM);
  assert.equal(connectTo(cli, c, name), -ECONNREFUSED, 'not listening yet');
  assert.equal(call(S.listen, srv, [l, 1]), 0);
  // accept blocks until a client comes.
  assert.ok(isBlock(call(S.accept4, srv, [l, 0, 0, 0])));
  assert.equal(connectTo(cli, c, name), 0);
  assert.equal(connectTo(cli, c, name), -EISCONN);
  assert.ok(srv.fds.get(l).poll() & POLLIN);
  const addr = srv.raw.alloc(128), alen = srv.raw.alloc(4);
  srv.raw.writeFrom(alen, Buffer.from([128, 0, 0, 0]));
  const a = rerun(S.accept4, srv) as number;
  assert.ok(a >= 0);
  const a2 = call(S.accept, srv, [l, addr, alen]);
  assert.ok(isBlock(a2));
  assert.deepEqual(sockname(srv, a), sockaddrUn(name));
  assert.deepEqual(sockname(cli, c, true), sockaddrUn(name));
  assert.deepEqual(sockname(srv, a, true), Buffer.from([1, 0]), 'unbound client: just the family');
  assert.equal(sockname(cli, sock(cli, SOCK_STREAM), true), -ENOTCONN);
  const pc = getopt(srv, a, SO_PEERCRED, 12) as Buffer;
  assert.deepEqual([pc.readInt32LE(0), pc.readInt32LE(4), pc.readInt32LE(8)], [cli.pid, 1000, 1000]);
  const cc = getopt(cli, c, SO_PEERCRED, 12) as Buffer;
  assert.equal(cc.readInt32LE(0), srv.pid);
  assert.equal(send(cli, c, 'ping'), 4);
  assert.equal(recv(srv, a, 10), 'ping');
  // Type mismatch, wrong family address, dead listener.
  assert.equal(connectTo(cli, sock(cli, SOCK_SEQPACKET), name), -EPROTOTYPE);
  srv.fds.close(l);
  assert.equal(connectTo(cli, sock(cli, SOCK_STREAM), name), -ECONNREFUSED);
  // Autobind: bind with just the family.
  const ab = sock(cli, SOCK_DGRAM);
  const fam = Buffer.from([1, 0]);
  assert.equal(call(S.bind, cli, [ab, cli.raw.alloc(fam), 2]), 0);
  const got = sockname(cli, ab) as Buffer;
  assert.equal(got.length, 8);
  assert.equal(got[2], 0);
});

test('backlog: a full accept queue makes connect wait (EAGAIN when non-blocking)', () => {
  const k = fakeKernel();
  const t = fakeTask(k);
  const l = sock(t, SOCK_STREAM);
  bindTo(t, l, '\0bl');
  call(S.listen, t, [l, 0]);
  assert.equal(connectTo(t, sock(t, SOCK_STREAM), '\0bl'), 0, 'backlog 0 still takes one');
  assert.equal(connectTo(t, call(S.socket, t, [AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0]) as number, '\0bl'), -EAGAIN);
  const c = sock(t, SOCK_STREAM);
  assert.ok(isBlock(connectTo(t, c, '\0bl')));
  const st = t.syscall!;
  assert.ok((call(S.accept, t, [l, 0, 0]) as number) >= 0);
  assert.equal(rerun(S.connect, t, 'event', st), 0);
});

test('path names: the socket inode appears in the file system; ENOENT, EADDRINUSE', () => {
  const k = fakeKernel();
  const t = fakeTask(k);
  const dir = withHostFs(k, t);
  const l = sock(t, SOCK_STREAM);
  assert.equal(bindTo(t, l, '/srv.sock'), 0);
  assert.ok(nodeFs.lstatSync(nodePath.join(dir, 'srv.sock')).isSocket());
  assert.equal(bindTo(t, sock(t, SOCK_STREAM), '/srv.sock'), -EADDRINUSE);
  assert.equal(connectTo(t, sock(t, SOCK_STREAM), '/nope.sock'), -ENOENT);
  call(S.listen, t, [l, 10]);
  const c = sock(t, SOCK_STREAM);
  assert.equal(connectTo(t, c, '/srv.sock'), 0);
  assert.deepEqual(sockname(t, l), sockaddrUn('/srv.sock'));
  t.fds.close(l);
  assert.equal(connectTo(t, sock(t, SOCK_STREAM), '/srv.sock'), -ECONNREFUSED, 'stale socket file');
  nodeFs.rmSync(dir, { recursive: true });
});

test('datagrams: boundaries, MSG_TRUNC, MSG_PEEK, sender address, EPERM, ECONNREFUSED', () => {
  const k = fakeKernel();
  const t = fakeTask(k);
  const r = sock(t, SOCK_DGRAM), s1 = sock(t, SOCK_DGRAM), s2 = sock(t, SOCK_DGRAM);
  bindTo(t, r, '\0rx');
  bindTo(t, s1, '\0tx1');
  const sa = sockaddrUn('\0rx');
  const to = t.raw.alloc(sa);
  const d = t.raw.alloc(Buffer.from('first message'));
  assert.equal(call(S.sendto, t, [s1, d, 13, 0, to, sa.length]), 13);
  assert.equal(call(S.sendto, t, [s2, d, 5, 0, to, sa.length]), 5);
  assert.equal(call(S.sendto, t, [s2, d, 5, 0, 0, 0]), -ENOTCONN);
  assert.equal(recv(t, r, 5, MSG_PEEK), 'first');
  const buf = t.raw.alloc(16), from = t.raw.alloc(128), flen = t.raw.alloc(4);
  t.raw.writeFrom(flen, Buffer.from([128, 0, 0, 0]));
  assert.equal(call(S.recvfrom, t, [r, buf, 5, MSG_TRUNC, from, flen]), 13, 'MSG_TRUNC returns the real length');
  assert.deepEqual(t.raw.bytes(from, t.raw.bytes(flen, 4).readInt32LE(0)), sockaddrUn('\0tx1'));
  t.raw.writeFrom(flen, Buffer.from([128, 0, 0, 0]));
  assert.equal(call(S.recvfrom, t, [r, buf, 16, 0, from, flen]), 5);
  assert.equal(t.raw.bytes(flen, 4).readInt32LE(0), 0, 'unbound sender: no address');
  // recvmsg reports MSG_TRUNC in msg_flags.
  call(S.sendto, t, [s1, d, 13, 0, to, sa.length]);
  const m = msghdr(t, { iovLen: 4 });
  assert.equal(call(S.recvmsg, t, [r, m.msg, 0]), 4);
  assert.equal(t.raw.bytes(m.msg + 48, 4).readInt32LE(0) & MSG_TRUNC, MSG_TRUNC);
  // A receiver connected elsewhere refuses strangers.
  assert.equal(connectTo(t, r, '\0tx1'), 0);
  assert.equal(call(S.sendto, t, [s2, d, 5, 0, to, sa.length]), -EPERM);
  // Peer gone: ECONNREFUSED and disconnected.
  assert.equal(connectTo(t, s2, '\0tx1'), 0);
  t.fds.close(s1);
  assert.equal(send(t, s2, 'x'), -ECONNREFUSED);
  assert.equal(send(t, s2, 'x'), -ENOTCONN);
  assert.equal(call(S.listen, t, [r, 1]), -EOPNOTSUPP);
});

test('datagram queue limit: unconnected receivers take max_dgram_qlen+1 messages', () => {
  const t = fakeTask();
  const r = sock(t, SOCK_DGRAM), s = call(S.socket, t, [AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0]) as number;
  bindTo(t, r, '\0q');
  const sa = sockaddrUn('\0q');
  const to = t.raw.alloc(sa), d = t.raw.alloc(4);
  let n = 0;
  while (call(S.sendto, t, [s, d, 4, 0, to, sa.length]) === 4) n++;
  assert.equal(n, 11);
  assert.equal(call(S.sendto, t, [s, d, 4, 0, to, sa.length]), -EAGAIN);
  recv(t, r, 4);
  assert.equal(call(S.sendto, t, [s, d, 4, 0, to, sa.length]), 4);
});

test('seqpacket keeps boundaries and truncates', () => {
  const t = fakeTask();
  const [a, b] = pair(t, SOCK_SEQPACKET);
  send(t, a, 'one');
  send(t, a, 'twotwo');
  assert.equal(recv(t, b, 100), 'one');
  assert.equal(recv(t, b, 3), 'two');
  assert.equal(recv(t, b, 100, MSG_DONTWAIT), -EAGAIN, 'the rest of a truncated packet is gone');
  t.fds.close(a);
  assert.equal(recv(t, b, 100), '');
  assert.equal(send(t, b, 'x', MSG_NOSIGNAL), -EPIPE);
});

test('SCM_RIGHTS passes open files between fd tables; MSG_CTRUNC when there is no room', () => {
  const k = fakeKernel();
  const p1 = fakeTask(k), p2 = fakeTask(k);
  const [a, b] = pair(p1);
  // Hand b to p2 as if inherited.
  const bf = p1.fds.get(b).ref();
  p1.fds.close(b);
  const b2 = p2.fds.install(bf, false);
  const [pr, pw] = newPipe(p1);
  const rfd = p1.fds.install(pr, false), wfd = p1.fds.install(pw, false);
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(rfd, 0);
  fds.writeInt32LE(wfd, 4);
  const m = msghdr(p1, { data: Buffer.from('F'), control: cmsgBuf(SOL_SOCKET, SCM_RIGHTS, fds) });
  assert.equal(call(S.sendmsg, p1, [a, m.msg, 0]), 1);
  p1.fds.close(rfd);
  p1.fds.close(wfd);
  const rm = msghdr(p2, { iovLen: 10, controlLen: 64 });
  assert.equal(call(S.recvmsg, p2, [b2, rm.msg, 0]), 1);
  const ctlLen = Number(p2.raw.bytes(rm.msg + 40, 8).readBigUInt64LE(0));
  assert.equal(ctlLen, 24);
  const c = p2.raw.bytes(rm.ctl, ctlLen);
  assert.equal(c.readInt32LE(8), SOL_SOCKET);
  assert.equal(c.readInt32LE(12), SCM_RIGHTS);
  const r2 = c.readInt32LE(16), w2 = c.readInt32LE(20);
  // The received pipe works end to end in the other table.
  assert.equal(p2.fds.get(w2).write(p2, Buffer.from('through')), 7);
  assert.equal(p2.fds.get(r2).read(p2, 10).toString(), 'through');
  // No room for the files: MSG_CTRUNC, files dropped.
  const fds1 = Buffer.alloc(4);
  fds1.writeInt32LE(a, 0);
  const m2 = msghdr(p1, { data: Buffer.from('G'), control: cmsgBuf(SOL_SOCKET, SCM_RIGHTS, fds1) });
  assert.equal(call(S.sendmsg, p1, [a, m2.msg, 0]), 1);
  const rm2 = msghdr(p2, { iovLen: 10 });
  assert.equal(call(S.recvmsg, p2, [b2, rm2.msg, 0]), 1);
  assert.equal(p2.raw.bytes(rm2.msg + 48, 4).readInt32LE(0) & MSG_CTRUNC, MSG_CTRUNC);
  const bad = Buffer.alloc(4);
  bad.writeInt32LE(999, 0);
  const m3 = msghdr(p1, { data: Buffer.from('H'), control: cmsgBuf(SOL_SOCKET, SCM_RIGHTS, bad) });
  assert.equal(call(S.sendmsg, p1, [a, m3.msg, 0]), -9 /* EBADF */);
});

test('a stream read stops at a message carrying files', () => {
  const t = fakeTask();
  const [a, b] = pair(t);
  send(t, a, 'abc');
  const fds = Buffer.alloc(4);
  fds.writeInt32LE(a, 0);
  const m = msghdr(t, { data: Buffer.from('def'), control: cmsgBuf(SOL_SOCKET, SCM_RIGHTS, fds) });
  call(S.sendmsg, t, [a, m.msg, 0]);
  send(t, a, 'ghi');
  assert.equal(recv(t, b, 100), 'abc');
  const rm = msghdr(t, { iovLen: 100, controlLen: 32 });
  assert.equal(call(S.recvmsg, t, [b, rm.msg, 0]), 3);
  assert.equal(recv(t, b, 100), 'ghi');
});

test('SO_PASSCRED: SCM_CREDENTIALS with the sender as the guest sees it; forged ones EPERM', () => {
  const k = fakeKernel();
  const s = fakeTask(k, { uid: 1000, gid: 100 }), r = fakeTask(k);
  const [a, b] = pair(r, SOCK_DGRAM);
  const af = r.fds.get(a).ref();
  const sa = s.fds.install(af, false);
  assert.equal(setopt(r, b, SO_PASSCRED, 1), 0);
  assert.equal((getopt(r, b, SO_PASSCRED) as Buffer).readInt32LE(0), 1);
  assert.equal(send(s, sa, 'who'), 3);
  const rm = msghdr(r, { iovLen: 10, controlLen: 64 });
  assert.equal(call(S.recvmsg, r, [b, rm.msg, 0]), 3);
  const c = r.raw.bytes(rm.ctl, 32);
  assert.equal(Number(c.readBigUInt64LE(0)), 28);
  assert.equal(c.readInt32LE(12), SCM_CREDENTIALS);
  assert.deepEqual([c.readInt32LE(16), c.readInt32LE(20), c.readInt32LE(24)], [s.pid, 1000, 100]);
  const forged = Buffer.alloc(12);
  forged.writeInt32LE(1, 0);
  const m = msghdr(s, { data: Buffer.from('x'), control: cmsgBuf(SOL_SOCKET, SCM_CREDENTIALS, forged) });
  assert.equal(call(S.sendmsg, s, [sa, m.msg, 0]), -EPERM);
});

test('options: SO_RCVBUF doubles, SO_ERROR, SO_REUSEADDR accepted', () => {
  const t = fakeTask();
  const fd = sock(t, SOCK_STREAM);
  assert.equal(setopt(t, fd, SO_RCVBUF, 10000), 0);
  assert.equal((getopt(t, fd, SO_RCVBUF) as Buffer).readInt32LE(0), 20000);
  assert.equal((getopt(t, fd, SO_ERROR) as Buffer).readInt32LE(0), 0);
  assert.equal(setopt(t, fd, SO_REUSEADDR, 1), 0);
  assert.equal(getopt(t, fd, 9999), -92 /* ENOPROTOOPT */);
});

test('a blocking stream send larger than the buffer completes across wake-ups; MSG_WAITALL', () => {
  const t = fakeTask();
  const [a, b] = pair(t);
  const big = Buffer.alloc(300000, 7);
  const src = t.raw.alloc(big);
  t.syscall = newState();
  let r = call(S.sendto, t, [a, src, big.length, 0, 0, 0]);
  const st = t.syscall!;
  let got = 0;
  const dst = t.raw.alloc(big.length);
  for (let i = 0; i < 20 && isBlock(r); i++) {
    got += (recv(t, b, 100000) as string).length;
    r = rerun(S.sendto, t, 'event', st);
  }
  assert.equal(r, big.length);
  // The rest arrives with one MSG_WAITALL read that waits for all of it.
  const rest = big.length - got;
  const w = call(S.recvfrom, t, [b, dst, rest + 10, MSG_WAITALL, 0, 0]);
  assert.ok(isBlock(w));
  const ws = t.syscall!;
  send(t, a, 'x'.repeat(10));
  assert.equal(rerun(S.recvfrom, t, 'event', ws), rest + 10);
  assert.ok(t.fds.get(a).poll() & POLLOUT);
});
