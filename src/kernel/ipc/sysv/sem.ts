// System V semaphore sets (ipc/sem.c). A semop that cannot proceed sleeps on its set's wait
// queue and is re-run whenever the set changes; SEM_UNDO adjustments are kept per process
// and applied when it exits.
import type { Task, SyscallState } from '../../task/task.js';
import { Block } from '../../task/task.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import { WaitQueue } from '../../sched/wait-queue.js';
import { monotonicMs } from '../../sched/timers.js';
import { Errno } from '../../errno.js';
import { EAGAIN, EFBIG, EIDRM, EINVAL, ENOSPC, ERANGE } from '../../abi/errno.js';
import { IPC_NOWAIT, IpcPerm, checkPerm, encodePerm, nowSec, S_IRUGO, S_IWUGO, type IpcObject } from './ids.js';
import { ipcNamespace, SEMMNI } from './namespace.js';

export const SEM_UNDO = 0x1000;
export const GETPID = 11, GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16, SETALL = 17;
export const SEM_STAT = 18, SEM_INFO = 19, SEM_STAT_ANY = 20;
export const SEMMSL = 32000, SEMMNS = SEMMNI * SEMMSL, SEMOPM = 500, SEMVMX = 32767, SEMAEM = SEMVMX;
const SEMUME = SEMOPM, SEMMAP = SEMMNS, SEMMNU = SEMMNS, SEMUSZ = 20;
export const SEMID_DS_SIZE = 104;
export const SEMINFO_SIZE = 40;

export interface SemOp { num: number; op: number; flg: number }

interface Pending { task: Task; s: SyscallState; sops: readonly SemOp[] }

export class SemSet implements IpcObject {
  readonly perm: IpcPerm;
  readonly vals: number[];
  readonly pids: number[];
  otime = 0;
  ctime = nowSec();
  /** Woken on every change of the set's values and at IPC_RMID. */
  readonly queue = new WaitQueue();
  /** Each process's SEM_UNDO adjustments (semadj), by semaphore. */
  readonly undo = new Map<ThreadGroup, Int32Array>();
  readonly pending = new Set<Pending>();
  constructor(key: number, t: Task, flg: number, readonly nsems: number) {
    this.perm = new IpcPerm(key, t.cred, flg);
    this.vals = new Array<number>(nsems).fill(0);
    this.pids = new Array<number>(nsems).fill(0);
  }

  /** GETNCNT / GETZCNT: ops of sleeping semops on `num` waiting for an increase / for zero. */
  waiters(num: number, zero: boolean): number {
    let n = 0;
    for (const p of [...this.pending]) {
      if (p.task.syscall !== p.s || !p.task.kernel.isParked(p.task)) {
        this.pending.delete(p);
        continue;
      }
      for (const o of p.sops) {
        if (o.num !== num || (o.flg & IPC_NOWAIT)) continue;
        if (zero ? o.op === 0 : o.op < 0) n++;
      }
    }
    return n;
  }

  /** SETVAL / SETALL: the adjustments of the semaphores set are void in every process. */
  clearUndo(num?: number): void {
    for (const adj of this.undo.values()) {
      if (num === undefined) adj.fill(0);
      else adj[num] = 0;
    }
  }

  changed(): void {
    this.queue.wake();
  }
}

function idsOf(t: Task) {
  return ipcNamespace(t.kernel).sem;
}

export function semget(t: Task, key: number, nsems: number, flg: number): number {
  if (nsems < 0 || nsems > SEMMSL) throw new Errno(EINVAL);
  const ids = idsOf(t);
  return ids.getOrCreate(t.cred, key, flg, () => {
    if (nsems === 0) throw new Errno(EINVAL);
    if (ids.all().reduce((n, s) => n + s.nsems, 0) + nsems > SEMMNS) throw new Errno(ENOSPC);
    return new SemSet(key, t, flg, nsems);
  }, (set) => {
    if (nsems > set.nsems) throw new Errno(EINVAL);
  });
}

interface SemopScratch { set: SemSet; sops: readonly SemOp[]; deadline?: number }

/**
 * semop / semtimedop: all operations happen at once or none does. `decode` reads the
 * operations and timeout from the caller (once, before the set is looked up). Returns 0, or a Block
 * to sleep until the set changes (re-run then), or throws (EAGAIN, EIDRM, ERANGE …).
 */
export function semop(t: Task, s: SyscallState, id: number, decode: () => { sops: readonly SemOp[]; timeoutMs?: number }): number | Block {
  let sc = s.scratch as SemopScratch | undefined;
  if (!sc) {
    const { sops, timeoutMs } = decode();
    const set = idsOf(t).get(id);
    if (sops.some((o) => o.num >= set.nsems)) throw new Errno(EFBIG);
    const alter = sops.some((o) => o.op !== 0);
    checkPerm(t.cred, set.perm, alter ? S_IWUGO : S_IRUGO);
    sc = { set, sops, deadline: timeoutMs === undefined ? undefined : monotonicMs() + timeoutMs };
    s.scratch = sc;
  }
  const { set, sops } = sc;
  if (!set.perm.live) throw new Errno(EIDRM);
  const r = tryOps(t, set, sops);
  if (r === 'done') return 0;
  if (r & IPC_NOWAIT) throw new Errno(EAGAIN);
  if (s.wake === 'timeout') throw new Errno(EAGAIN);
  set.pending.add({ task: t, s, sops });
  // Never restarted after a handler, as semop(2) says.
  return new Block([set.queue], sc.deadline, 'never');
}

/** Applies the ops if all can proceed; else returns the flags of the op that would block. */
function tryOps(t: Task, set: SemSet, sops: readonly SemOp[]): 'done' | number {
  for (const p of set.pending) if (p.task === t) set.pending.delete(p);
  const vals = [...set.vals];
  const undoNeeded = sops.some((o) => o.flg & SEM_UNDO);
  const adj = undoNeeded ? Int32Array.from(set.undo.get(t.group) ?? new Int32Array(set.nsems)) : null;
  for (const o of sops) {
    const cur = vals[o.num]!;
    if (o.op === 0) {
      if (cur !== 0) return o.flg;
      continue;
    }
    const next = cur + o.op;
    if (next < 0) return o.flg;
    if (next > SEMVMX) throw new Errno(ERANGE);
    if (o.flg & SEM_UNDO) {
      const u = adj![o.num]! - o.op;
      if (u < -SEMAEM - 1 || u > SEMAEM) throw new Errno(ERANGE);
      adj![o.num] = u;
    }
    vals[o.num] = next;
  }
  let altered = false;
  for (let i = 0; i < set.nsems; i++) if (vals[i] !== set.vals[i]) altered = true;
  for (const o of sops) set.pids[o.num] = t.pid;
  set.vals.splice(0, set.nsems, ...vals);
  if (adj) set.undo.set(t.group, adj);
  set.otime = nowSec();
  if (altered) set.changed();
  return 'done';
}

/** Exit: the process's SEM_UNDO adjustments are applied (clamped to 0 … SEMVMX). */
export function semExit(kernel: object, g: ThreadGroup): void {
  for (const set of ipcNamespace(kernel).sem.all()) {
    const adj = set.undo.get(g);
    if (!adj) continue;
    set.undo.delete(g);
    let changed = false;
    for (let i = 0; i < set.nsems; i++) {
      if (!adj[i]) continue;
      set.vals[i] = Math.min(SEMVMX, Math.max(0, set.vals[i]! + adj[i]!));
      set.pids[i] = g.tgid;
      changed = true;
    }
    if (changed) {
      set.otime = nowSec();
      set.changed();
    }
  }
}

export function semRmid(t: Task, set: SemSet): void {
  idsOf(t).remove(set);
  set.undo.clear();
  set.pending.clear();
  set.changed();
}

export function encodeSemidDs(set: SemSet): Buffer {
  const b = Buffer.alloc(SEMID_DS_SIZE);
  encodePerm(b, 0, set.perm);
  b.writeBigInt64LE(BigInt(set.otime), 48);
  b.writeBigInt64LE(BigInt(set.ctime), 64);
  b.writeBigUInt64LE(BigInt(set.nsems), 80);
  return b;
}

/** IPC_INFO gives the limits; SEM_INFO the same with semusz/semaem as counts in use. */
export function encodeSeminfo(t: Task, usage: boolean): Buffer {
  const ids = idsOf(t);
  const b = Buffer.alloc(SEMINFO_SIZE);
  const v = [SEMMAP, SEMMNI, SEMMNS, SEMMNU, SEMMSL, SEMOPM, SEMUME, SEMUSZ, SEMVMX, SEMAEM];
  if (usage) {
    v[7] = ids.inUse;
    v[9] = ids.all().reduce((n, s) => n + s.nsems, 0);
  }
  v.forEach((x, i) => b.writeInt32LE(x, i * 4));
  return b;
}

/** /proc/sysvipc/sem */
export function semProcText(kernel: object): string {
  let out = '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n';
  for (const s of ipcNamespace(kernel).sem.all()) {
    const p = s.perm;
    out += `${String(p.key | 0).padStart(10)} ${String(p.id).padStart(10)}  ${p.mode.toString(8).padStart(4)} ${String(s.nsems).padStart(10)} ` +
      `${String(p.uid).padStart(5)} ${String(p.gid).padStart(5)} ${String(p.cuid).padStart(5)} ${String(p.cgid).padStart(5)} ` +
      `${String(s.otime).padStart(10)} ${String(s.ctime).padStart(10)}\n`;
  }
  return out;
}
