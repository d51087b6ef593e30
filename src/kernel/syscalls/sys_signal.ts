// Signal calls the kernel must see: sending (pids are virtual) and sigaction (recorded,
// then run natively so the host keeps the real dispositions).
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Native } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL, ESRCH, EPERM } from '../abi/errno.js';
import { NSIG, SIGKILL, SIGSTOP, SI_USER, SI_TKILL, SI_QUEUE } from '../abi/signals.js';
import { sendToGroup, sendToTask } from '../signal/deliver.js';
import type { ThreadGroup } from '../task/thread-group.js';

function checkSig(sig: number): void {
  if (sig < 0 || sig > NSIG) throw new Errno(EINVAL);
}

/** kill(2)'s target selection. */
export function killTargets(t: Task, pid: number): ThreadGroup[] {
  const all = [...t.kernel.groups.values()].filter((g) => g.alive);
  if (pid > 0) return all.filter((g) => g.tgid === pid);
  if (pid === 0) return all.filter((g) => g.pgid === t.group.pgid);
  if (pid === -1) return all.filter((g) => g.tgid !== 1 && g !== t.group);
  return all.filter((g) => g.pgid === -pid);
}

export const signalCalls: HandlerMap = {
  kill: (t, a) => {
    const pid = a[0]! | 0;
    const sig = a[1]! | 0;
    checkSig(sig);
    const targets = killTargets(t, pid);
    if (targets.length === 0) throw new Errno(ESRCH);
    for (const g of targets) sendToGroup(t.kernel, g, sig, { pid: t.pid, uid: t.cred.uid, code: SI_USER });
    return 0;
  },
  tgkill: (t, a) => {
    const tgid = a[0]! | 0, tid = a[1]! | 0, sig = a[2]! | 0;
    checkSig(sig);
    if (tgid <= 0 || tid <= 0) throw new Errno(EINVAL);
    const target = t.kernel.byTid.get(tid);
    if (!target || target.group.tgid !== tgid) throw new Errno(ESRCH);
    sendToTask(t.kernel, target, sig, { pid: t.pid, uid: t.cred.uid, code: SI_TKILL });
    return 0;
  },
  tkill: (t, a) => {
    const tid = a[0]! | 0, sig = a[1]! | 0;
    checkSig(sig);
    if (tid <= 0) throw new Errno(EINVAL);
    const target = t.kernel.byTid.get(tid);
    if (!target) throw new Errno(ESRCH);
    sendToTask(t.kernel, target, sig, { pid: t.pid, uid: t.cred.uid, code: SI_TKILL });
    return 0;
  },
  rt_sigqueueinfo: (t, a) => {
    const pid = a[0]! | 0, sig = a[1]! | 0;
    checkSig(sig);
    const code = t.mem.i32(a[2]! + 8);
    if (code >= 0 && pid !== t.pid) throw new Errno(EPERM);
    const g = t.kernel.groups.get(pid);
    if (!g || !g.alive) throw new Errno(ESRCH);
    sendToGroup(t.kernel, g, sig, { pid: t.pid, uid: t.cred.uid, code: SI_QUEUE });
    return 0;
  },
  rt_tgsigqueueinfo: (t, a) => {
    const tgid = a[0]! | 0, tid = a[1]! | 0, sig = a[2]! | 0;
    checkSig(sig);
    const target = t.kernel.byTid.get(tid);
    if (!target || target.group.tgid !== tgid) throw new Errno(ESRCH);
    sendToTask(t.kernel, target, sig, { pid: t.pid, uid: t.cred.uid, code: SI_QUEUE });
    return 0;
  },
  rt_sigaction: (t, a) => {
    const sig = a[0]! | 0;
    const act = a[1]!;
    if (sig < 1 || sig > NSIG) throw new Errno(EINVAL);
    if ((a[3]! | 0) !== 8) throw new Errno(EINVAL);
    if (act) {
      if (sig === SIGKILL || sig === SIGSTOP) throw new Errno(EINVAL);
      const b = t.mem.read(act, 32);
      t.group.sigactions.set(sig, { handler: b.readBigUInt64LE(0), flags: Number(b.readBigUInt64LE(8) & 0xffffffffn), mask: b.readBigUInt64LE(24) });
    }
    return new Native();
  },
};
