// Sending signals and the stops that come of them. The host kernel does the delivery
// itself (frames, masks, default actions) since guest tasks are host threads; the kernel
// translates pids, fixes the sender's identity in siginfo at the delivery stop, wakes
// emulated waits, and keeps job-control state for wait4.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SI_USER, SI_TKILL, CLD_STOPPED, CLD_CONTINUED, sigbit, defaultAction } from '../abi/signals.js';
import * as libc from '../../host/libc.js';
import { WaitQueue } from '../sched/wait-queue.js';
import { maskedWait } from './masked-wait.js';

export interface SigInfoFix {
  pid: number; uid: number; code: number; status?: number;
  /** Writes the rest of a siginfo (timer id, overrun, value …). */
  fill?: (si: Buffer) => void;
}

const groupFixups = new WeakMap<ThreadGroup, Map<number, SigInfoFix>>();
const arrivals = new WeakMap<ThreadGroup, WaitQueue>();

/** Woken whenever the kernel sends the group (or one of its threads) a signal: signalfd. */
export function signalArrivals(g: ThreadGroup): WaitQueue {
  let q = arrivals.get(g);
  if (!q) arrivals.set(g, (q = new WaitQueue()));
  return q;
}

function fixupsOf(g: ThreadGroup): Map<number, SigInfoFix> {
  let m = groupFixups.get(g);
  if (!m) groupFixups.set(g, (m = new Map()));
  return m;
}

function wouldInterrupt(g: ThreadGroup, sig: number): boolean {
  if (sig === SIGKILL) return false; // the host kills it even in a ptrace stop
  return !g.sigactions.isIgnored(sig) || sig === SIGCONT;
}

function blocks(t: Task, sig: number): boolean {
  const w = maskedWait(t);
  if (w) return (w.mask & sigbit(sig)) !== 0n;
  try {
    return (t.tracee.sigmask() & sigbit(sig)) !== 0n;
  } catch {
    return true;
  }
}

/** A process-directed signal (kill). */
export function sendToGroup(k: Kernel, g: ThreadGroup, sig: number, info?: SigInfoFix): void {
  if (!g.alive || g.threads.size === 0) return;
  if (sig === 0) return;
  if (sig === SIGCONT) continueGroup(k, g);
  // Linux drops an ignored, unblocked signal at once; a traced task would stop for it anyway.
  else if (g.sigactions.isIgnored(sig) && !blocks(g.leader, sig)) return;
  if (info) fixupsOf(g).set(sig, info);
  libc.kill(g.hostPid, sig);
  arrivals.get(g)?.wake();
  if (sig === SIGKILL) {
    g.leader.exiting = true;
    return;
  }
  if (!wouldInterrupt(g, sig)) return;
  for (const t of g.threads) {
    if (k.isParked(t) && !blocks(t, sig)) {
      k.interruptWait(t, sig);
      return;
    }
  }
}

/** A thread-directed signal (tgkill, tkill). */
export function sendToTask(k: Kernel, t: Task, sig: number, info?: SigInfoFix): void {
  if (sig === 0) return;
  if (sig === SIGCONT) continueGroup(k, t.group);
  if (info) t.sigInfoFixups.set(sig, info);
  libc.tgkill(t.group.hostPid, t.hostTid, sig);
  arrivals.get(t.group)?.wake();
  if (sig !== SIGKILL && wouldInterrupt(t.group, sig) && k.isParked(t) && !blocks(t, sig)) k.interruptWait(t, sig);
}

/** The sender's identity the kernel recorded for a signal about to reach `task` (and forgets it). */
export function takeSigInfoFix(task: Task, sig: number): SigInfoFix | null {
  const fix = task.sigInfoFixups.get(sig) ?? groupFixups.get(task.group)?.get(sig) ?? null;
  task.sigInfoFixups.delete(sig);
  groupFixups.get(task.group)?.delete(sig);
  return fix;
}

/** A signal-delivery stop: put the guest-visible sender in siginfo, then deliver. */
export function onSignalDelivery(k: Kernel, task: Task, sig: number): void {
  const fix = takeSigInfoFix(task, sig);
  if (fix) {
    const si = task.tracee.loadSiginfo();
    const code = si.readInt32LE(8);
    const pid = si.readInt32LE(16);
    if (pid === process.pid && (code === SI_USER || code === SI_TKILL || code <= 0)) {
      si.writeInt32LE(fix.code, 8);
      si.writeInt32LE(fix.pid, 16);
      si.writeUInt32LE(fix.uid, 20);
      if (fix.status !== undefined) {
        si.writeInt32LE(fix.status, 24);
        si.writeBigInt64LE(0n, 32);
        si.writeBigInt64LE(0n, 40);
      }
      fix.fill?.(si);
      task.tracee.storeSiginfo();
    }
  }
  if ((sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU) && !task.group.sigactions.hasHandler(sig) && !task.group.sigactions.isIgnored(sig)) {
    // The host discards these for its own (always orphaned) process group of guest
    // processes, so the kernel applies Linux's rule on the guest's groups and stops the
    // task with SIGSTOP, remembering which signal the stop reports.
    if (isOrphanedPgrp(k, task.group.pgid)) {
      task.tracee.cont(0);
      return;
    }
    stopSignals.set(task.group, sig);
    task.tracee.cont(SIGSTOP);
    return;
  }
  task.tracee.cont(sig);
}

const stopSignals = new WeakMap<ThreadGroup, number>();

/** A process group is orphaned when no member has a parent in another group of the session. */
export function isOrphanedPgrp(k: Kernel, pgid: number): boolean {
  for (const g of k.groups.values()) {
    if (!g.alive || g.pgid !== pgid) continue;
    const p = g.parent;
    if (p && p.alive && p.pgid !== pgid && p.sid === g.sid) return false;
  }
  return true;
}

/** The host put a thread into group-stop (SIGSTOP, SIGTSTP, …): keep it there. */
export function onGroupStop(k: Kernel, task: Task, sig: number): void {
  const g = task.group;
  task.groupStopped = true;
  if (g.jobState === 'stopped') return;
  const reported = stopSignals.get(g);
  if (reported !== undefined && sig === SIGSTOP) {
    stopSignals.delete(g);
    sig = reported;
  }
  g.jobState = 'stopped';
  g.pendingStopReport = sig;
  g.pendingContinueReport = false;
  const p = g.parent;
  if (p && p.alive) {
    p.childEvents.wake();
    if (!p.sigactions.noChildStop()) {
      sendToGroup(k, p, SIGCHLD, { pid: g.tgid, uid: g.cred.uid, code: CLD_STOPPED, status: sig });
    }
  }
}

export function continueGroup(k: Kernel, g: ThreadGroup): void {
  if (g.jobState !== 'stopped') return;
  g.jobState = 'running';
  g.pendingStopReport = null;
  g.pendingContinueReport = true;
  for (const t of g.threads) {
    if (t.groupStopped) {
      t.groupStopped = false;
      try { t.tracee.cont(); } catch { /* gone */ }
    }
  }
  const p = g.parent;
  if (p && p.alive) {
    p.childEvents.wake();
    if (!p.sigactions.noChildStop()) {
      sendToGroup(k, p, SIGCHLD, { pid: g.tgid, uid: g.cred.uid, code: CLD_CONTINUED, status: SIGCONT });
    }
  }
}

export function isStopSignal(sig: number): boolean {
  return sig === SIGSTOP || defaultAction(sig) === 'stop';
}
