// Shared by the per-process files: who may look, states, times and names as Linux shows them.
import { Errno } from '../../errno.js';
import { EACCES } from '../../abi/errno.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { Path } from '../path.js';
import type { ProcKernel } from './kernel-view.js';
import { hostStat, CLK_TCK } from '../../../host/proc-stat.js';

/** Linux's ptrace_may_access, as far as /proc needs it: root, or the same real/effective uid. */
export function mayPeek(reader: Task | null, g: ThreadGroup): boolean {
  if (!reader) return true;
  const c = reader.cred;
  return c.euid === 0 || (c.uid === g.cred.uid && c.uid === g.cred.euid && c.uid === g.cred.suid);
}

export function checkPeek(reader: Task | null, g: ThreadGroup): void {
  if (!mayPeek(reader, g)) throw new Errno(EACCES);
}

/** The root paths are shown relative to: the reader's, or the machine's. */
export function readerRoot(k: ProcKernel, reader: Task | null): Path {
  return reader ? reader.fs.root : k.mounts.rootPath;
}

/** A path as /proc's links show it: like d_path, " (deleted)" once its name was unlinked. */
export function pathText(k: ProcKernel, p: Path, reader: Task | null): string {
  const text = k.mounts.pathString(p, readerRoot(k, reader));
  const d = p.dentry;
  const unlinked = d.parent !== null && d.parent.children.get(d.name) !== d && d !== p.mount.root;
  return unlinked && !text.endsWith(' (deleted)') ? `${text} (deleted)` : text;
}

/** A thread's comm (the leader's for the process). */
export function commOf(g: ThreadGroup, t: Task | null): string {
  const name = t ? t.name || g.comm : g.comm || g.leader?.name || '';
  return name.slice(0, 15);
}

/** The host's stat fields of a guest task (or its whole process when t is null). */
export function hostFields(g: ThreadGroup, t: Task | null): string[] | null {
  if (!g.alive) return null;
  return hostStat(g.hostPid, t ? t.hostTid : null);
}

/**
 * A task's state letter. Guest threads blocked in emulated calls sit in ptrace stops on the
 * host ('t'); to the guest they are sleeping. The reader itself is running.
 */
export function stateOf(k: ProcKernel, g: ThreadGroup, t: Task | null, host: string[] | null, reader: Task | null): string {
  if (!g.alive) return 'Z';
  if (g.jobState === 'stopped') return 'T';
  if (reader && (t ? reader === t : reader.group === g)) return 'R';
  const task = t ?? g.leader;
  if (task && k.isParked?.(task)) return 'S';
  const hs = host?.[2] ?? 'S';
  if (hs === 'R' || hs === 'D') return hs;
  return 'S';
}

export const STATE_NAMES: Record<string, string> = {
  R: 'R (running)', S: 'S (sleeping)', D: 'D (disk sleep)', T: 'T (stopped)', t: 't (tracing stop)',
  Z: 'Z (zombie)', X: 'X (dead)',
};

/** Clock ticks since the machine booted at which the process started. */
export function startTicks(k: ProcKernel, g: ThreadGroup): number {
  return Math.max(0, Math.floor(((g.startTime - k.bootMs) * CLK_TCK) / 1000));
}

/** The controlling tty (tty_nr and tpgid of stat) of a process, if it is the console's. */
export function ttyOf(k: ProcKernel, g: ThreadGroup): { nr: number; pgrp: number } {
  const tty = k.console?.ttyOfSession(g.sid);
  if (tty) return { nr: tty.rdev, pgrp: tty.pgrp };
  return { nr: 0, pgrp: -1 };
}

export function num(v: string | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}
