// Process and thread calls: ids, clone/fork/vfork, execve, wait, credentials, groups.
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import { Block, Native, HANDLED } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL, ECHILD, EPERM, ESRCH, ENOSYS } from '../abi/errno.js';
import { REG } from '../../host/ptrace/constants.js';
import { SYS } from '../abi/syscalls.js';
import {
  CLONE_CHILD_SETTID, CLONE_NAMESPACES, CLONE_PARENT, CLONE_PARENT_SETTID, CLONE_PIDFD,
  CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL,
} from '../abi/clone.js';
import { SIGCHLD, CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED } from '../abi/signals.js';
import { execve, MAX_ARG_STRLEN } from '../exec/execve.js';
import { reap } from '../task/lifecycle.js';
import { encodeRusage } from '../task/cpu-times.js';
import type { ThreadGroup } from '../task/thread-group.js';

const WNOHANG = 1, WUNTRACED = 2, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000,
  __WNOTHREAD = 0x20000000, __WALL = 0x40000000, __WCLONE = 0x80000000;
const P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;

function startClone(t: Task, guestFlags: number, ptid: number, ctid: number, hostNr: number, hostFlags: number): Native {
  if (guestFlags & CLONE_NAMESPACES) throw new Errno(EPERM);
  if (guestFlags & CLONE_PIDFD) throw new Errno(EINVAL);
  if ((guestFlags & CLONE_THREAD) && !(guestFlags & CLONE_SIGHAND)) throw new Errno(EINVAL);
  if ((guestFlags & CLONE_SIGHAND) && !(guestFlags & CLONE_VM)) throw new Errno(EINVAL);
  const tr = t.tracee;
  const savedArgs = tr.saveRegs();
  t.pendingClone = {
    flags: guestFlags, ptid, ctid, savedArgs,
    exitSignal: guestFlags & CLONE_THREAD ? 0 : guestFlags & CSIGNAL,
    guestParent: (guestFlags & CLONE_PARENT) !== 0,
  };
  tr.setReg(REG.orig_rax, hostNr);
  tr.setReg(REG.rdi, hostFlags >>> 0);
  if (hostNr !== t.syscall?.nr) for (const r of [REG.rsi, REG.rdx, REG.r10, REG.r8]) tr.setReg(r, 0);
  // Every guest process is made a host child of tuml itself (CLONE_PARENT), so the tracer
  // reaps it; the guest's own family tree is the kernel's. The kernel writes the guest's
  // tids into *ptid / *ctid, so the host is not asked to.
  // Only rax may change across a syscall: the rewritten argument register is put back
  // (glibc's vfork keeps its return address in rdi).
  return new Native((r) => {
    restoreArgRegs(t, savedArgs);
    return r;
  });
}

/** Puts back the argument registers a rewritten clone changed. */
export function restoreArgRegs(t: Task, saved: Buffer): void {
  for (const r of [REG.rdi, REG.rsi, REG.rdx, REG.r10, REG.r8]) t.tracee.setReg(r, saved.readBigUInt64LE(r * 8));
}

function hostProcessFlags(guestFlags: number): number {
  let f = guestFlags & ~(CSIGNAL | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID);
  if (!(guestFlags & CLONE_THREAD)) f |= CLONE_PARENT;
  return f;
}

function readStrings(t: Task, addr: number): Buffer[] {
  return t.mem.readPointerArray(addr, 0x7fffffff).map((p) => t.mem.readCStringBytes(p, MAX_ARG_STRLEN));
}

function matchChild(t: Task, c: ThreadGroup, idtype: number, id: number): boolean {
  switch (idtype) {
    case P_ALL: return true;
    case P_PID: return c.tgid === id;
    case P_PGID: return c.pgid === (id === 0 ? t.group.pgid : id);
    default: return false;
  }
}

interface WaitResult { child: ThreadGroup; status: number; code: number; sigStatus: number }

/** The common part of wait4 and waitid: find a child with something to report. */
function waitCommon(t: Task, idtype: number, id: number, options: number): WaitResult | 'none' | 'nochild' {
  const children = [...t.group.children].filter((c) => matchChild(t, c, idtype, id));
  if (children.length === 0) return 'nochild';
  for (const c of children) {
    if ((options & WEXITED) && !c.alive) {
      const st = c.zombieStatus!;
      const killed = (st & 0x7f) !== 0;
      const res = { child: c, status: st, code: killed ? (st & 0x80 ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED, sigStatus: killed ? st & 0x7f : (st >> 8) & 0xff };
      if (!(options & WNOWAIT)) reap(t.kernel, c);
      return res;
    }
    if ((options & WSTOPPED) && c.alive && c.pendingStopReport !== null) {
      const sig = c.pendingStopReport;
      if (!(options & WNOWAIT)) c.pendingStopReport = null;
      return { child: c, status: (sig << 8) | 0x7f, code: CLD_STOPPED, sigStatus: sig };
    }
    if ((options & WCONTINUED) && c.alive && c.pendingContinueReport) {
      if (!(options & WNOWAIT)) c.pendingContinueReport = false;
      return { child: c, status: 0xffff, code: CLD_CONTINUED, sigStatus: 18 };
    }
  }
  return 'none';
}

function writeRusage(t: Task, addr: number, child: ThreadGroup): void {
  if (!addr) return;
  const d = child.deadThreadTimes, c = child.childTimes;
  t.mem.write(addr, encodeRusage({ utime: d.utime + c.utime, stime: d.stime + c.stime }));
}

export const taskCalls: HandlerMap = {
  getpid: (t) => t.pid,
  gettid: (t) => t.tid,
  getppid: (t) => t.group.parent?.tgid ?? 0,
  set_tid_address: (t, a) => {
    t.clearChildTid = a[0]!;
    return new Native(() => t.tid);
  },

  clone: (t, a) => {
    const flags = a[0]! >>> 0;
    return startClone(t, flags, a[2]!, a[3]!, SYS.clone, hostProcessFlags(flags));
  },
  fork: (t) => startClone(t, SIGCHLD, 0, 0, SYS.clone, CLONE_PARENT),
  vfork: (t) => startClone(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, SYS.clone, CLONE_VM | CLONE_VFORK | CLONE_PARENT),
  // libc falls back to clone when clone3 is missing, as on kernels before 5.3.
  clone3: () => -ENOSYS,

  execve: (t, a) => {
    const pathname = t.mem.readCString(a[0]!);
    execve(t, { dirfd: -100, pathname, argv: readStrings(t, a[1]!), envp: readStrings(t, a[2]!), flags: 0 });
    return HANDLED;
  },
  execveat: (t, a) => {
    const flags = a[4]! | 0;
    if (flags & ~(0x100 | 0x1000)) throw new Errno(EINVAL);
    const pathname = t.mem.readCString(a[1]!);
    execve(t, { dirfd: a[0]! | 0, pathname, argv: readStrings(t, a[2]!), envp: readStrings(t, a[3]!), flags });
    return HANDLED;
  },

  wait4: (t, a) => {
    const pid = a[0]! | 0;
    const options = a[2]! | 0;
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) throw new Errno(EINVAL);
    let idtype = P_ALL, id = 0;
    if (pid > 0) { idtype = P_PID; id = pid; }
    else if (pid === 0) { idtype = P_PGID; id = 0; }
    else if (pid < -1) { idtype = P_PGID; id = -pid; }
    const r = waitCommon(t, idtype, id, options | WEXITED);
    if (r === 'nochild') throw new Errno(ECHILD);
    if (r === 'none') return options & WNOHANG ? 0 : new Block([t.group.childEvents]);
    if (a[1]) t.mem.writeI32(a[1], r.status);
    writeRusage(t, a[3]!, r.child);
    return r.child.tgid;
  },
  waitid: (t, a) => {
    const idtype = a[0]! | 0;
    const id = a[1]! | 0;
    const infop = a[2]!;
    const options = a[3]! | 0;
    if (options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)) throw new Errno(EINVAL);
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) throw new Errno(EINVAL);
    if (idtype === P_PIDFD || idtype > P_PIDFD) throw new Errno(EINVAL);
    const r = waitCommon(t, idtype, id, options);
    if (r === 'nochild') throw new Errno(ECHILD);
    if (r === 'none') {
      if (options & WNOHANG) {
        if (infop) t.mem.write(infop, Buffer.alloc(128));
        return 0;
      }
      return new Block([t.group.childEvents]);
    }
    if (infop) {
      const si = Buffer.alloc(128);
      si.writeInt32LE(SIGCHLD, 0);
      si.writeInt32LE(r.code, 8);
      si.writeInt32LE(r.child.tgid, 16);
      si.writeUInt32LE(r.child.cred.uid, 20);
      si.writeInt32LE(r.sigStatus, 24);
      t.mem.write(infop, si);
    }
    writeRusage(t, a[4]!, r.child);
    return 0;
  },

  // ---- credentials: root inside; the set*id family as Linux checks it ----
  getuid: (t) => t.cred.uid,
  geteuid: (t) => t.cred.euid,
  getgid: (t) => t.cred.gid,
  getegid: (t) => t.cred.egid,
  getresuid: (t, a) => { t.mem.writeU32(a[0]!, t.cred.uid); t.mem.writeU32(a[1]!, t.cred.euid); t.mem.writeU32(a[2]!, t.cred.suid); return 0; },
  getresgid: (t, a) => { t.mem.writeU32(a[0]!, t.cred.gid); t.mem.writeU32(a[1]!, t.cred.egid); t.mem.writeU32(a[2]!, t.cred.sgid); return 0; },
  setuid: (t, a) => {
    const uid = a[0]! >>> 0;
    if (uid === 0xffffffff) throw new Errno(EINVAL); // (uid_t)-1 is no user
    const c = t.cred;
    if (c.euid === 0) { c.uid = c.euid = c.suid = c.fsuid = uid; return 0; }
    if (uid !== c.uid && uid !== c.suid) throw new Errno(EPERM);
    c.euid = c.fsuid = uid;
    return 0;
  },
  setgid: (t, a) => {
    const gid = a[0]! >>> 0;
    if (gid === 0xffffffff) throw new Errno(EINVAL);
    const c = t.cred;
    if (c.euid === 0) { c.gid = c.egid = c.sgid = c.fsgid = gid; return 0; }
    if (gid !== c.gid && gid !== c.sgid) throw new Errno(EPERM);
    c.egid = c.fsgid = gid;
    return 0;
  },
  setreuid: (t, a) => setres(t, a[0]! | 0, a[1]! | 0, -1, 'u', true),
  setregid: (t, a) => setres(t, a[0]! | 0, a[1]! | 0, -1, 'g', true),
  setresuid: (t, a) => setres(t, a[0]! | 0, a[1]! | 0, a[2]! | 0, 'u', false),
  setresgid: (t, a) => setres(t, a[0]! | 0, a[1]! | 0, a[2]! | 0, 'g', false),
  setfsuid: (t, a) => { const old = t.cred.fsuid; if (t.cred.euid === 0) t.cred.fsuid = a[0]! >>> 0; return old; },
  setfsgid: (t, a) => { const old = t.cred.fsgid; if (t.cred.euid === 0) t.cred.fsgid = a[0]! >>> 0; return old; },
  getgroups: (t, a) => {
    const n = a[0]! | 0;
    const g = t.cred.groups;
    if (n < 0) throw new Errno(EINVAL);
    if (n === 0) return g.length;
    if (n < g.length) throw new Errno(EINVAL);
    const b = Buffer.alloc(g.length * 4);
    g.forEach((v, i) => b.writeUInt32LE(v, i * 4));
    if (g.length) t.mem.write(a[1]!, b);
    return g.length;
  },
  setgroups: (t, a) => {
    const n = a[0]! | 0;
    if (t.cred.euid !== 0) throw new Errno(EPERM);
    if (n < 0 || n > 65536) throw new Errno(EINVAL);
    const b = n ? t.mem.read(a[1]!, n * 4) : Buffer.alloc(0);
    t.cred.groups = Array.from({ length: n }, (_, i) => b.readUInt32LE(i * 4));
    return 0;
  },
  capget: (t, a) => {
    const hdr = a[0]!;
    const ver = t.mem.u32(hdr);
    if (ver !== 0x20080522 && ver !== 0x20071026 && ver !== 0x19980330) { t.mem.writeU32(hdr, 0x20080522); throw new Errno(EINVAL); }
    if (a[1]) {
      const full = t.cred.euid === 0 ? 0xffffffff : 0;
      const d = Buffer.alloc(24);
      for (let i = 0; i < 2; i++) { d.writeUInt32LE(full, i * 12); d.writeUInt32LE(full, i * 12 + 4); d.writeUInt32LE(0, i * 12 + 8); }
      d.writeUInt32LE(full & 0x1ff, 12); d.writeUInt32LE(full & 0x1ff, 16);
      t.mem.write(a[1], ver === 0x19980330 ? d.subarray(0, 12) : d);
    }
    return 0;
  },
  capset: (t) => (t.cred.euid === 0 ? 0 : -EPERM),

  // ---- process groups and sessions ----
  getpgid: (t, a) => {
    const pid = a[0]! | 0;
    const g = pid === 0 ? t.group : t.kernel.groups.get(pid);
    if (!g || !g.alive) throw new Errno(ESRCH);
    return g.pgid;
  },
  getpgrp: (t) => t.group.pgid,
  getsid: (t, a) => {
    const pid = a[0]! | 0;
    const g = pid === 0 ? t.group : t.kernel.groups.get(pid);
    if (!g || !g.alive) throw new Errno(ESRCH);
    return g.sid;
  },
  setpgid: (t, a) => {
    const pid = a[0]! | 0;
    let pgid = a[1]! | 0;
    if (pgid < 0) throw new Errno(EINVAL);
    const g = pid === 0 ? t.group : t.kernel.groups.get(pid);
    if (!g || !g.alive || (g !== t.group && g.parent !== t.group)) throw new Errno(ESRCH);
    if (g.tgid === g.sid) throw new Errno(EPERM);
    if (g.sid !== t.group.sid) throw new Errno(EPERM);
    if (pgid === 0) pgid = g.tgid;
    if (pgid !== g.tgid && ![...t.kernel.groups.values()].some((o) => o.alive && o.pgid === pgid && o.sid === g.sid)) throw new Errno(EPERM);
    g.pgid = pgid;
    return 0;
  },
  setsid: (t) => {
    const g = t.group;
    if ([...t.kernel.groups.values()].some((o) => o.alive && o.pgid === g.tgid)) throw new Errno(EPERM);
    g.sid = g.pgid = g.tgid;
    t.kernel.console?.detachSession(g);
    return g.sid;
  },
};

function setres(t: Task, r: number, e: number, s: number, which: 'u' | 'g', legacy: boolean): number {
  const c = t.cred;
  const cur = which === 'u' ? [c.uid, c.euid, c.suid] : [c.gid, c.egid, c.sgid];
  const priv = c.euid === 0;
  for (const v of [r, e, s]) if (v !== -1 && !priv && !cur.includes(v >>> 0)) throw new Errno(EPERM);
  const nr = r === -1 ? cur[0]! : r >>> 0;
  const ne = e === -1 ? cur[1]! : e >>> 0;
  let ns = s === -1 ? cur[2]! : s >>> 0;
  if (legacy && (r !== -1 || (e !== -1 && ne !== cur[0]))) ns = ne;
  if (which === 'u') { c.uid = nr; c.euid = ne; c.suid = ns; c.fsuid = ne; }
  else { c.gid = nr; c.egid = ne; c.sgid = ns; c.fsgid = ne; }
  return 0;
}

