// System V IPC objects without a tracee: id allocation, get-or-create, permission checks,
// message selection and blocking, semaphore atomicity and SEM_UNDO at exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpcIds, IpcPerm, IPCMNI, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, hasPerm, S_IRUGO, S_IWUGO, type IpcObject } from '../../src/kernel/ipc/sysv/ids.js';
import { msgget, msgsnd, msgrcv, msgRmid, MSG_EXCEPT, MSG_NOERROR, type Message } from '../../src/kernel/ipc/sysv/msg.js';
import { semget, semop, semExit, SEM_UNDO, type SemOp } from '../../src/kernel/ipc/sysv/sem.js';
import { ipcNamespace } from '../../src/kernel/ipc/sysv/namespace.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { Block, type Task, type SyscallState } from '../../src/kernel/task/task.js';
import { Errno } from '../../src/kernel/errno.js';
import { EACCES, EAGAIN, E2BIG, EEXIST, EIDRM, EINVAL, ENOENT, ENOMSG } from '../../src/kernel/abi/errno.js';

class Obj implements IpcObject {
  readonly perm: IpcPerm;
  constructor(key: number, cred = new Cred(), mode = 0o600) { this.perm = new IpcPerm(key, cred, mode); }
}

function errno(fn: () => unknown): number {
  try { fn(); } catch (e) { if (e instanceof Errno) return e.errno; throw e; }
  return 0;
}

function fakeTask(kernel: object, pid: number, cred = new Cred()): Task {
  const t = { kernel: Object.assign(kernel, { isParked: () => true }), pid, cred, group: { tgid: pid }, syscall: null as SyscallState | null };
  return t as unknown as Task;
}
const call = (): SyscallState => ({ nr: 0, args: [], raw: [], wake: 'first' });

test('ids: indexes cycle before reuse, the seq makes a reused index a new id', () => {
  const ids = new IpcIds<Obj>(100);
  const a = new Obj(0), b = new Obj(0);
  assert.equal(ids.add(a), 0);
  assert.equal(ids.add(b), 1);
  ids.remove(a);
  assert.equal(errno(() => ids.get(0)), EINVAL);
  ids.remove(b);
  for (let i = 2; i < 64; i++) {
    const o = new Obj(0);
    assert.equal(ids.add(o), i);
    ids.remove(o);
  }
  const c = new Obj(0);
  assert.equal(ids.add(c), IPCMNI + 0, 'past the 64-index cycle: index 0 again, one seq later');
  assert.equal(errno(() => ids.get(0)), EINVAL);
  assert.equal(ids.get(IPCMNI), c);
});

test('ids: IPC_PRIVATE always creates; keys find, IPC_CREAT|IPC_EXCL refuses, modes are checked', () => {
  const ids = new IpcIds<Obj>(100);
  const root = new Cred(), nobody = new Cred(65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534);
  const p1 = ids.getOrCreate(root, 0, 0, () => new Obj(0));
  const p2 = ids.getOrCreate(root, 0, 0, () => new Obj(0));
  assert.notEqual(p1, p2);
  assert.equal(errno(() => ids.getOrCreate(root, 42, 0, () => new Obj(42))), ENOENT);
  const k = ids.getOrCreate(root, 42, IPC_CREAT | 0o640, () => new Obj(42, root, 0o640));
  assert.equal(ids.getOrCreate(root, 42, IPC_CREAT, () => new Obj(42)), k);
  assert.equal(errno(() => ids.getOrCreate(root, 42, IPC_CREAT | IPC_EXCL, () => new Obj(42))), EEXIST);
  assert.equal(errno(() => ids.getOrCreate(nobody, 42, 0o400, () => new Obj(42))), EACCES);
  assert.equal(ids.getOrCreate(nobody, 42, 0, () => new Obj(42)), k, 'no mode bits asked: no check');
});

test('permissions: owner, group and other bits; root passes', () => {
  const owner = new Cred(1000, 1000, 1000, 1000, 100, 100, 100, 100);
  const p = new IpcPerm(1, owner, 0o640);
  const member = new Cred(2000, 2000, 2000, 2000, 100, 100, 100, 100);
  const other = new Cred(3000, 3000, 3000, 3000, 300, 300, 300, 300);
  assert.ok(hasPerm(owner, p, S_IRUGO | S_IWUGO));
  assert.ok(hasPerm(member, p, S_IRUGO));
  assert.ok(!hasPerm(member, p, S_IWUGO));
  assert.ok(!hasPerm(other, p, S_IRUGO));
  assert.ok(hasPerm(new Cred(), p, S_IRUGO | S_IWUGO));
});

test('msg: type selection, truncation, blocking and EIDRM', () => {
  const k = {};
  const t = fakeTask(k, 10);
  const id = msgget(t, 0, 0o600);
  const send = (type: number, text: string) => msgsnd(t, call(), id, () => ({ type: BigInt(type), data: Buffer.from(text) }), 0);
  for (const [ty, tx] of [[3, 'c'], [1, 'a'], [2, 'b1'], [2, 'b2']] as const) assert.equal(send(ty, tx), 0);
  const recv = (typ: number, flg = 0, size = 64) => msgrcv(t, call(), id, size, BigInt(typ), flg) as Message;
  assert.equal(recv(2).data.toString(), 'b1');
  assert.equal(recv(-3).data.toString(), 'a', 'lowest type at most 3');
  assert.equal(recv(3, MSG_EXCEPT).data.toString(), 'b2');
  assert.equal(errno(() => recv(0, 0, 0)), E2BIG);
  assert.equal(recv(0, MSG_NOERROR, 0).data.length, 0);
  assert.equal(errno(() => recv(0, IPC_NOWAIT)), ENOMSG);
  const s = call();
  const r = msgrcv(t, s, id, 64, 0n, 0);
  assert.ok(r instanceof Block);
  msgRmid(t, ipcNamespace(k).msg.get(id));
  s.wake = 'event';
  assert.equal(errno(() => msgrcv(t, s, id, 64, 0n, 0)), EIDRM);
});

test('sem: all or nothing, IPC_NOWAIT, SEM_UNDO reversed at exit', () => {
  const k = {};
  const a = fakeTask(k, 10), b = fakeTask(k, 11);
  const id = semget(a, 0, 2, 0o600);
  const op = (t: Task, sops: SemOp[], s = call()) => semop(t, s, id, () => ({ sops }));
  const set = ipcNamespace(k).sem.get(id);
  assert.equal(op(a, [{ num: 0, op: 2, flg: 0 }]), 0);
  assert.equal(errno(() => op(a, [{ num: 0, op: -1, flg: 0 }, { num: 1, op: -1, flg: IPC_NOWAIT }])), EAGAIN);
  assert.deepEqual(set.vals, [2, 0], 'nothing applied');
  const s = call();
  assert.ok(op(b, [{ num: 1, op: -1, flg: 0 }], s) instanceof Block);
  (b as { syscall: SyscallState | null }).syscall = s;
  assert.equal(set.waiters(1, false), 1, 'GETNCNT');
  assert.equal(op(a, [{ num: 1, op: 3, flg: SEM_UNDO }]), 0);
  s.wake = 'event';
  assert.equal(op(b, [{ num: 1, op: -1, flg: 0 }], s), 0);
  assert.deepEqual(set.vals, [2, 2]);
  semExit(k, a.group);
  assert.deepEqual(set.vals, [2, 0], 'the +3 is undone, clamped at 0');
});
