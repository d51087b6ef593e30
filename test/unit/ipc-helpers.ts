// Fake tasks for IPC unit tests: guest memory backed by a Buffer, a real FdTable, a kernel
// stub with a TimerList that the test runs by hand, and SIGPIPE recorded instead of sent.
import { GuestMemory } from '../../src/kernel/mm/guest-memory.js';
import type { Tracee } from '../../src/host/ptrace/tracee.js';
import { FdTable } from '../../src/kernel/fs/fd-table.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { TimerList } from '../../src/kernel/sched/timers.js';
import type { Task, SyscallState, SyscallReturn } from '../../src/kernel/task/task.js';
import { Block } from '../../src/kernel/task/task.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Handler } from '../../src/kernel/syscalls/handler.js';
import { Errno } from '../../src/kernel/errno.js';
import { setSigpipeSender } from '../../src/kernel/ipc/sigpipe.js';

export const MEM_BASE = 0x10000;
export const MEM_SIZE = 1 << 20;

export class FakeMemory {
  readonly buf = Buffer.alloc(MEM_SIZE);
  private brk = MEM_BASE;
  readInto(addr: number, out: Buffer, len = out.length): number {
    const off = addr - MEM_BASE;
    if (off < 0 || off >= MEM_SIZE) return 0;
    const n = Math.min(len, MEM_SIZE - off);
    this.buf.copy(out, 0, off, off + n);
    return n;
  }
  writeFrom(addr: number, data: Buffer, len = data.length): number {
    const off = addr - MEM_BASE;
    if (off < 0 || off >= MEM_SIZE) return 0;
    const n = Math.min(len, MEM_SIZE - off);
    data.copy(this.buf, off, 0, n);
    return n;
  }
  /** Allocates guest memory (8-aligned), optionally filled. */
  alloc(n: number | Buffer): number {
    const size = typeof n === 'number' ? n : n.length;
    const a = this.brk;
    this.brk += (size + 7) & ~7;
    if (this.brk > MEM_BASE + MEM_SIZE) throw new Error('fake memory exhausted');
    if (typeof n !== 'number') this.writeFrom(a, n);
    else this.buf.fill(0, a - MEM_BASE, a - MEM_BASE + size);
    return a;
  }
  bytes(addr: number, n: number): Buffer {
    return Buffer.from(this.buf.subarray(addr - MEM_BASE, addr - MEM_BASE + n));
  }
}

export interface FakeKernel { timers: TimerList; isParked(t: Task): boolean; now: number }

export function fakeKernel(): Kernel {
  const k = { timers: new TimerList(() => {}), isParked: () => false };
  return k as unknown as Kernel;
}

export interface FakeTask extends Task { raw: FakeMemory; sigpipes: number }

let nextPid = 100;
export function fakeTask(kernel = fakeKernel(), opts: { uid?: number; gid?: number; pid?: number } = {}): FakeTask {
  const raw = new FakeMemory();
  const mem = new GuestMemory(raw as unknown as Tracee);
  const pid = opts.pid ?? nextPid++;
  const cred = new Cred(opts.uid ?? 0, opts.uid ?? 0, opts.uid ?? 0, opts.uid ?? 0, opts.gid ?? 0, opts.gid ?? 0, opts.gid ?? 0, opts.gid ?? 0);
  const fds = new FdTable();
  const t = {
    raw, mem, fds, kernel, cred, pid, tid: pid, sigpipes: 0,
    syscall: newState(),
    group: { tgid: pid, cred, fds },
    fs: null,
  };
  return t as unknown as FakeTask;
}

export function newState(): SyscallState {
  return { nr: 0, args: [], raw: [], wake: 'first' };
}

const sigpipeTasks: FakeTask[] = [];
setSigpipeSender((t) => {
  (t as FakeTask).sigpipes++;
  sigpipeTasks.push(t as FakeTask);
});

/** Calls a handler the way the kernel does: a new SyscallState, Errno → -errno. */
export function call(h: Handler | undefined, t: Task, args: number[], state?: SyscallState): SyscallReturn {
  if (!h) throw new Error('no such handler');
  const s = state ?? newState();
  s.args = args;
  (t as { syscall: SyscallState | null }).syscall = s;
  try {
    return h(t, args, s);
  } catch (e) {
    if (e instanceof Errno) return -e.errno;
    throw e;
  }
}

/** Re-runs a blocked call after a wake-up, with the same state. */
export function rerun(h: Handler | undefined, t: Task, why: 'event' | 'timeout' = 'event', state?: SyscallState): SyscallReturn {
  const s = state ?? t.syscall!;
  s.wake = why;
  return call(h, t, s.args, s);
}

export function isBlock(r: SyscallReturn): r is Block {
  return r instanceof Block;
}

/** Runs a subsystem operation, returning -errno on Errno. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof Errno) return -e.errno;
    throw e;
  }
}

import * as nodeFs from 'node:fs';
import * as nodeOs from 'node:os';
import * as nodePath from 'node:path';
import { HostFs } from '../../src/kernel/fs/hostfs/hostfs.js';
import { MountTable } from '../../src/kernel/fs/mount-table.js';
import { FsContext } from '../../src/kernel/fs/fs-context.js';

/** Gives the kernel a writable hostfs root on a fresh temp dir; tasks get it as / and cwd. */
export function withHostFs(kernel: Kernel, ...tasks: Task[]): string {
  const dir = nodeFs.mkdtempSync(nodePath.join(nodeOs.tmpdir(), 'tuml-ipc-'));
  const mt = new MountTable(new HostFs(dir, false), dir);
  (kernel as { mounts: MountTable }).mounts = mt;
  for (const t of tasks) (t as unknown as { fs: FsContext }).fs = new FsContext(mt.rootPath, mt.rootPath);
  return dir;
}

/** struct sockaddr_un bytes for a path or (leading NUL) abstract name. */
export function sockaddrUn(name: string | Buffer): Buffer {
  const b = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
  const head = Buffer.alloc(2);
  head.writeUInt16LE(1, 0);
  const nul = typeof name === 'string' && !name.startsWith('\0') ? Buffer.alloc(1) : Buffer.alloc(0);
  return Buffer.concat([head, b, nul]);
}

/** Lays out a msghdr with one iovec (and optional control and name buffers) in guest memory. */
export function msghdr(t: FakeTask, o: { data?: Buffer; iovLen?: number; control?: Buffer; controlLen?: number; nameLen?: number; name?: Buffer }): { msg: number; iovBase: number; ctl: number; name: number } {
  const data = o.data ?? Buffer.alloc(o.iovLen ?? 0);
  const iovBase = t.raw.alloc(data.length ? data : 8);
  const iov = t.raw.alloc(16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(BigInt(iovBase), 0);
  iv.writeBigUInt64LE(BigInt(data.length), 8);
  t.raw.writeFrom(iov, iv);
  const ctlLen = o.control ? o.control.length : o.controlLen ?? 0;
  const ctl = ctlLen ? t.raw.alloc(o.control ?? ctlLen) : 0;
  const nameLen = o.name ? o.name.length : o.nameLen ?? 0;
  const name = nameLen ? t.raw.alloc(o.name ?? nameLen) : 0;
  const m = Buffer.alloc(56);
  m.writeBigUInt64LE(BigInt(name), 0);
  m.writeInt32LE(nameLen, 8);
  m.writeBigUInt64LE(BigInt(iov), 16);
  m.writeBigUInt64LE(1n, 24);
  m.writeBigUInt64LE(BigInt(ctl), 32);
  m.writeBigUInt64LE(BigInt(ctlLen), 40);
  const msg = t.raw.alloc(m);
  return { msg, iovBase, ctl, name };
}

export function cmsgBuf(level: number, type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(16 + ((data.length + 7) & ~7));
  b.writeBigUInt64LE(BigInt(16 + data.length), 0);
  b.writeInt32LE(level, 8);
  b.writeInt32LE(type, 12);
  data.copy(b, 16);
  return b;
}
