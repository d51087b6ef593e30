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
    group: { tgid: pid, cred, fds, rlimits: { get: () => ({ cur: 1024, max: 4096 }) } },
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
export function rerun(h: Handler | undefined, t: Task, why: 'event' | 'timeout' = 'event'): SyscallReturn {
  const s = t.syscall!;
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
