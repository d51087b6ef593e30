// System V shared memory (ipc/shm.c). A segment's pages are a host memfd, so every
// process that attaches it maps the same pages; shmat maps the memfd into the task by
// injection. The kernel keeps each process's attach addresses to count shm_nattch: fork
// copies them, exec and exit drop them, shmdt unmaps one. (A guest's own munmap of an
// attached range runs natively and is not seen: nattch then stays high until exit.)
import type { Task } from '../../task/task.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import { Errno } from '../../errno.js';
import { EEXIST, EINVAL, ENOSPC, EPERM } from '../../abi/errno.js';
import { SYS } from '../../abi/syscalls.js';
import * as hostFiles from '../../../host/files.js';
import { injectCall, openInTask, MAP_SHARED, MAP_FIXED, MAP_FIXED_NOREPLACE, PROT_READ, PROT_WRITE, PROT_EXEC } from '../../mm/inject.js';
import {
  IpcPerm, checkPerm, capable, encodePerm, nowSec,
  S_IRUGO, S_IWUGO, S_IXUGO, IPC64_PERM_SIZE, type IpcObject,
} from './ids.js';
import { ipcNamespace, SHMMNI } from './namespace.js';

export const SHM_RDONLY = 0o10000, SHM_RND = 0o20000, SHM_REMAP = 0o40000, SHM_EXEC = 0o100000;
export const SHM_HUGETLB = 0o4000, SHM_NORESERVE = 0o10000;
/** Mode bits: marked for destruction at the last detach; locked in memory. */
export const SHM_DEST = 0o1000, SHM_LOCKED = 0o2000;
export const SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;
export const SHMLBA = 4096;
const PAGE = 4096;
export const SHMMIN = 1;
/** ULONG_MAX - 2^24, as Linux's default shmmax and shmall (kept exact as bigint). */
export const SHMMAX = (1n << 64n) - 1n - (1n << 24n);
export const SHMALL = SHMMAX;
export const SHMID_DS_SIZE = 112;
export const SHMINFO_SIZE = 72;
export const SHM_INFO_SIZE = 48;

export class ShmSegment implements IpcObject {
  readonly perm: IpcPerm;
  /** The host memfd holding the pages; -1 once destroyed. */
  hostFd: number;
  atime = 0;
  dtime = 0;
  ctime = nowSec();
  lpid = 0;
  nattch = 0;
  constructor(key: number, t: Task, flg: number, readonly size: number, readonly cpid: number) {
    this.perm = new IpcPerm(key, t.cred, flg);
    this.hostFd = hostFiles.memfd(`SYSV${(key >>> 0).toString(16).padStart(8, '0')}`);
    try {
      hostFiles.ftruncate(this.hostFd, size);
    } catch (e) {
      hostFiles.close(this.hostFd);
      throw e;
    }
  }

  get pages(): number {
    return Math.ceil(this.size / PAGE);
  }

  /** Pages the segment has touched (the memfd's allocated blocks). */
  get rssPages(): number {
    if (this.hostFd < 0) return 0;
    try {
      return Math.ceil((hostFiles.fstat(this.hostFd).blocks * 512) / PAGE);
    } catch {
      return 0;
    }
  }

  /** /proc/<pid>/maps names attached segments as Linux does. */
  get mapName(): string {
    return `/SYSV${(this.perm.key >>> 0).toString(16).padStart(8, '0')} (deleted)`;
  }

  destroy(): void {
    if (this.hostFd >= 0) hostFiles.close(this.hostFd);
    this.hostFd = -1;
  }
}

interface Attach { seg: ShmSegment; len: number }
/** Each process's attachments by address (threads share their process's). */
const attachments = new WeakMap<ThreadGroup, Map<number, Attach>>();

function attachMap(g: ThreadGroup): Map<number, Attach> {
  let m = attachments.get(g);
  if (!m) attachments.set(g, (m = new Map()));
  return m;
}

function nsOf(t: Task) {
  return ipcNamespace(t.kernel).shm;
}

/** Destroys a segment once it is both removed and unattached. */
function maybeDestroy(t: { kernel: object }, seg: ShmSegment): void {
  if (seg.nattch === 0 && (seg.perm.mode & SHM_DEST)) {
    ipcNamespace(t.kernel).shm.remove(seg);
    seg.destroy();
  }
}

export function shmget(t: Task, key: number, size: number, flg: number): number {
  const ids = nsOf(t);
  return ids.getOrCreate(t.cred, key, flg, () => {
    if (size < SHMMIN || BigInt(size) > SHMMAX) throw new Errno(EINVAL);
    const pages = Math.ceil(size / PAGE);
    const used = ids.all().reduce((n, s) => n + s.pages, 0);
    if (BigInt(used + pages) > SHMALL) throw new Errno(ENOSPC);
    return new ShmSegment(key, t, flg, size, t.pid);
  }, (seg) => {
    if (seg.size < size) throw new Errno(EINVAL);
  });
}

/** shmat: maps the segment into the task; returns the address. */
export function shmat(t: Task, id: number, addr: number, flg: number): number {
  if (addr) {
    if (addr % SHMLBA) {
      if (!(flg & SHM_RND)) throw new Errno(EINVAL);
      addr -= addr % SHMLBA;
      if (addr === 0 && (flg & SHM_REMAP)) throw new Errno(EINVAL);
    }
  }
  let prot = PROT_READ, acc = S_IRUGO;
  if (!(flg & SHM_RDONLY)) { prot |= PROT_WRITE; acc |= S_IWUGO; }
  if (flg & SHM_EXEC) { prot |= PROT_EXEC; acc |= S_IXUGO; }
  const seg = nsOf(t).get(id);
  checkPerm(t.cred, seg.perm, acc);
  const len = seg.pages * PAGE;
  let flags = MAP_SHARED;
  if (addr) flags |= flg & SHM_REMAP ? MAP_FIXED : MAP_FIXED_NOREPLACE;
  const k = t.kernel;
  const fd = openInTask(k, t, seg.hostFd, (prot & PROT_WRITE) !== 0);
  let r: number;
  try {
    r = injectCall(k, t, SYS.mmap, [addr, len, prot, flags, fd, 0]);
  } finally {
    injectCall(k, t, SYS.close, [fd]);
  }
  if (r < 0 && r > -4096) throw new Errno(-r === EEXIST ? EINVAL : -r);
  try {
    const st = hostFiles.fstat(seg.hostFd);
    t.group.mappedFiles.set(`${st.dev}:${st.ino}`, seg.mapName);
  } catch { /* only /proc/pid/maps' name */ }
  const m = attachMap(t.group);
  const old = m.get(r);
  if (old) dropAttach(t, old); // SHM_REMAP over an earlier attach at the same address
  m.set(r, { seg, len });
  seg.nattch++;
  seg.atime = nowSec();
  seg.lpid = t.pid;
  return r;
}

function dropAttach(t: { kernel: object }, a: Attach, pid?: number): void {
  a.seg.nattch--;
  a.seg.dtime = nowSec();
  if (pid !== undefined) a.seg.lpid = pid;
  maybeDestroy(t, a.seg);
}

/** shmdt: unmaps the attach at `addr`. */
export function shmdt(t: Task, addr: number): number {
  if (addr % PAGE) throw new Errno(EINVAL);
  const m = attachMap(t.group);
  const a = m.get(addr);
  if (!a) throw new Errno(EINVAL);
  const r = injectCall(t.kernel, t, SYS.munmap, [addr, a.len]);
  if (r < 0) throw new Errno(-r);
  m.delete(addr);
  dropAttach(t, a, t.pid);
  return 0;
}

/** fork: the child's copy of the address space holds every attach too (shm_open). */
export function shmFork(parent: ThreadGroup, child: ThreadGroup): void {
  const m = attachments.get(parent);
  if (!m || m.size === 0) return;
  const c = attachMap(child);
  for (const [addr, a] of m) {
    c.set(addr, { ...a });
    a.seg.nattch++;
    a.seg.atime = nowSec();
    a.seg.lpid = parent.tgid;
  }
}

/** exec and exit: the old address space, and every attach in it, is gone. */
export function shmDetachAll(k: object, g: ThreadGroup): void {
  const m = attachments.get(g);
  if (!m) return;
  attachments.delete(g);
  for (const a of m.values()) dropAttach({ kernel: k }, a, g.tgid);
}

export function encodeShmidDs(seg: ShmSegment): Buffer {
  const b = Buffer.alloc(SHMID_DS_SIZE);
  encodePerm(b, 0, seg.perm);
  b.writeBigUInt64LE(BigInt(seg.size), IPC64_PERM_SIZE);
  b.writeBigInt64LE(BigInt(seg.atime), 56);
  b.writeBigInt64LE(BigInt(seg.dtime), 64);
  b.writeBigInt64LE(BigInt(seg.ctime), 72);
  b.writeInt32LE(seg.cpid, 80);
  b.writeInt32LE(seg.lpid, 84);
  b.writeBigUInt64LE(BigInt(seg.nattch), 88);
  return b;
}

export function encodeShminfo(): Buffer {
  const b = Buffer.alloc(SHMINFO_SIZE);
  b.writeBigUInt64LE(SHMMAX, 0);
  b.writeBigUInt64LE(BigInt(SHMMIN), 8);
  b.writeBigUInt64LE(BigInt(SHMMNI), 16);
  b.writeBigUInt64LE(BigInt(SHMMNI), 24); // shmseg
  b.writeBigUInt64LE(SHMALL, 32);
  return b;
}

export function encodeShmInfo(t: Task): Buffer {
  const ids = nsOf(t);
  const segs = ids.all();
  const b = Buffer.alloc(SHM_INFO_SIZE);
  b.writeInt32LE(ids.inUse, 0);
  b.writeBigUInt64LE(BigInt(segs.reduce((n, s) => n + s.pages, 0)), 8);
  b.writeBigUInt64LE(BigInt(segs.reduce((n, s) => n + s.rssPages, 0)), 16);
  return b;
}

/** The id table, for shmctl's STAT commands and /proc. */
export function shmIds(t: Task) {
  return nsOf(t);
}

/** IPC_RMID: destroy now, or at the last detach (the key is freed at once). */
export function shmRmid(t: Task, seg: ShmSegment): void {
  seg.perm.mode |= SHM_DEST;
  nsOf(t).dropKey(seg);
  maybeDestroy(t, seg);
}

export function shmLock(t: Task, seg: ShmSegment, lock: boolean): void {
  if (!capable(t.cred) && t.cred.euid !== seg.perm.uid && t.cred.euid !== seg.perm.cuid) throw new Errno(EPERM);
  if (lock) seg.perm.mode |= SHM_LOCKED;
  else seg.perm.mode &= ~SHM_LOCKED;
}

/** /proc/sysvipc/shm */
export function shmProcText(kernel: object): string {
  let out = '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n';
  for (const s of ipcNamespace(kernel).shm.all()) {
    const p = s.perm;
    out += `${String(p.key | 0).padStart(10)} ${String(p.id).padStart(10)}  ${p.mode.toString(8).padStart(4)} ${String(s.size).padStart(21)} ` +
      `${String(s.cpid).padStart(5)} ${String(s.lpid).padStart(5)}  ${String(s.nattch).padStart(5)} ${String(p.uid).padStart(5)} ` +
      `${String(p.gid).padStart(5)} ${String(p.cuid).padStart(5)} ${String(p.cgid).padStart(5)} ${String(s.atime).padStart(10)} ` +
      `${String(s.dtime).padStart(10)} ${String(s.ctime).padStart(10)} ${String(s.rssPages * PAGE).padStart(21)} ${'0'.padStart(21)}\n`;
  }
  return out;
}
