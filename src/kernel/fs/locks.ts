// Advisory file locks: flock(2) and POSIX record locks (fcntl F_SETLK…), per inode.
// Blocking waits are plain Blocks on the lock table's wait queue.
import type { Task } from '../task/task.js';
import { Block } from '../task/task.js';
import type { File } from './file.js';
import { Errno } from '../errno.js';
import { EAGAIN, EBADF, EINVAL, EWOULDBLOCK } from '../abi/errno.js';
import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, F_RDLCK, F_WRLCK, F_UNLCK, F_GETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLKW, SEEK_SET, SEEK_CUR, SEEK_END } from '../abi/fcntl.js';
import { WaitQueue } from '../sched/wait-queue.js';

interface RangeLock { owner: object; pid: number; type: number; start: number; end: number }

function keyOf(f: File): string {
  const st = f.stat();
  return `${st.dev}:${st.ino}`;
}

class LockTable {
  private readonly flocks = new Map<string, Map<File, number>>();
  private readonly ranges = new Map<string, RangeLock[]>();
  readonly changed = new WaitQueue();

  flock(t: Task, f: File, op: number): number | Block {
    const key = keyOf(f);
    const held = this.flocks.get(key) ?? new Map<File, number>();
    this.flocks.set(key, held);
    const kind = op & ~LOCK_NB;
    if (kind === LOCK_UN) {
      held.delete(f);
      this.changed.wake();
      return 0;
    }
    if (kind !== LOCK_SH && kind !== LOCK_EX) throw new Errno(EINVAL);
    const conflict = [...held].some(([o, k]) => o !== f && (k === LOCK_EX || kind === LOCK_EX));
    if (conflict) {
      if (op & LOCK_NB) throw new Errno(EWOULDBLOCK);
      return new Block([this.changed]);
    }
    held.set(f, kind);
    if (!f.lockRelease) f.lockRelease = () => { held.delete(f); this.dropOwner(f); this.changed.wake(); };
    return 0;
  }

  private dropOwner(owner: object): void {
    for (const [k, l] of this.ranges) this.ranges.set(k, l.filter((r) => r.owner !== owner));
  }

  /** Drops a process's POSIX locks (on close of any fd of the file, and at exit). */
  dropProcess(owner: object): void {
    this.dropOwner(owner);
    this.changed.wake();
  }

  fcntl(t: Task, f: File, cmd: number, arg: number): number | Block {
    const b = t.mem.read(arg, 32);
    const type = b.readInt16LE(0), whence = b.readInt16LE(2);
    let start = Number(b.readBigInt64LE(8));
    const len = Number(b.readBigInt64LE(16));
    if (whence === SEEK_CUR) start += f.pos;
    else if (whence === SEEK_END) start += f.stat().size;
    else if (whence !== SEEK_SET) throw new Errno(EINVAL);
    let end = len === 0 ? Infinity : start + len - 1;
    if (len < 0) { end = start - 1; start += len; }
    if (start < 0) throw new Errno(EINVAL);
    const ofd = cmd >= F_OFD_GETLK;
    const owner: object = ofd ? f : t.group;
    const key = keyOf(f);
    const list = this.ranges.get(key) ?? [];
    this.ranges.set(key, list);
    const conflicting = list.find((r) => r.owner !== owner && r.start <= end && start <= r.end && (r.type === F_WRLCK || type === F_WRLCK));
    if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
      if (!conflicting) b.writeInt16LE(F_UNLCK, 0);
      else {
        b.writeInt16LE(conflicting.type, 0);
        b.writeInt16LE(SEEK_SET, 2);
        b.writeBigInt64LE(BigInt(conflicting.start), 8);
        b.writeBigInt64LE(BigInt(conflicting.end === Infinity ? 0 : conflicting.end - conflicting.start + 1), 16);
        b.writeInt32LE(ofd ? -1 : conflicting.pid, 24);
      }
      t.mem.write(arg, b);
      return 0;
    }
    if (type !== F_UNLCK) {
      if (type !== F_RDLCK && type !== F_WRLCK) throw new Errno(EINVAL);
      if (type === F_RDLCK && !f.readable) throw new Errno(EBADF);
      if (type === F_WRLCK && !f.writable) throw new Errno(EBADF);
      if (conflicting) {
        if (cmd === F_SETLKW || cmd === F_OFD_SETLKW) return new Block([this.changed]);
        throw new Errno(EAGAIN);
      }
    }
    // Remove our overlap, keeping the parts outside [start, end].
    const next: RangeLock[] = [];
    for (const r of list) {
      if (r.owner !== owner || r.end < start || r.start > end) { next.push(r); continue; }
      if (r.start < start) next.push({ ...r, end: start - 1 });
      if (r.end > end) next.push({ ...r, start: end + 1 });
    }
    if (type !== F_UNLCK) next.push({ owner, pid: t.pid, type, start, end });
    this.ranges.set(key, next);
    if (!ofd) (t.group as unknown as { posixLocks?: boolean }).posixLocks = true;
    if (!f.lockRelease) f.lockRelease = () => { this.dropOwner(f); this.changed.wake(); };
    this.changed.wake();
    return 0;
  }
}

export const fileLocks = new LockTable();
