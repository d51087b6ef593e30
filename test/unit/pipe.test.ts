// Pipes and FIFOs without a tracee: fake tasks, Linux's rules checked one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeTask, fakeKernel, call, errnoOf, isBlock, newState } from './ipc-helpers.js';
import { pipeCalls } from '../../src/kernel/syscalls/sys_pipe.js';
import { newPipe, openFifo, roundPipeSize, pipeFcntl, PipeFile, PIPE_DEF_SIZE } from '../../src/kernel/ipc/pipe.js';
import { POLLIN, POLLOUT, POLLHUP, POLLERR, POLLRDNORM, POLLWRNORM } from '../../src/kernel/fs/file.js';
import { EAGAIN, EPIPE, EINVAL, EFAULT, ENXIO, EBUSY, EPERM } from '../../src/kernel/abi/errno.js';
import { O_NONBLOCK, O_CLOEXEC, O_RDONLY, O_WRONLY, O_RDWR, S_IFIFO, S_IFMT, F_GETPIPE_SZ, F_SETPIPE_SZ } from '../../src/kernel/abi/fcntl.js';
import { FIONREAD } from '../../src/kernel/abi/event.js';
import { Block } from '../../src/kernel/task/task.js';

test('pipe2 installs two fds, flags and EINVAL/EFAULT', () => {
  const t = fakeTask();
  const a = t.raw.alloc(8);
  assert.equal(call(pipeCalls.pipe2, t, [a, O_CLOEXEC | O_NONBLOCK]), 0);
  const rfd = t.raw.bytes(a, 8).readInt32LE(0), wfd = t.raw.bytes(a, 8).readInt32LE(4);
  assert.deepEqual([rfd, wfd], [0, 1]);
  assert.equal(t.fds.entry(rfd)!.cloexec, true);
  assert.ok(t.fds.get(wfd).flags & O_NONBLOCK);
  assert.equal(t.fds.get(rfd).flags & 3, O_RDONLY);
  assert.equal(t.fds.get(wfd).flags & 3, O_WRONLY);
  assert.equal(call(pipeCalls.pipe2, t, [a, 0o100]), -EINVAL);
  assert.equal(call(pipeCalls.pipe, t, [8]), -EFAULT);
  // The failed copy-out took its fds back.
  assert.equal(t.fds.has(2), false);
  const st = t.fds.get(rfd).stat();
  assert.equal(st.mode & S_IFMT, S_IFIFO);
  assert.equal(st.ino, t.fds.get(wfd).stat().ino);
});

test('read/write, EOF after the last writer, EAGAIN when empty', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t);
  assert.equal(errnoOf(() => r.read(t, 10)), -EAGAIN);
  assert.equal(w.write(t, Buffer.from('hello')), 5);
  assert.equal(r.read(t, 3).toString(), 'hel');
  assert.equal(r.read(t, 100).toString(), 'lo');
  assert.equal(r.read(t, 0).length, 0);
  w.unref();
  assert.equal(r.read(t, 10).length, 0, 'EOF');
  assert.ok(r.poll() & POLLHUP);
});

test('EPIPE and SIGPIPE with no readers; POLLERR on the write end', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t);
  r.unref();
  assert.equal(errnoOf(() => w.write(t, Buffer.from('x'))), -EPIPE);
  assert.equal(t.sigpipes, 1);
  assert.ok(w.poll() & POLLERR);
});

test('PIPE_BUF atomicity: small writes never split, big writes fill then block', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t, O_NONBLOCK);
  assert.equal(w.write(t, Buffer.alloc(PIPE_DEF_SIZE - 100, 1)), PIPE_DEF_SIZE - 100);
  // 4096 bytes do not fit in 100: all or nothing.
  assert.equal(errnoOf(() => w.write(t, Buffer.alloc(4096, 2))), -EAGAIN);
  assert.equal(w.write(t, Buffer.alloc(100, 3)), 100);
  assert.equal(w.poll() & POLLOUT, 0);
  assert.equal(errnoOf(() => w.write(t, Buffer.alloc(1))), -EAGAIN);
  r.read(t, 5000);
  // A non-atomic write on a non-blocking pipe writes what fits.
  assert.equal(w.write(t, Buffer.alloc(10000, 4)), 5000);
  assert.equal(r.read(t, 1 << 20).length, PIPE_DEF_SIZE);
});

test('a blocking write bigger than the pipe resumes where it stopped', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t);
  const data = Buffer.alloc(200000);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  t.syscall = newState();
  const got: Buffer[] = [];
  let res = -1;
  for (let rounds = 0; rounds < 10; rounds++) {
    const e = errnoOf(() => { res = w.write(t, data); });
    if (e === 0) break;
    assert.equal(e, -EAGAIN);
    got.push(r.read(t, 1 << 20));
  }
  assert.equal(res, data.length);
  got.push(r.read(t, 1 << 20));
  assert.ok(Buffer.concat(got).equals(data));
});

test('poll bits and wake-ups', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t);
  assert.equal(r.poll(), 0);
  assert.equal(w.poll(), POLLOUT | POLLWRNORM);
  let woken = 0;
  r.waitQueue.add(() => woken++);
  w.write(t, Buffer.from('a'));
  assert.equal(woken, 1);
  assert.equal(r.poll(), POLLIN | POLLRDNORM);
});

test('FIONREAD and F_SETPIPE_SZ rounding', () => {
  const t = fakeTask();
  const [r, w] = newPipe(t);
  w.write(t, Buffer.alloc(1234));
  const a = t.raw.alloc(4);
  assert.equal(r.ioctl(t, FIONREAD, a), 0);
  assert.equal(t.raw.bytes(a, 4).readInt32LE(0), 1234);
  assert.equal(roundPipeSize(1), 4096);
  assert.equal(roundPipeSize(4097), 8192);
  assert.equal(roundPipeSize(3 * 4096), 4 * 4096);
  assert.equal(roundPipeSize(65536), 65536);
  assert.equal(pipeFcntl(t, w, F_GETPIPE_SZ, 0), 65536);
  assert.equal(pipeFcntl(t, w, F_SETPIPE_SZ, 100000), 131072);
  assert.equal(pipeFcntl(t, r, F_GETPIPE_SZ, 0), 131072);
  w.write(t, Buffer.alloc(8000));
  assert.equal(errnoOf(() => pipeFcntl(t, w, F_SETPIPE_SZ, 4096)), -EBUSY);
  const u = fakeTask(undefined, { uid: 1000 });
  assert.equal(errnoOf(() => pipeFcntl(u, w, F_SETPIPE_SZ, 4 << 20)), -EPERM);
});

test('FIFO open: readers wait for writers, ENXIO, O_RDWR', () => {
  const k = fakeKernel();
  const rd = fakeTask(k), wr = fakeTask(k);
  assert.equal(errnoOf(() => openFifo('1:5', O_WRONLY | O_NONBLOCK, wr)), -ENXIO);
  const nbr = openFifo('1:5', O_RDONLY | O_NONBLOCK, rd);
  assert.ok(nbr instanceof PipeFile);
  assert.equal(nbr.poll() & POLLHUP, 0, 'no HUP before any writer came');
  (nbr as PipeFile).unref();
  // Blocking reader: waits; a writer's open wakes it.
  rd.syscall = newState();
  const b = openFifo('1:5', O_RDONLY, rd);
  assert.ok(b instanceof Block);
  let woke = false;
  (b as Block).queues[0]!.add(() => { woke = true; });
  // The waiting reader counts: a non-blocking writer may open.
  const wf = openFifo('1:5', O_WRONLY | O_NONBLOCK, wr);
  assert.ok(wf instanceof PipeFile);
  assert.ok(woke);
  const rf = openFifo('1:5', O_RDONLY, rd);
  assert.ok(rf instanceof PipeFile);
  (wf as PipeFile).write(wr, Buffer.from('via fifo'));
  assert.equal((rf as PipeFile).read(rd, 100).toString(), 'via fifo');
  // A waiter whose call ended (signal) no longer counts.
  (wf as PipeFile).unref();
  (rf as PipeFile).unref();
  wr.syscall = newState();
  assert.ok(openFifo('1:5', O_WRONLY, wr) instanceof Block);
  wr.syscall = null;
  assert.equal(errnoOf(() => openFifo('1:5', O_WRONLY | O_NONBLOCK, fakeTask(k))), -ENXIO);
  const rw = openFifo('1:5', O_RDWR, rd);
  assert.ok(rw instanceof PipeFile);
  assert.ok(isBlock(new Block([])));
});
