// System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl and
// msgget/msgsnd/msgrcv/msgctl (the objects live in src/kernel/ipc/sysv/).
import type { HandlerMap } from './handler.js';
import { readTimespecMs } from './handler.js';
import type { Task } from '../task/task.js';
import { Errno } from '../errno.js';
import { E2BIG, EINVAL, ERANGE } from '../abi/errno.js';
import { procFsInitHooks } from '../fs/proc/proc-fs.js';
import { ipcNamespace } from '../ipc/sysv/namespace.js';
import {
  IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO, applySetPerm, checkOwner, checkPerm, nowSec, type IpcIds, type IpcObject,
} from '../ipc/sysv/ids.js';
import {
  shmget, shmat, shmdt, shmRmid, shmLock, encodeShmidDs, encodeShminfo, encodeShmInfo, shmProcText,
  SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_STAT_ANY, SHM_INFO, SHMID_DS_SIZE,
} from '../ipc/sysv/shm.js';
import {
  semget, semop, semRmid, encodeSemidDs, encodeSeminfo, semProcText, type SemOp,
  GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_STAT_ANY, SEM_INFO, SEMVMX, SEMOPM, SEMID_DS_SIZE,
} from '../ipc/sysv/sem.js';
import {
  msgget, msgsnd, msgrcv, msgRmid, msgSetQbytes, encodeMsqidDs, encodeMsginfo, msgProcText,
  MSG_STAT, MSG_STAT_ANY, MSG_INFO, MSGMAX, MSQID_DS_SIZE,
} from '../ipc/sysv/msg.js';
import { Block } from '../task/task.js';

procFsInitHooks.push((fs) => {
  fs.registerFile('sysvipc/shm', (r) => shmProcText(r?.kernel ?? fs.kernel));
  fs.registerFile('sysvipc/sem', (r) => semProcText(r?.kernel ?? fs.kernel));
  fs.registerFile('sysvipc/msg', (r) => msgProcText(r?.kernel ?? fs.kernel));
});

const int = (v: number | undefined) => (v ?? 0) | 0;

/** The *_STAT commands: the object at an index (perms checked unless *_STAT_ANY); returns its id. */
function statAt<T extends IpcObject>(t: Task, ids: IpcIds<T>, idx: number, any: boolean): T {
  const o = ids.atIndex(idx);
  if (!any) checkPerm(t.cred, o.perm, S_IRUGO);
  return o;
}

/** IPC_SET's common part: the owner check, then uid, gid and mode from the caller's ipc64_perm. */
function setPerm(t: Task, o: IpcObject, ds: Buffer): void {
  checkOwner(t.cred, o.perm);
  applySetPerm(o.perm, ds, 0);
}

export const sysvipcCalls: HandlerMap = {
  // shmget implements Linux syscall shmget(2).
  // (SHM_HUGETLB and SHM_NORESERVE are accepted: the segment gets ordinary pages.)
  shmget: (t, a) => shmget(t, int(a[0]), a[1]!, int(a[2])),

  // shmat implements Linux syscall shmat(2).
  shmat: (t, a) => shmat(t, int(a[0]), a[1]!, int(a[2])),

  // shmdt implements Linux syscall shmdt(2).
  shmdt: (t, a) => shmdt(t, a[0]!),

  // shmctl implements Linux syscall shmctl(2).
  shmctl: (t, a) => {
    const id = int(a[0]), cmd = int(a[1]), buf = a[2]!;
    const ids = ipcNamespace(t.kernel).shm;
    switch (cmd) {
      case IPC_INFO:
        t.mem.write(buf, encodeShminfo());
        return Math.max(ids.maxIdx(), 0);
      case SHM_INFO:
        t.mem.write(buf, encodeShmInfo(t));
        return Math.max(ids.maxIdx(), 0);
      case SHM_STAT: case SHM_STAT_ANY: {
        const seg = statAt(t, ids, id, cmd === SHM_STAT_ANY);
        t.mem.write(buf, encodeShmidDs(seg));
        return seg.perm.id;
      }
      case IPC_STAT: {
        const seg = ids.get(id);
        checkPerm(t.cred, seg.perm, S_IRUGO);
        t.mem.write(buf, encodeShmidDs(seg));
        return 0;
      }
      case IPC_SET: {
        const ds = t.mem.read(buf, SHMID_DS_SIZE);
        const seg = ids.get(id);
        setPerm(t, seg, ds);
        seg.ctime = nowSec();
        return 0;
      }
      case IPC_RMID: {
        const seg = ids.get(id);
        checkOwner(t.cred, seg.perm);
        shmRmid(t, seg);
        return 0;
      }
      case SHM_LOCK: case SHM_UNLOCK:
        shmLock(t, ids.get(id), cmd === SHM_LOCK);
        return 0;
      default:
        throw new Errno(EINVAL);
    }
  },

  // semget implements Linux syscall semget(2).
  semget: (t, a) => semget(t, int(a[0]), int(a[1]), int(a[2])),

  // semop implements Linux syscall semop(2).
  semop: (t, a, s) => semopCall(t, a, s, false),

  // semtimedop implements Linux syscall semtimedop(2).
  semtimedop: (t, a, s) => semopCall(t, a, s, true),

  // semctl implements Linux syscall semctl(2); the fourth argument is union semun by value.
  semctl: (t, a) => {
    const id = int(a[0]), num = int(a[1]), cmd = int(a[2]), arg = a[3]!;
    const ids = ipcNamespace(t.kernel).sem;
    switch (cmd) {
      case IPC_INFO: case SEM_INFO:
        t.mem.write(arg, encodeSeminfo(t, cmd === SEM_INFO));
        return Math.max(ids.maxIdx(), 0);
      case SEM_STAT: case SEM_STAT_ANY: {
        const set = statAt(t, ids, id, cmd === SEM_STAT_ANY);
        t.mem.write(arg, encodeSemidDs(set));
        return set.perm.id;
      }
      case IPC_STAT: {
        const set = ids.get(id);
        checkPerm(t.cred, set.perm, S_IRUGO);
        t.mem.write(arg, encodeSemidDs(set));
        return 0;
      }
      case IPC_SET: {
        const ds = t.mem.read(arg, SEMID_DS_SIZE);
        const set = ids.get(id);
        setPerm(t, set, ds);
        set.ctime = nowSec();
        return 0;
      }
      case IPC_RMID: {
        const set = ids.get(id);
        checkOwner(t.cred, set.perm);
        semRmid(t, set);
        return 0;
      }
      case SETVAL: {
        const val = arg | 0;
        if (val < 0 || val > SEMVMX) throw new Errno(ERANGE);
        const set = ids.get(id);
        if (num < 0 || num >= set.nsems) throw new Errno(EINVAL);
        checkPerm(t.cred, set.perm, S_IWUGO);
        set.clearUndo(num);
        set.vals[num] = val;
        set.pids[num] = t.pid;
        set.ctime = nowSec();
        set.changed();
        return 0;
      }
      case GETALL: case SETALL: {
        const set = ids.get(id);
        checkPerm(t.cred, set.perm, cmd === SETALL ? S_IWUGO : S_IRUGO);
        if (cmd === GETALL) {
          const b = Buffer.alloc(set.nsems * 2);
          set.vals.forEach((v, i) => b.writeUInt16LE(v, i * 2));
          t.mem.write(arg, b);
          return 0;
        }
        const b = t.mem.read(arg, set.nsems * 2);
        const vals = Array.from({ length: set.nsems }, (_, i) => b.readUInt16LE(i * 2));
        if (vals.some((v) => v > SEMVMX)) throw new Errno(ERANGE);
        set.clearUndo();
        vals.forEach((v, i) => { set.vals[i] = v; set.pids[i] = t.pid; });
        set.ctime = nowSec();
        set.changed();
        return 0;
      }
      case GETVAL: case GETPID: case GETNCNT: case GETZCNT: {
        const set = ids.get(id);
        checkPerm(t.cred, set.perm, S_IRUGO);
        if (num < 0 || num >= set.nsems) throw new Errno(EINVAL);
        if (cmd === GETVAL) return set.vals[num]!;
        if (cmd === GETPID) return set.pids[num]!;
        return set.waiters(num, cmd === GETZCNT);
      }
      default:
        throw new Errno(EINVAL);
    }
  },

  // msgget implements Linux syscall msgget(2).
  msgget: (t, a) => msgget(t, int(a[0]), int(a[1])),

  // msgsnd implements Linux syscall msgsnd(2).
  msgsnd: (t, a, s) => {
    const id = int(a[0]), msgp = a[1]!, size = a[2]!, flg = int(a[3]);
    return msgsnd(t, s, id, () => {
      const type = t.mem.read(msgp, 8).readBigInt64LE(0);
      if (size > MSGMAX || size < 0 || id < 0) throw new Errno(EINVAL);
      if (type < 1n) throw new Errno(EINVAL);
      return { type, data: size ? t.mem.read(msgp + 8, size) : Buffer.alloc(0) };
    }, flg);
  },

  // msgrcv implements Linux syscall msgrcv(2).
  msgrcv: (t, a, s) => {
    const id = int(a[0]), msgp = a[1]!, size = a[2]!, flg = int(a[4]);
    if (id < 0 || size < 0) throw new Errno(EINVAL);
    const r = msgrcv(t, s, id, size, BigInt(a[3]!), flg);
    if (r instanceof Block) return r;
    const head = Buffer.alloc(8);
    head.writeBigInt64LE(r.type);
    t.mem.write(msgp, head);
    if (r.data.length) t.mem.write(msgp + 8, r.data);
    return r.data.length;
  },

  // msgctl implements Linux syscall msgctl(2).
  msgctl: (t, a) => {
    const id = int(a[0]), cmd = int(a[1]), buf = a[2]!;
    const ids = ipcNamespace(t.kernel).msg;
    switch (cmd) {
      case IPC_INFO: case MSG_INFO:
        t.mem.write(buf, encodeMsginfo(t, cmd === MSG_INFO));
        return Math.max(ids.maxIdx(), 0);
      case MSG_STAT: case MSG_STAT_ANY: {
        const q = statAt(t, ids, id, cmd === MSG_STAT_ANY);
        t.mem.write(buf, encodeMsqidDs(q));
        return q.perm.id;
      }
      case IPC_STAT: {
        const q = ids.get(id);
        checkPerm(t.cred, q.perm, S_IRUGO);
        t.mem.write(buf, encodeMsqidDs(q));
        return 0;
      }
      case IPC_SET: {
        const ds = t.mem.read(buf, MSQID_DS_SIZE);
        const q = ids.get(id);
        checkOwner(t.cred, q.perm);
        msgSetQbytes(t, q, Number(ds.readBigUInt64LE(88)));
        applySetPerm(q.perm, ds, 0);
        q.ctime = nowSec();
        return 0;
      }
      case IPC_RMID: {
        const q = ids.get(id);
        checkOwner(t.cred, q.perm);
        msgRmid(t, q);
        return 0;
      }
      default:
        throw new Errno(EINVAL);
    }
  },
};

/** semop and semtimedop: the operations (and timeout) are read once, then semop runs (and re-runs after sleeps). */
function semopCall(t: Task, a: number[], s: Parameters<typeof semop>[1], timed: boolean) {
  const id = int(a[0]), sopsAddr = a[1]!, nsops = a[2]! >>> 0, tsAddr = timed ? a[3]! : 0;
  return semop(t, s, id, () => {
    if (nsops < 1 || id < 0) throw new Errno(EINVAL);
    if (nsops > SEMOPM) throw new Errno(E2BIG);
    const b = t.mem.read(sopsAddr, nsops * 6);
    const sops: SemOp[] = [];
    for (let i = 0; i < nsops; i++) sops.push({ num: b.readUInt16LE(i * 6), op: b.readInt16LE(i * 6 + 2), flg: b.readInt16LE(i * 6 + 4) & 0xffff });
    return { sops, timeoutMs: tsAddr ? readTimespecMs(t, tsAddr) : undefined };
  });
}
