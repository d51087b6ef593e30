// The seccomp filter every guest task runs under. Everything not in ALLOWED is reported to
// the kernel thread (SECCOMP_RET_TRACE → PTRACE_EVENT_SECCOMP) and served there. An entry
// belongs here only if the call touches nothing but the calling task's own memory, threads,
// signals or clocks — never a file, a socket, another process or a host name space.
import { SYS } from '../kernel/abi/syscalls.js';
import { ENOSYS } from '../kernel/abi/errno.js';

export interface AllowEntry {
  readonly nr: number;
  readonly why: string;
  /** Allow only when (args[argIndex] & mask) !== 0; otherwise trace. */
  readonly ifArgHasBits?: { argIndex: number; mask: number };
}

const MAP_ANONYMOUS = 0x20;

// Not here on purpose: alarm, setitimer and the POSIX timer calls. Their signal could not
// reach a task parked in an emulated wait, so the kernel keeps those timers itself.
export const ALLOWED: readonly AllowEntry[] = [
  { nr: SYS.mmap, why: 'anonymous memory only (file mappings are traced so the kernel supplies the backing fd)', ifArgHasBits: { argIndex: 3, mask: MAP_ANONYMOUS } },
  { nr: SYS.munmap, why: 'own address space' },
  { nr: SYS.mprotect, why: 'own address space' },
  { nr: SYS.madvise, why: 'own address space' },
  { nr: SYS.mremap, why: 'own address space' },
  { nr: SYS.brk, why: 'own heap' },
  { nr: SYS.msync, why: 'only reaches files the kernel itself mapped for the task' },
  { nr: SYS.mincore, why: 'own address space' },
  { nr: SYS.mlock, why: 'own memory; bounded by the host RLIMIT_MEMLOCK' },
  { nr: SYS.mlock2, why: 'own memory; bounded by the host RLIMIT_MEMLOCK' },
  { nr: SYS.munlock, why: 'own memory' },
  { nr: SYS.mlockall, why: 'own memory; bounded by the host RLIMIT_MEMLOCK' },
  { nr: SYS.munlockall, why: 'own memory' },
  { nr: SYS.futex, why: 'own memory; futexes run natively' },
  { nr: SYS.set_robust_list, why: 'own thread state' },
  { nr: SYS.get_robust_list, why: 'own thread state (pid 0 only is used by libc)' },
  { nr: SYS.rseq, why: 'own thread state' },
  { nr: SYS.sched_yield, why: 'scheduling of itself' },
  { nr: SYS.arch_prctl, why: 'own FS/GS base' },
  { nr: SYS.rt_sigreturn, why: 'own signal frame' },
  { nr: SYS.rt_sigprocmask, why: 'own signal mask; the kernel reads it with PTRACE_GETSIGMASK' },
  { nr: SYS.sigaltstack, why: 'own signal stack' },
  { nr: SYS.rt_sigsuspend, why: 'waits for its own signals' },
  { nr: SYS.rt_sigpending, why: 'own pending set' },
  { nr: SYS.rt_sigtimedwait, why: 'waits for its own signals' },
  { nr: SYS.pause, why: 'waits for its own signals' },
  { nr: SYS.restart_syscall, why: 'resumes an interrupted native call' },
  { nr: SYS.nanosleep, why: 'sleeps itself; signals interrupt it natively' },
  { nr: SYS.clock_nanosleep, why: 'sleeps itself' },
  { nr: SYS.clock_gettime, why: 'time (vDSO fallback)' },
  { nr: SYS.clock_getres, why: 'time' },
  { nr: SYS.gettimeofday, why: 'time' },
  { nr: SYS.time, why: 'time' },
  { nr: SYS.getrandom, why: 'entropy; reveals nothing of the host' },
  { nr: SYS.getcpu, why: 'which CPU it runs on' },
  { nr: SYS.membarrier, why: 'orders its own threads' },
  { nr: SYS.exit, why: 'thread exit; reported to the kernel by ptrace' },
  { nr: SYS.exit_group, why: 'process exit; reported to the kernel by ptrace' },
];

// BPF
const BPF_LD_W_ABS = 0x20, BPF_JEQ_K = 0x15, BPF_JGE_K = 0x35, BPF_JSET_K = 0x45, BPF_RET_K = 0x06;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000, SECCOMP_RET_TRACE = 0x7ff00000,
  SECCOMP_RET_ALLOW = 0x7fff0000, SECCOMP_RET_ERRNO = 0x00050000;
const OFF_NR = 0, OFF_ARCH = 4;
const argOffset = (i: number): number => 16 + 8 * i; // low 32 bits (little endian)

interface Insn { code: number; jt: number; jf: number; k: number }

/** Builds the filter program as the bytes of a struct sock_filter array. */
export function buildFilter(allowed: readonly AllowEntry[] = ALLOWED): Buffer {
  const prog: Insn[] = [];
  const ins = (code: number, k: number, jt = 0, jf = 0) => prog.push({ code, jt, jf, k });
  // Only the x86-64 entry: int 0x80 (i386) and x32 are ways around a filter that forgets.
  ins(BPF_LD_W_ABS, OFF_ARCH);
  ins(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0);
  ins(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
  ins(BPF_LD_W_ABS, OFF_NR);
  ins(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1);
  // x32 calls and out-of-range numbers such as syscall(-1): ENOSYS, as a kernel without x32
  // says; never run by the host.
  ins(BPF_RET_K, SECCOMP_RET_ERRNO | ENOSYS);
  const plain = allowed.filter((e) => !e.ifArgHasBits);
  const conditional = allowed.filter((e) => e.ifArgHasBits);
  // Unconditional entries: each jumps to the ALLOW at the end on a match.
  // Layout after this block: [conditional checks...] TRACE ALLOW
  const condLen = conditional.length * 3;
  plain.forEach((e, i) => {
    const remaining = plain.length - i - 1;
    ins(BPF_JEQ_K, e.nr, remaining + condLen + 1, 0);
  });
  conditional.forEach((e, i) => {
    const a = e.ifArgHasBits!;
    const remaining = (conditional.length - i - 1) * 3;
    // jeq nr ? next : next entry ; ld arg ; jset mask ? ALLOW : TRACE
    ins(BPF_JEQ_K, e.nr, 0, 2);
    ins(BPF_LD_W_ABS, argOffset(a.argIndex));
    ins(BPF_JSET_K, a.mask, remaining + 1, remaining);
  });
  ins(BPF_RET_K, SECCOMP_RET_TRACE);
  ins(BPF_RET_K, SECCOMP_RET_ALLOW);
  const out = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    out.writeUInt16LE(p.code, i * 8);
    out.writeUInt8(p.jt, i * 8 + 2);
    out.writeUInt8(p.jf, i * 8 + 3);
    out.writeUInt32LE(p.k >>> 0, i * 8 + 4);
  });
  return out;
}
