// What the three System V IPC object kinds share (ipc/util.c): the kernel_ipc_perm of an
// object, the id table with its key index and cyclic index allocation, the get-or-create
// path of shmget/semget/msgget, and the permission checks against the caller's creds.
import { Errno } from '../../errno.js';
import { EACCES, EEXIST, EINVAL, ENOENT, ENOSPC, EPERM } from '../../abi/errno.js';
import type { Cred } from '../../task/cred.js';

export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000, IPC_EXCL = 0o2000, IPC_NOWAIT = 0o4000;
export const IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;
export const S_IRUGO = 0o444, S_IWUGO = 0o222, S_IXUGO = 0o111, S_IRWXUGO = 0o777;
/** An id is index + seq * IPCMNI; the seq wraps so that ids stay positive ints. */
export const IPCMNI = 32768;
const SEQ_MAX = Math.floor(0x7fffffff / IPCMNI);
/** idr_alloc_cyclic's smallest cycle (RADIX_TREE_MAP_SIZE): indexes are not reused at once. */
const MIN_CYCLE = 64;
export const IPC64_PERM_SIZE = 48;

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** The ownership and mode every IPC object carries. */
export class IpcPerm {
  uid: number;
  gid: number;
  readonly cuid: number;
  readonly cgid: number;
  /** 0777 access bits plus kind-specific flags (SHM_DEST, SHM_LOCKED). */
  mode: number;
  id = -1;
  seq = 0;
  /** Cleared when the object leaves the id table (IPC_RMID): waiters then see EIDRM. */
  live = true;
  constructor(public key: number, cred: Cred, mode: number) {
    this.uid = this.cuid = cred.euid;
    this.gid = this.cgid = cred.egid;
    this.mode = mode & S_IRWXUGO;
  }
}

export interface IpcObject {
  readonly perm: IpcPerm;
}

/** Root stands in for the capabilities (CAP_IPC_OWNER, CAP_SYS_ADMIN …) tuml does not model. */
export function capable(cred: Cred): boolean {
  return cred.euid === 0;
}

/** ipcperms: may `cred` access the object for `flag` (S_IRUGO, S_IWUGO, or a get's mode bits)? */
export function hasPerm(cred: Cred, p: IpcPerm, flag: number): boolean {
  const requested = (flag >> 6) | (flag >> 3) | flag;
  let granted = p.mode;
  if (cred.euid === p.cuid || cred.euid === p.uid) granted >>= 6;
  else if (cred.inGroup(p.cgid) || cred.inGroup(p.gid)) granted >>= 3;
  return (requested & ~granted & 0o7) === 0 || capable(cred);
}

export function checkPerm(cred: Cred, p: IpcPerm, flag: number): void {
  if (!hasPerm(cred, p, flag)) throw new Errno(EACCES);
}

/** IPC_SET and IPC_RMID: the owner, the creator, or a privileged caller (else EPERM). */
export function checkOwner(cred: Cred, p: IpcPerm): void {
  if (cred.euid !== p.cuid && cred.euid !== p.uid && !capable(cred)) throw new Errno(EPERM);
}

/** Writes struct ipc64_perm (48 bytes) at `off`. */
export function encodePerm(b: Buffer, off: number, p: IpcPerm): void {
  b.writeInt32LE(p.key | 0, off);
  b.writeUInt32LE(p.uid >>> 0, off + 4);
  b.writeUInt32LE(p.gid >>> 0, off + 8);
  b.writeUInt32LE(p.cuid >>> 0, off + 12);
  b.writeUInt32LE(p.cgid >>> 0, off + 16);
  b.writeUInt32LE(p.mode >>> 0, off + 20);
  b.writeUInt16LE(p.seq & 0xffff, off + 24);
}

/** The fields IPC_SET takes from a struct ipc64_perm: uid, gid and the 0777 mode bits. */
export function applySetPerm(p: IpcPerm, b: Buffer, off: number): void {
  p.uid = b.readUInt32LE(off + 4);
  p.gid = b.readUInt32LE(off + 8);
  p.mode = (p.mode & ~S_IRWXUGO) | (b.readUInt32LE(off + 20) & S_IRWXUGO);
}

/** One kind's id table: index → object, key → object. */
export class IpcIds<T extends IpcObject> {
  private readonly byIndex = new Map<number, T>();
  private readonly byKey = new Map<number, T>();
  private seq = 0;
  private lastIdx = -1;

  constructor(readonly mni: number) {}

  get inUse(): number {
    return this.byIndex.size;
  }

  /** Objects in index order (for /proc/sysvipc and the *_INFO totals). */
  all(): T[] {
    return [...this.byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, o]) => o);
  }

  /** The highest index in use, or -1 (ipc_get_maxidx). */
  maxIdx(): number {
    let m = -1;
    for (const i of this.byIndex.keys()) if (i > m) m = i;
    return m;
  }

  /** The object an id names, or EINVAL (ipc_obtain_object_check). */
  get(id: number): T {
    if (id < 0) throw new Errno(EINVAL);
    const o = this.byIndex.get(id % IPCMNI);
    if (!o || o.perm.seq !== Math.floor(id / IPCMNI)) throw new Errno(EINVAL);
    return o;
  }

  /** The object at an index (the *_STAT commands), or EINVAL. */
  atIndex(idx: number): T {
    const o = idx >= 0 ? this.byIndex.get(idx) : undefined;
    if (!o) throw new Errno(EINVAL);
    return o;
  }

  /** Enters a new object; its perm gets its id. ENOSPC when the table is full. */
  add(o: T): number {
    if (this.byIndex.size >= this.mni) throw new Errno(ENOSPC);
    const cycle = Math.min(Math.max(Math.floor(this.byIndex.size * 3 / 2), MIN_CYCLE), this.mni);
    let idx = -1;
    for (let i = this.lastIdx + 1; i < cycle; i++) if (!this.byIndex.has(i)) { idx = i; break; }
    if (idx < 0) for (let i = 0; i < cycle; i++) if (!this.byIndex.has(i)) { idx = i; break; }
    if (idx < 0) throw new Errno(ENOSPC);
    if (idx <= this.lastIdx && ++this.seq >= SEQ_MAX) this.seq = 0;
    this.lastIdx = idx;
    o.perm.seq = this.seq;
    o.perm.id = this.seq * IPCMNI + idx;
    this.byIndex.set(idx, o);
    if (o.perm.key !== IPC_PRIVATE) this.byKey.set(o.perm.key, o);
    return o.perm.id;
  }

  /** Takes the object out of the table (IPC_RMID, or the last detach of a doomed segment). */
  remove(o: T): void {
    const idx = o.perm.id % IPCMNI;
    if (this.byIndex.get(idx) === o) this.byIndex.delete(idx);
    this.dropKey(o);
    o.perm.live = false;
  }

  /** The object stays reachable by id but no longer by key (a segment marked for destruction). */
  dropKey(o: T): void {
    if (o.perm.key !== IPC_PRIVATE && this.byKey.get(o.perm.key) === o) this.byKey.delete(o.perm.key);
    o.perm.key = IPC_PRIVATE;
  }

  /**
   * shmget/semget/msgget (ipcget): IPC_PRIVATE always creates; a key finds its object or,
   * with IPC_CREAT, creates one. `check` runs the kind's extra checks on an existing object.
   */
  getOrCreate(cred: Cred, key: number, flg: number, create: () => T, check?: (o: T) => void): number {
    if (key === IPC_PRIVATE) return this.add(create());
    const o = this.byKey.get(key);
    if (!o) {
      if (!(flg & IPC_CREAT)) throw new Errno(ENOENT);
      return this.add(create());
    }
    if ((flg & IPC_CREAT) && (flg & IPC_EXCL)) throw new Errno(EEXIST);
    check?.(o);
    checkPerm(cred, o.perm, flg);
    return o.perm.id;
  }
}
