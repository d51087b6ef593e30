// Host syscalls the kernel runs inside a task on its behalf: mapping a backing file (the
// tracee opens the kernel's host fd through /proc/<tuml>/fd/N, maps it, closes it).
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { MmapSource } from '../fs/file.js';
import { REG } from '../../host/ptrace/constants.js';
import { SYS } from '../abi/syscalls.js';
import { Errno } from '../errno.js';
import { O_RDONLY, O_RDWR, O_CLOEXEC } from '../abi/fcntl.js';
import * as hostFiles from '../../host/files.js';

export const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, PROT_NONE = 0;
export const MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_FIXED = 0x10,
  MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_DENYWRITE = 0x800, MAP_EXECUTABLE = 0x1000,
  MAP_LOCKED = 0x2000, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_NONBLOCK = 0x10000,
  MAP_STACK = 0x20000, MAP_HUGETLB = 0x40000, MAP_FIXED_NOREPLACE = 0x100000;

/** A scratch area in the task's memory for injected call arguments: below its stack's red zone. */
export function scratchAddress(t: Task): number {
  return Math.floor((t.tracee.getRegNum(REG.rsp) - 128 - 8192) / 16) * 16;
}

export function injectCall(k: Kernel, t: Task, nr: number, args: readonly number[]): number {
  return k.platform.inject(t.tracee, nr, args);
}

/** Opens the kernel's host fd inside the task; returns the tracee-side fd. */
export function openInTask(k: Kernel, t: Task, hostFd: number, writable: boolean): number {
  const path = Buffer.from(`/proc/${process.pid}/fd/${hostFd}\0`);
  const at = scratchAddress(t);
  t.tracee.writeFrom(at, path);
  const fd = injectCall(k, t, SYS.openat, [-100, at, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0]);
  if (fd < 0) throw new Errno(-fd);
  return fd;
}

/** mmap of a kernel-supplied backing file into the task. Returns the address or throws. */
export function mapSource(k: Kernel, t: Task, src: MmapSource, addr: number, len: number, prot: number, flags: number, off: number, guestPath: string): number {
  const fd = openInTask(k, t, src.hostFd, src.writable);
  if (process.env.TUML_DEBUG) process.stderr.write(`mapSource ${src.hostFd} ${fd} ${addr.toString(16)} ${len} ${prot} ${flags} ${off}\n`);
  try {
    const r = injectCall(k, t, SYS.mmap, [addr, len, prot, flags & ~MAP_ANONYMOUS, fd, off]);
    if (r < 0 && r > -4096) throw new Errno(-r);
    recordMapping(t, src.hostFd, guestPath);
    return r;
  } finally {
    injectCall(k, t, SYS.close, [fd]);
  }
}

export function injectAnonMap(k: Kernel, t: Task, addr: number, len: number, prot: number, flags: number): number {
  const r = injectCall(k, t, SYS.mmap, [addr, len, prot, flags | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0]);
  if (r < 0 && r > -4096) throw new Errno(-r);
  return r;
}

function recordMapping(t: Task, hostFd: number, guestPath: string): void {
  try {
    const st = hostFiles.fstat(hostFd);
    t.group.mappedFiles.set(`${st.dev}:${st.ino}`, guestPath);
  } catch { /* only cosmetic (/proc/pid/maps) */ }
}
