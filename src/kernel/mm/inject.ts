// Host syscalls the kernel runs inside a task on its behalf: mapping a backing file (the
// tracee opens the kernel's host fd through /proc/<tuml>/fd/N, maps it, and keeps that fd
// for the next mapping of the same file).
import type { Kernel } from '../kernel.js';
import { Native, type Task } from '../task/task.js';
import type { MmapSource } from '../fs/file.js';
import { REG, PTRACE_EVENT_SECCOMP } from '../../host/ptrace/constants.js';
import { SIGTRAP } from '../abi/signals.js';
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

/**
 * Host fds the kernel opened inside a task for mapping, kept open so that mapping the same
 * file again (each segment of a program, each library ld.so maps) costs one injected mmap
 * instead of openat + mmap + close: four ptrace stops fewer. Only the kernel touches a
 * tracee's host fd table (every guest fd call is emulated), so a task's entries stay true
 * until its host image is replaced (O_CLOEXEC closes them then); each use still checks
 * /proc/<tid>/fd/<n> on the host, so exec or anything unforeseen means a miss, never a
 * wrong file. Per task, not per process: a thread may have a table of its own.
 */
interface CachedFd { fd: number; dev: number; ino: number }
const FD_CACHE_MAX = 16;
const fdCaches = new WeakMap<Task, Map<string, CachedFd>>();

/** The task's open host fd for this file, if it has one (no injection). */
function lookupFd(t: Task, src: MmapSource, dev: number, ino: number): number | null {
  const cache = fdCaches.get(t);
  if (!cache) return null;
  const key = `${dev}:${ino}:${src.writable ? 'w' : 'r'}`;
  const hit = cache.get(key);
  if (!hit) return null;
  cache.delete(key);
  const id = t.tracee.hostFdIdentity(hit.fd);
  if (!id || id.dev !== dev || id.ino !== ino) return null;
  cache.set(key, hit); // most recently used last
  return hit.fd;
}

function cachedFd(k: Kernel, t: Task, src: MmapSource, dev: number, ino: number): number {
  const known = lookupFd(t, src, dev, ino);
  if (known !== null) return known;
  let cache = fdCaches.get(t);
  if (!cache) fdCaches.set(t, (cache = new Map()));
  const fd = openInTask(k, t, src.hostFd, src.writable);
  // A number the host reused (after an exec closed the old fd) is no longer the old entry's.
  for (const [kk, e] of cache) if (e.fd === fd) cache.delete(kk);
  cache.set(`${dev}:${ino}:${src.writable ? 'w' : 'r'}`, { fd, dev, ino });
  if (cache.size > FD_CACHE_MAX) {
    const [oldKey, old] = cache.entries().next().value as [string, CachedFd];
    cache.delete(oldKey);
    const id = t.tracee.hostFdIdentity(old.fd);
    if (id && id.dev === old.dev && id.ino === old.ino) injectCall(k, t, SYS.close, [old.fd]);
  }
  return fd;
}

/** Whether the task still sits in the seccomp stop of its own mmap (no injection ran since). */
function inOwnMmapStop(t: Task): boolean {
  if (t.syscall?.nr !== SYS.mmap || t.tracee.getRegInt(REG.orig_rax) !== SYS.mmap) return false;
  try {
    return t.tracee.loadSiginfo().readInt32LE(8) === (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8));
  } catch {
    return false;
  }
}

/**
 * The guest's own mmap(2) of a kernel-supplied file. When the task already holds a host fd
 * for the file, the call's fd argument is pointed at it and the host runs the call itself
 * (seccomp lets a call its tracer has seen go through): one stop instead of three.
 * Otherwise the mapping is injected (and the fd kept for next time).
 */
export function mapSourceForMmap(k: Kernel, t: Task, src: MmapSource, addr: number, len: number, prot: number, flags: number, off: number, guestPath: string): number | Native {
  let st: { dev: number; ino: number } | null = null;
  try {
    st = hostFiles.fstat(src.hostFd);
  } catch { /* injected below */ }
  const fd = st ? lookupFd(t, src, st.dev, st.ino) : null;
  if (st && fd !== null && inOwnMmapStop(t)) {
    t.group.mappedFiles.set(`${st.dev}:${st.ino}`, guestPath); // for /proc/pid/maps
    t.tracee.setReg(REG.r8, fd);
    return new Native();
  }
  return mapSource(k, t, src, addr, len, prot, flags, off, guestPath);
}

/** mmap of a kernel-supplied backing file into the task. Returns the address or throws. */
export function mapSource(k: Kernel, t: Task, src: MmapSource, addr: number, len: number, prot: number, flags: number, off: number, guestPath: string): number {
  let st: { dev: number; ino: number } | null = null;
  try {
    st = hostFiles.fstat(src.hostFd);
  } catch { /* mapped without the cache below */ }
  const fd = st ? cachedFd(k, t, src, st.dev, st.ino) : openInTask(k, t, src.hostFd, src.writable);
  if (process.env.TUML_DEBUG) process.stderr.write(`mapSource ${src.hostFd} ${fd} ${addr.toString(16)} ${len} ${prot} ${flags} ${off}\n`);
  try {
    const r = injectCall(k, t, SYS.mmap, [addr, len, prot, flags & ~MAP_ANONYMOUS, fd, off]);
    if (r < 0 && r > -4096) throw new Errno(-r);
    if (st) t.group.mappedFiles.set(`${st.dev}:${st.ino}`, guestPath); // for /proc/pid/maps
    return r;
  } finally {
    if (!st) injectCall(k, t, SYS.close, [fd]);
  }
}

export function injectAnonMap(k: Kernel, t: Task, addr: number, len: number, prot: number, flags: number): number {
  const r = injectCall(k, t, SYS.mmap, [addr, len, prot, flags | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0]);
  if (r < 0 && r > -4096) throw new Errno(-r);
  return r;
}
