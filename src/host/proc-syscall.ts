// /proc/<pid>/task/<tid>/syscall of a host thread (proc(5)): the system call it is blocked in,
// with its stack and instruction pointers. The kernel reads it for threads that sleep in a call
// the host runs natively, whose registers ptrace cannot read without stopping them.
import { readFileSync } from 'node:fs';

export type HostSyscall =
  | { state: 'running' }
  | { state: 'blocked'; nr: number; args: bigint[]; sp: bigint; pc: bigint };

export function hostSyscall(pid: number, tid: number): HostSyscall | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'latin1').trim();
  } catch {
    return null;
  }
  if (s === 'running') return { state: 'running' };
  const f = s.split(' ');
  const nr = Number(f[0]);
  const nums = f.slice(1).map((x) => BigInt(x));
  // "-1 sp pc": blocked, but not in a system call (e.g. a page fault).
  if (nr < 0) return { state: 'blocked', nr, args: [], sp: nums[0] ?? 0n, pc: nums[1] ?? 0n };
  return { state: 'blocked', nr, args: nums.slice(0, 6), sp: nums[6] ?? 0n, pc: nums[7] ?? 0n };
}
