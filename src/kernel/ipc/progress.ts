// Progress of a blocking transfer across re-runs of one system call. A handler that sleeps
// is re-run from the start when woken, with the same user buffer; a pipe or stream write
// bigger than the free space must resume after the bytes it already moved instead of
// sending them twice. Progress is keyed by the call's SyscallState, which lives exactly as
// long as the call.
import type { Task, SyscallState } from '../task/task.js';

const done = new WeakMap<SyscallState, { total: number; moved: number }>();

/** Bytes of a `total`-byte transfer this call already moved (0 on a first run). */
export function progressOf(t: Task, total: number): number {
  const s = t.syscall;
  if (!s) return 0;
  const p = done.get(s);
  return p && p.total === total ? p.moved : 0;
}

/** Records that `moved` bytes (cumulative) of the transfer are done. */
export function setProgress(t: Task, total: number, moved: number): void {
  const s = t.syscall;
  if (s) done.set(s, { total, moved });
}

export function clearProgress(t: Task): void {
  if (t.syscall) done.delete(t.syscall);
}
