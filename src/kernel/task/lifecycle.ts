// Birth and death of tasks: new children reported by the host, exits, zombies, reaping,
// reparenting to init.
import type { Kernel } from '../kernel.js';
import { Task } from './task.js';
import { ThreadGroup } from './thread-group.js';
import { Tracee } from '../../host/ptrace/tracee.js';
import type { CpuTimes } from '../../host/ptrace/platform.js';
import { Rlimits } from './rlimits.js';
import { restoreArgRegs } from '../syscalls/sys_task.js';
import { CLONE_CHILD_SETTID, CLONE_FILES, CLONE_FS, CLONE_PARENT_SETTID, CLONE_SIGHAND, CLONE_THREAD } from '../abi/clone.js';
import { CLD_DUMPED, CLD_EXITED, CLD_KILLED, SIGCHLD } from '../abi/signals.js';
import { sendToGroup } from '../signal/deliver.js';
import { dropAllTimers } from '../signal/interval-timers.js';
import { sysvIpcExit, sysvIpcFork } from '../ipc/sysv/process.js';

/** Children whose first stop still needs the kernel's setup (CLONE_CHILD_SETTID). */
const childSetup = new WeakMap<Task, { ctid: number; regs: Buffer }>();

export function onNewChild(k: Kernel, parent: Task, childHostTid: number): void {
  const pc = parent.pendingClone;
  parent.pendingClone = null;
  if (!pc || childHostTid <= 0) {
    parent.tracee.resumeToSyscallStop();
    return;
  }
  const tr = new Tracee(childHostTid);
  const vtid = k.pids.alloc();
  let group: ThreadGroup;
  const pg = parent.group;
  if (pc.flags & CLONE_THREAD) {
    group = pg;
  } else {
    const guestParent = pc.guestParent && pg.parent ? pg.parent : pg;
    group = new ThreadGroup(
      vtid, guestParent, pg.cred.clone(),
      pc.flags & CLONE_FILES ? pg.fds : pg.fds.fork(),
      pc.flags & CLONE_FS ? pg.fs : pg.fs.clone(),
      pc.flags & CLONE_SIGHAND ? pg.sigactions : pg.sigactions.clone(),
      childHostTid, new Rlimits(pg.rlimits),
    );
    group.pgid = pg.pgid;
    group.sid = pg.sid;
    group.exitSignal = pc.exitSignal;
    group.exe = pg.exe;
    group.exePath = pg.exePath;
    group.argv = pg.argv;
    group.envp = pg.envp;
    group.comm = pg.comm;
    group.noNewPrivs = pg.noNewPrivs;
    for (const [k2, v] of pg.mappedFiles) group.mappedFiles.set(k2, v);
    sysvIpcFork(pg, group, pc.flags);
    guestParent.children.add(group);
    k.groups.set(vtid, group);
  }
  const child = new Task(k, vtid, tr, group);
  child.name = parent.name;
  if (group !== pg) group.leader = child;
  group.threads.add(child);
  k.byHostTid.set(childHostTid, child);
  k.byTid.set(vtid, child);
  childSetup.set(child, { ctid: pc.flags & CLONE_CHILD_SETTID ? pc.ctid : 0, regs: pc.savedArgs });

  // *ptid must hold the tid before either side runs: a thread may exit (and its
  // CLONE_CHILD_CLEARTID zero the same word) before the parent's clone returns.
  if (pc.flags & CLONE_PARENT_SETTID) {
    try { parent.mem.writeI32(pc.ptid, vtid); } catch { /* EFAULT: Linux ignores it too */ }
  }
  const inner = parent.exitFixup;
  parent.exitFixup = (r0) => {
    const r = inner ? inner(r0) : r0;
    return r <= 0 ? r : vtid;
  };
  parent.tracee.resumeToSyscallStop();
  k.replayEarlyStops(childHostTid);
}

/** PTRACE_EVENT_STOP with SIGTRAP: a new child's first stop, or a PTRACE_INTERRUPT. */
export function onEventStop(k: Kernel, task: Task): void {
  const setup = childSetup.get(task);
  if (setup) {
    childSetup.delete(task);
    restoreArgRegs(task, setup.regs);
    if (setup.ctid) {
      try { task.mem.writeI32(setup.ctid, task.tid); } catch { /* as Linux: ignored */ }
    }
  }
  if (task.group.jobState === 'stopped' && !task.group.leader.exiting) {
    task.groupStopped = true;
    return;
  }
  task.tracee.cont();
}

export function onThreadExit(k: Kernel, task: Task, status: number, cpu?: CpuTimes): void {
  const g = task.group;
  if (cpu) {
    g.deadThreadTimes.utime += cpu.utime;
    g.deadThreadTimes.stime += cpu.stime;
  }
  task.syscall?.unpark?.();
  task.syscall = null;
  k.byHostTid.delete(task.hostTid);
  k.byTid.delete(task.tid);
  g.threads.delete(task);
  if (task === g.leader) g.leaderStatus = g.groupExitCode ?? status;
  else k.pids.free(task.tid);
  if (g.threads.size === 0) processExit(k, g, g.leaderStatus ?? status);
}

function processExit(k: Kernel, g: ThreadGroup, status: number): void {
  k.console?.processExit(g);
  g.zombieStatus = status;
  dropAllTimers(g);
  sysvIpcExit(k, g);
  if (![...k.groups.values()].some((o) => o !== g && o.alive && o.fds === g.fds)) g.fds.closeAll();
  if (g === k.init || (k.init === null)) {
    k.log.info(`tuml: init exited with status ${describeStatus(status)}`);
    k.halt((status & 0x7f) === 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f));
    return;
  }
  const init = k.init!;
  for (const c of g.children) {
    c.parent = init;
    // As reparent_leader does: whatever clone asked for, init hears SIGCHLD ("we don't want
    // people slaying init").
    c.exitSignal = SIGCHLD;
    init.children.add(c);
    if (!c.alive) init.childEvents.wake();
  }
  g.children.clear();
  const parent = g.parent;
  if (!parent || !parent.alive) {
    reap(k, g);
    return;
  }
  if (g.exitSignal) {
    const killed = (status & 0x7f) !== 0;
    sendToGroup(k, parent, g.exitSignal, {
      pid: g.tgid, uid: g.cred.uid,
      code: killed ? ((status & 0x80) ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED,
      status: killed ? status & 0x7f : (status >> 8) & 0xff,
    });
  }
  if (parent.sigactions.noChildZombies()) reap(k, g);
  else parent.childEvents.wake();
}

export function reap(k: Kernel, g: ThreadGroup): void {
  const p = g.parent;
  if (p) {
    p.childTimes.utime += g.deadThreadTimes.utime + g.childTimes.utime;
    p.childTimes.stime += g.deadThreadTimes.stime + g.childTimes.stime;
  }
  g.parent?.children.delete(g);
  k.groups.delete(g.tgid);
  k.pids.free(g.tgid);
}

export function describeStatus(status: number): string {
  if ((status & 0x7f) === 0) return `exit ${(status >> 8) & 0xff}`;
  return `signal ${status & 0x7f}${status & 0x80 ? ' (core dumped)' : ''}`;
}
