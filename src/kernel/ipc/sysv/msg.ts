// System V message queues (ipc/msg.c). Senders sleep while the queue is full, receivers
// while no message matches; both sleep on the queue's wait queue and re-run on any change.
import type { Task, SyscallState } from '../../task/task.js';
import { Block } from '../../task/task.js';
import { WaitQueue } from '../../sched/wait-queue.js';
import { Errno } from '../../errno.js';
import { E2BIG, EAGAIN, EIDRM, EINVAL, ENOMSG, EPERM } from '../../abi/errno.js';
import { IPC_NOWAIT, IpcPerm, capable, checkPerm, encodePerm, nowSec, S_IRUGO, S_IWUGO, type IpcObject } from './ids.js';
import { ipcNamespace, MSGMNI } from './namespace.js';

export const MSG_NOERROR = 0o10000, MSG_EXCEPT = 0o20000, MSG_COPY = 0o40000;
export const MSG_STAT = 11, MSG_INFO = 12, MSG_STAT_ANY = 13;
export const MSGMAX = 8192, MSGMNB = 16384;
const MSGPOOL = (MSGMNI * MSGMNB) / 1024, MSGSSZ = 16, MSGTQL = MSGMNB, MSGMAP = MSGMNB;
const MSGSEG = Math.min(0xffff, (MSGPOOL * 1024) / MSGSSZ);
export const MSQID_DS_SIZE = 120;
export const MSGINFO_SIZE = 32;

export interface Message { type: bigint; data: Buffer }

export class MsgQueue implements IpcObject {
  readonly perm: IpcPerm;
  readonly msgs: Message[] = [];
  cbytes = 0;
  qbytes = MSGMNB;
  stime = 0;
  rtime = 0;
  ctime = nowSec();
  lspid = 0;
  lrpid = 0;
  /** Woken on every send, receive, IPC_SET and IPC_RMID. */
  readonly queue = new WaitQueue();
  constructor(key: number, t: Task, flg: number) {
    this.perm = new IpcPerm(key, t.cred, flg);
  }
}

function idsOf(t: Task) {
  return ipcNamespace(t.kernel).msg;
}

export function msgget(t: Task, key: number, flg: number): number {
  return idsOf(t).getOrCreate(t.cred, key, flg, () => new MsgQueue(key, t, flg));
}

/** What a (possibly re-run) call works on, found once: EIDRM once it was removed while asleep. */
function queueFor<T extends object>(t: Task, s: SyscallState, id: number, decode: () => T): { q: MsgQueue } & T {
  let sc = s.scratch as ({ q: MsgQueue } & T) | undefined;
  if (!sc) {
    const args = decode();
    s.scratch = sc = { ...args, q: idsOf(t).get(id) };
  }
  if (!sc.q.perm.live) throw new Errno(EIDRM);
  return sc;
}

/** msgsnd: `decode` reads the message from the caller (once, before the queue is looked up). */
export function msgsnd(t: Task, s: SyscallState, id: number, decode: () => Message, flg: number): number | Block {
  const { q, type, data } = queueFor(t, s, id, decode);
  checkPerm(t.cred, q.perm, S_IWUGO);
  if (data.length + q.cbytes <= q.qbytes && q.msgs.length + 1 <= q.qbytes) {
    q.msgs.push({ type, data });
    q.cbytes += data.length;
    q.lspid = t.pid;
    q.stime = nowSec();
    q.queue.wake();
    return 0;
  }
  if (flg & IPC_NOWAIT) throw new Errno(EAGAIN);
  return new Block([q.queue], undefined, 'nohand');
}

/** Index of the message msgrcv(msgtyp, flg) takes, or -1. */
function find(q: MsgQueue, msgtyp: bigint, flg: number): number {
  if (msgtyp === 0n) return q.msgs.length ? 0 : -1;
  if (msgtyp > 0n) return q.msgs.findIndex((m) => (flg & MSG_EXCEPT ? m.type !== msgtyp : m.type === msgtyp));
  const max = -msgtyp;
  let best = -1;
  q.msgs.forEach((m, i) => {
    if (m.type <= max && (best < 0 || m.type < q.msgs[best]!.type)) best = i;
  });
  return best;
}

/** msgrcv: the message taken (its text cut to msgsz with MSG_NOERROR), or a Block. */
export function msgrcv(t: Task, s: SyscallState, id: number, msgsz: number, msgtyp: bigint, flg: number): Message | Block {
  if (flg & MSG_COPY) {
    if ((flg & MSG_EXCEPT) || !(flg & IPC_NOWAIT)) throw new Errno(EINVAL);
  }
  const { q } = queueFor(t, s, id, () => ({}));
  checkPerm(t.cred, q.perm, S_IRUGO);
  let i: number;
  if (flg & MSG_COPY) i = msgtyp >= 0n && msgtyp < BigInt(q.msgs.length) ? Number(msgtyp) : -1;
  else i = find(q, msgtyp, flg);
  if (i < 0) {
    if (flg & IPC_NOWAIT) throw new Errno(ENOMSG);
    return new Block([q.queue], undefined, 'nohand');
  }
  const m = q.msgs[i]!;
  if (msgsz < m.data.length && !(flg & MSG_NOERROR)) throw new Errno(E2BIG);
  const out = { type: m.type, data: m.data.subarray(0, Math.min(msgsz, m.data.length)) };
  if (flg & MSG_COPY) return out;
  q.msgs.splice(i, 1);
  q.cbytes -= m.data.length;
  q.lrpid = t.pid;
  q.rtime = nowSec();
  q.queue.wake();
  return out;
}

/** IPC_SET's msg_qbytes: raising it above msgmnb needs privilege. */
export function msgSetQbytes(t: Task, q: MsgQueue, qbytes: number): void {
  if (qbytes > MSGMNB && !capable(t.cred)) throw new Errno(EPERM);
  q.qbytes = qbytes;
  q.queue.wake();
}

export function msgRmid(t: Task, q: MsgQueue): void {
  idsOf(t).remove(q);
  q.msgs.length = 0;
  q.cbytes = 0;
  q.queue.wake();
}

export function encodeMsqidDs(q: MsgQueue): Buffer {
  const b = Buffer.alloc(MSQID_DS_SIZE);
  encodePerm(b, 0, q.perm);
  b.writeBigInt64LE(BigInt(q.stime), 48);
  b.writeBigInt64LE(BigInt(q.rtime), 56);
  b.writeBigInt64LE(BigInt(q.ctime), 64);
  b.writeBigUInt64LE(BigInt(q.cbytes), 72);
  b.writeBigUInt64LE(BigInt(q.msgs.length), 80);
  b.writeBigUInt64LE(BigInt(q.qbytes), 88);
  b.writeInt32LE(q.lspid, 96);
  b.writeInt32LE(q.lrpid, 100);
  return b;
}

/** IPC_INFO gives the limits; MSG_INFO puts queues, messages and bytes in use in pool/map/tql. */
export function encodeMsginfo(t: Task, usage: boolean): Buffer {
  const b = Buffer.alloc(MSGINFO_SIZE);
  const v = [MSGPOOL, MSGMAP, MSGMAX, MSGMNB, MSGMNI, MSGSSZ, MSGTQL];
  if (usage) {
    const qs = idsOf(t).all();
    v[0] = idsOf(t).inUse;
    v[1] = qs.reduce((n, q) => n + q.msgs.length, 0);
    v[6] = qs.reduce((n, q) => n + q.cbytes, 0);
  }
  v.forEach((x, i) => b.writeInt32LE(x, i * 4));
  b.writeUInt16LE(MSGSEG, 28);
  return b;
}

/** /proc/sysvipc/msg */
export function msgProcText(kernel: object): string {
  let out = '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n';
  for (const q of ipcNamespace(kernel).msg.all()) {
    const p = q.perm;
    out += `${String(p.key | 0).padStart(10)} ${String(p.id).padStart(10)}  ${p.mode.toString(8).padStart(4)}  ${String(q.cbytes).padStart(10)} ` +
      `${String(q.msgs.length).padStart(10)} ${String(q.lspid).padStart(5)} ${String(q.lrpid).padStart(5)} ${String(p.uid).padStart(5)} ` +
      `${String(p.gid).padStart(5)} ${String(p.cuid).padStart(5)} ${String(p.cgid).padStart(5)} ${String(q.stime).padStart(10)} ` +
      `${String(q.rtime).padStart(10)} ${String(q.ctime).padStart(10)}\n`;
  }
  return out;
}
