// ppoll, pselect6 and epoll_pwait wait under a signal mask of their own (the race-free way to wait for a
// file or a signal: block SIGCHLD, then wait with it unblocked — GNU make's jobserver does
// this). Guest masks live on the host, so while such a call is parked the kernel keeps the
// temporary mask here, and signals are judged against it. When a signal the temporary mask
// lets through must end the call, the host's own rt_sigsuspend with that mask does it: it
// returns EINTR through the handler and restores the old mask afterwards, as Linux does.
import type { Task, SyscallReturn } from '../task/task.js';
import { Block, HANDLED } from '../task/task.js';
import { SYS } from '../abi/syscalls.js';
import { NSIG, sigbit, defaultAction } from '../abi/signals.js';
import { REG } from '../../host/ptrace/constants.js';
import { hostSigPending } from '../../host/proc-stat.js';

export interface MaskedWait {
  /** The temporary mask. */
  mask: bigint;
  /** Guest address of an 8-byte sigset holding it (what rt_sigsuspend reads). */
  maskAddr: number;
}

const waits = new WeakMap<Task, MaskedWait>();

export function setMaskedWait(t: Task, w: MaskedWait | null): void {
  if (w) waits.set(t, w);
  else waits.delete(t);
}

export function maskedWait(t: Task): MaskedWait | undefined {
  return waits.get(t);
}

/** Whether sig would end a wait under mask: not blocked, and caught or fatal (an ignored or
 *  stopping signal leaves the sleeper asleep). */
export function endsMaskedWait(t: Task, mask: bigint, sig: number): boolean {
  if ((mask & sigbit(sig)) !== 0n) return false;
  if (t.group.sigactions.hasHandler(sig)) return true;
  if (t.group.sigactions.isIgnored(sig)) return false;
  const d = defaultAction(sig);
  return d === 'term' || d === 'core';
}

/** A signal already pending on the host that would end a wait under mask, if any. */
export function pendingEndsMaskedWait(t: Task, mask: bigint): boolean {
  const pending = hostSigPending(t.group.hostPid, t.hostTid);
  if (!pending) return false;
  for (let sig = 1; sig <= NSIG; sig++) {
    if ((pending & sigbit(sig)) !== 0n && endsMaskedWait(t, mask, sig)) return true;
  }
  return false;
}

/**
 * Turns the task's trapped call into the host's rt_sigsuspend(mask) and lets it run: with a
 * signal pending that the mask lets through it returns at once, through the handler.
 */
export function suspendNatively(t: Task, w: MaskedWait): void {
  setMaskedWait(t, null);
  t.syscall = null;
  const tr = t.tracee;
  tr.setReg(REG.orig_rax, SYS.rt_sigsuspend);
  tr.setReg(REG.rdi, w.maskAddr);
  tr.setReg(REG.rsi, 8);
  tr.cont();
}

/**
 * Runs a poll (ppoll, pselect6, epoll_pwait) under the call's own mask at maskAddr (0: none).
 * If it would block while a signal the mask lets through is pending, or once one comes, the
 * call ends through the handler.
 */
export function waitUnderSigmask(t: Task, maskAddr: number, poll: () => SyscallReturn): SyscallReturn {
  setMaskedWait(t, null);
  if (!maskAddr) return poll();
  const w = { mask: t.mem.read(maskAddr, 8).readBigUInt64LE(0), maskAddr };
  const r = poll();
  if (!(r instanceof Block)) return r;
  if (pendingEndsMaskedWait(t, w.mask)) {
    suspendNatively(t, w);
    return HANDLED;
  }
  setMaskedWait(t, w);
  return r;
}
