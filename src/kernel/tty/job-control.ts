// Controlling terminals and job control around them: which tty a session owns, signals to
// the foreground process group, the background checks (tty_check_change: SIGTTIN/SIGTTOU
// or EIO for orphaned groups), hangups (SIGHUP+SIGCONT to the session leader), a session
// leader's exit (SIGHUP to the foreground group) and groups orphaned by an exit that have
// stopped members (SIGHUP then SIGCONT), as kernel/exit.c does.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { Errno } from '../errno.js';
import { EAGAIN, EINTR, EIO } from '../abi/errno.js';
import { SIGCONT, SIGHUP, SIGTTIN, SIGTTOU, SI_KERNEL, sigbit } from '../abi/signals.js';
import { sendToGroup, isOrphanedPgrp } from '../signal/deliver.js';
import type { Tty } from './tty.js';

const registries = new WeakMap<Kernel, Set<Tty>>();

/** Every tty of the machine (lines, consoles, ptys) that a session may own. */
export function ttySet(k: Kernel): Set<Tty> {
  let s = registries.get(k);
  if (!s) registries.set(k, (s = new Set()));
  return s;
}

/** The controlling tty of a session (null when it has none). */
export function ttyOfSession(k: Kernel, sid: number): Tty | null {
  if (!sid) return null;
  for (const tty of ttySet(k)) if (tty.sid === sid) return tty;
  return null;
}

export function controllingTty(t: Task): Tty | null {
  return ttyOfSession(t.kernel, t.group.sid);
}

function members(k: Kernel, pgid: number): ThreadGroup[] {
  return [...k.groups.values()].filter((g) => g.alive && g.pgid === pgid);
}

export function signalPgrp(k: Kernel, pgid: number, sig: number): void {
  if (!pgid) return;
  for (const g of members(k, pgid)) sendToGroup(k, g, sig, { pid: 0, uid: 0, code: SI_KERNEL });
}

/** open(2) of a tty without O_NOCTTY by a session leader that has none makes it its ctty. */
export function maybeAcquire(t: Task, tty: Tty): void {
  const g = t.group;
  if (g.sid !== g.tgid || tty.sid !== 0 || tty.noCtty) return;
  if (ttyOfSession(t.kernel, g.sid)) return;
  tty.sid = g.sid;
  tty.pgrp = g.pgid;
}

/**
 * __tty_check_change: may task `t` read (SIGTTIN) or change/write (SIGTTOU) this tty?
 * Returns normally when it may. Otherwise either throws EIO, or sends the signal to the
 * task's process group and throws EAGAIN so the call sleeps and is restarted after the
 * stop (the signal is sent once the task is parked, so the wait is interrupted).
 */
export function checkChange(t: Task, tty: Tty, sig: number, orEintr = false): void {
  const g = t.group;
  if (tty.sid === 0 || g.sid !== tty.sid || !tty.pgrp || g.pgid === tty.pgrp) return;
  let ignored: boolean;
  try {
    ignored = g.sigactions.isIgnored(sig) || (t.tracee.sigmask() & sigbit(sig)) !== 0n;
  } catch {
    ignored = true;
  }
  if (ignored) {
    if (sig === SIGTTIN) throw new Errno(EIO);
    return;
  }
  if (isOrphanedPgrp(t.kernel, g.pgid)) throw new Errno(EIO);
  const k = t.kernel;
  const pgid = g.pgid;
  if (orEintr) {
    signalPgrp(k, pgid, sig);
    throw new Errno(EINTR);
  }
  k.schedule(() => signalPgrp(k, pgid, sig));
  throw new Errno(EAGAIN);
}

export const checkRead = (t: Task, tty: Tty) => checkChange(t, tty, SIGTTIN);
export const checkWrite = (t: Task, tty: Tty) => checkChange(t, tty, SIGTTOU);

/**
 * tty_signal_session_leader on hangup: the session leader gets SIGHUP and SIGCONT and the
 * session loses its controlling tty.
 */
export function hangupSession(k: Kernel, tty: Tty): void {
  const sid = tty.sid;
  if (!sid) return;
  const leader = k.groups.get(sid);
  if (leader && leader.alive && leader.sid === sid) {
    sendToGroup(k, leader, SIGHUP, { pid: 0, uid: 0, code: SI_KERNEL });
    sendToGroup(k, leader, SIGCONT, { pid: 0, uid: 0, code: SI_KERNEL });
  }
  tty.sid = 0;
  tty.pgrp = 0;
}

/** disassociate_ctty: SIGHUP (and SIGCONT unless exiting) to the foreground group; no ctty. */
export function disassociate(k: Kernel, g: ThreadGroup, onExit: boolean): void {
  if (g.sid !== g.tgid) return;
  const tty = ttyOfSession(k, g.sid);
  if (!tty) return;
  const pgrp = tty.pgrp;
  if (pgrp) {
    signalPgrp(k, pgrp, SIGHUP);
    if (!onExit) signalPgrp(k, pgrp, SIGCONT);
  }
  tty.sid = 0;
  tty.pgrp = 0;
}

/** Whether pgid has no member with a parent in another group of its session, `gone` not counted. */
function orphanedWithout(k: Kernel, pgid: number, gone: ThreadGroup | null): boolean {
  for (const g of k.groups.values()) {
    if (!g.alive || g === gone || g.pgid !== pgid) continue;
    const p = g.parent;
    if (p && p !== gone && p.alive && p.pgid !== pgid && p.sid === g.sid) return false;
  }
  return true;
}

/**
 * Called when a process exits (before its children are reparented): a session leader's
 * exit hangs up its terminal's foreground group, and process groups this exit orphans get
 * SIGHUP then SIGCONT if any member is stopped (POSIX, kill_orphaned_pgrp).
 */
export function onProcessExit(k: Kernel, g: ThreadGroup): void {
  if (g.sid === g.tgid) disassociate(k, g, true);
  const candidates = new Set<number>([g.pgid]);
  for (const c of g.children) if (c.alive && c.sid === g.sid) candidates.add(c.pgid);
  for (const pgid of candidates) {
    if (orphanedWithout(k, pgid, null)) continue; // already orphaned: not this exit's doing
    if (!orphanedWithout(k, pgid, g)) continue;
    const ms = members(k, pgid).filter((m) => m !== g);
    if (!ms.some((m) => m.jobState === 'stopped')) continue;
    for (const m of ms) {
      sendToGroup(k, m, SIGHUP, { pid: 0, uid: 0, code: SI_KERNEL });
      sendToGroup(k, m, SIGCONT, { pid: 0, uid: 0, code: SI_KERNEL });
    }
  }
}

export { SIGTTIN, SIGTTOU };
