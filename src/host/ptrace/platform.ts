// The ptrace platform: spawns stub processes, seizes them, installs the seccomp filter, and
// turns waitpid statuses into typed stop events for the kernel. It also injects host
// syscalls into a stopped tracee (mmap of a backing fd, execve of a fresh stub, …).
// Every call here must come from the one thread that seized the tracees.
import * as fs from 'node:fs';
import * as libc from '../libc.js';
import {
  PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK, PTRACE_EVENT_SECCOMP,
  PTRACE_EVENT_STOP, PTRACE_EVENT_VFORK, PTRACE_EVENT_VFORK_DONE, PTRACE_EVENT_EXIT,
  PTRACE_O_EXITKILL, PTRACE_O_TRACECLONE, PTRACE_O_TRACEEXEC, PTRACE_O_TRACEFORK,
  PTRACE_O_TRACESECCOMP, PTRACE_O_TRACESYSGOOD, PTRACE_O_TRACEVFORK, PTRACE_SEIZE, REG, __WALL,
} from './constants.js';
import { HostError, Tracee, TraceeGone } from './tracee.js';
import { buildStubElf, STUB_GADGET_DONE, STUB_SYSCALL_GADGET } from '../stub-elf.js';
import { buildFilter } from '../seccomp.js';

export type StopEvent =
  | { kind: 'seccomp'; tid: number }
  | { kind: 'syscall-stop'; tid: number }
  | { kind: 'signal'; tid: number; sig: number }
  | { kind: 'group-stop'; tid: number; sig: number }
  | { kind: 'event-stop'; tid: number }
  | { kind: 'new-child'; tid: number; child: number; how: 'fork' | 'vfork' | 'clone' }
  | { kind: 'exec'; tid: number; formerTid: number }
  | { kind: 'vfork-done'; tid: number }
  | { kind: 'exiting'; tid: number }
  | { kind: 'exited'; tid: number; code: number; cpu?: CpuTimes }
  | { kind: 'killed'; tid: number; sig: number; core: boolean; cpu?: CpuTimes };

/** CPU time a dead task used, in microseconds (from wait4's rusage). */
export interface CpuTimes { utime: number; stime: number }

const SIGTRAP = 5, SIGKILL = 9;
const POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
const MFD_CLOEXEC = 1;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
const SYS_prctl = 157, SYS_seccomp = 317, SYS_tkill = 200, SYS_execve = 59;

export function decodeStatus(tid: number, status: number): StopEvent {
  const low = status & 0x7f;
  if (low === 0) return { kind: 'exited', tid, code: (status >> 8) & 0xff };
  if ((status & 0xff) !== 0x7f) return { kind: 'killed', tid, sig: low, core: (status & 0x80) !== 0 };
  const sig = (status >> 8) & 0xff;
  const event = status >>> 16;
  switch (event) {
    case PTRACE_EVENT_SECCOMP: return { kind: 'seccomp', tid };
    case PTRACE_EVENT_FORK: case PTRACE_EVENT_VFORK: case PTRACE_EVENT_CLONE:
      return { kind: 'new-child', tid, child: -1, how: event === PTRACE_EVENT_FORK ? 'fork' : event === PTRACE_EVENT_VFORK ? 'vfork' : 'clone' };
    case PTRACE_EVENT_EXEC: return { kind: 'exec', tid, formerTid: -1 };
    case PTRACE_EVENT_VFORK_DONE: return { kind: 'vfork-done', tid };
    case PTRACE_EVENT_EXIT: return { kind: 'exiting', tid };
    case PTRACE_EVENT_STOP:
      return sig === SIGTRAP ? { kind: 'event-stop', tid } : { kind: 'group-stop', tid, sig };
    default:
      if (sig === (SIGTRAP | 0x80)) return { kind: 'syscall-stop', tid };
      return { kind: 'signal', tid, sig };
  }
}

export interface InjectResult { value: number; }

export class PtracePlatform {
  readonly stubFd: number;
  readonly stubPath: string;
  private readonly filter: Buffer;
  /** wait4's status (offset 0) and rusage (offset 16), passed by address. */
  private readonly waitBuf = Buffer.alloc(160);
  private readonly statusAddr = Number(libc.addressOf(this.waitBuf));
  private readonly rusage = this.waitBuf.subarray(16);
  private readonly rusageAddr = this.statusAddr + 16;
  /** Events met while injecting into one tracee that belong to the main loop. */
  private readonly deferred: StopEvent[] = [];
  /** Signals that arrived at a tracee during an injection; re-raised afterwards. */
  private readonly caughtSignals: { tid: number; sig: number }[] = [];

  constructor() {
    this.stubFd = libc.memfdCreate('tuml-stub', MFD_CLOEXEC);
    if (this.stubFd < 0) throw new HostError('memfd_create', libc.errno());
    fs.writeSync(this.stubFd, buildStubElf());
    this.stubPath = `/proc/${process.pid}/fd/${this.stubFd}`;
    this.filter = buildFilter();
  }

  /** Starts a stub process in a new host session, seized and stopped. */
  spawnStub(name: string): Tracee {
    const attr = Buffer.alloc(512);
    libc.posixSpawnattrInit(attr);
    libc.posixSpawnattrSetflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    libc.posixSpawnattrSetsigmask(attr, Buffer.alloc(128));
    libc.posixSpawnattrSetsigdefault(attr, Buffer.alloc(128, 0xff));
    const pid = [0];
    const r = libc.posixSpawn(pid, this.stubPath, null, attr, [name, null], [null]);
    if (r !== 0) throw new HostError('posix_spawn of the stub', r);
    const t = new Tracee(pid[0]!);
    const opts = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP |
      PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;
    if (libc.ptraceNum(PTRACE_SEIZE, t.tid, 0, opts) < 0) throw new HostError('PTRACE_SEIZE', libc.errno());
    t.interrupt();
    for (;;) {
      const ev = this.waitFor(t.tid);
      if (ev.kind === 'event-stop' || ev.kind === 'group-stop') return t;
      // posix_spawn returns while the child is still inside execve: its exec event comes first,
      // and that trap consumes the pending PTRACE_INTERRUPT, so interrupt it again.
      if (ev.kind === 'exec') { t.cont(); t.interrupt(); continue; }
      throw new Error(`stub ${t.tid}: unexpected first stop ${ev.kind}`);
    }
  }

  /** no_new_privs + our filter, inherited by every descendant and across execve. */
  installSeccomp(t: Tracee): void {
    this.inject(t, SYS_prctl, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0]);
    const rsp = t.getRegNum(REG.rsp);
    const progAddr = Math.floor((rsp - 4096 - this.filter.length) / 16) * 16;
    const filterAddr = progAddr + 16;
    const prog = Buffer.alloc(16);
    prog.writeUInt16LE(this.filter.length / 8, 0);
    prog.writeBigUInt64LE(BigInt(filterAddr), 8);
    t.writeFrom(progAddr, prog);
    t.writeFrom(filterAddr, this.filter);
    const r = this.inject(t, SYS_seccomp, [SECCOMP_SET_MODE_FILTER, 0, progAddr]);
    if (r !== 0) throw new HostError('seccomp(SECCOMP_SET_MODE_FILTER)', -r);
  }

  /** Blocks until any tracee stops (or the doorbell rings). */
  wait(): StopEvent {
    const d = this.deferred.shift();
    if (d) return d;
    for (;;) {
      const pid = libc.wait4Ptr(-1, this.statusAddr, __WALL, this.rusageAddr);
      if (pid < 0) {
        const e = libc.errno();
        if (e === 4) continue; // EINTR
        throw new HostError('wait4', e);
      }
      const ev = this.complete(decodeStatus(pid, this.waitBuf.readInt32LE(0)));
      if (ev.kind === 'exited' || ev.kind === 'killed') {
        const r = this.rusage;
        ev.cpu = {
          utime: Number(r.readBigInt64LE(0)) * 1e6 + Number(r.readBigInt64LE(8)),
          stime: Number(r.readBigInt64LE(16)) * 1e6 + Number(r.readBigInt64LE(24)),
        };
      }
      return ev;
    }
  }

  /** Waits for a stop of one of two tids (a multi-threaded exec); others are deferred. */
  private waitForEither(a: number, b: number): StopEvent {
    for (;;) {
      const pid = libc.wait4Ptr(-1, this.statusAddr, __WALL, 0);
      if (pid < 0) {
        if (libc.errno() === 4) continue;
        throw new TraceeGone(a);
      }
      const ev = this.complete(decodeStatus(pid, this.waitBuf.readInt32LE(0)));
      if (ev.tid === a || ev.tid === b) return ev;
      this.deferred.push(ev);
    }
  }

  private waitFor(tid: number): StopEvent {
    for (;;) {
      const pid = libc.wait4Ptr(tid, this.statusAddr, __WALL, 0);
      if (pid < 0) {
        const e = libc.errno();
        if (e === 4) continue;
        throw new TraceeGone(tid);
      }
      return this.complete(decodeStatus(pid, this.waitBuf.readInt32LE(0)));
    }
  }

  private complete(ev: StopEvent): StopEvent {
    if (ev.kind === 'new-child' || ev.kind === 'exec') {
      const t = new Tracee(ev.tid);
      const msg = t.eventMsg();
      if (ev.kind === 'new-child') ev.child = msg; else ev.formerTid = msg;
    }
    return ev;
  }

  /**
   * Runs one host syscall in a stopped tracee through the stub's `syscall; int3` gadget and
   * returns its raw result (-errno on failure). Registers are restored afterwards.
   */
  inject(t: Tracee, nr: number, args: readonly number[]): number {
    const saved = t.saveRegs();
    this.setupCall(t, nr, args);
    t.cont();
    for (;;) {
      const ev = this.waitFor(t.tid);
      // Our own call passing the filter, or a stop the injection does not care about.
      if (ev.kind === 'seccomp' || ev.kind === 'event-stop' || ev.kind === 'group-stop') {
        t.cont();
        continue;
      }
      if (this.atGadgetTrap(t, ev)) {
        const value = Number(BigInt.asIntN(64, t.getReg(REG.rax)));
        t.restoreRegs(saved);
        return value;
      }
      this.strayStop(t, ev);
    }
  }

  private atGadgetTrap(t: Tracee, ev: StopEvent): boolean {
    return ev.kind === 'signal' && ev.sig === SIGTRAP && t.getRegNum(REG.rip) === STUB_GADGET_DONE;
  }

  /**
   * A stop that arrives while the kernel drives a tracee through an injection: a signal is
   * kept for later (SIGKILL goes through), a death ends the injection, anything else is left
   * for the main loop.
   */
  private strayStop(t: Tracee, ev: StopEvent): void {
    switch (ev.kind) {
      case 'signal':
        if (ev.sig === SIGKILL) { t.cont(SIGKILL); return; }
        this.caughtSignals.push({ tid: t.tid, sig: ev.sig });
        t.cont();
        return;
      case 'exited': case 'killed':
        this.deferred.push(ev);
        throw new TraceeGone(t.tid);
      default:
        this.deferred.push(ev);
        t.cont();
    }
  }

  /**
   * Replaces the tracee's image with a fresh stub (host execve). Afterwards the tracee is
   * stopped at PTRACE_EVENT_EXEC with an empty address space but for the stub, its stack
   * and the vDSO. Returns the former tid if a non-leader thread exec'd, else the same tid.
   */
  execStub(t: Tracee, scratch: number, name: string, leaderTid = t.tid): number {
    const path = Buffer.from(this.stubPath + '\0');
    const arg0 = Buffer.from(name + '\0');
    const pathAddr = scratch - 512;
    const argAddr = pathAddr + path.length;
    const argvAddr = Math.floor((argAddr + arg0.length + 15) / 16) * 16;
    const argv = Buffer.alloc(16);
    argv.writeBigUInt64LE(BigInt(argAddr), 0);
    t.writeFrom(pathAddr, path);
    t.writeFrom(argAddr, arg0);
    t.writeFrom(argvAddr, argv);
    this.setupCall(t, SYS_execve, [pathAddr, argvAddr, argvAddr + 8]);
    t.cont();
    // A non-leader thread that execs takes over the leader's tid (its own vanishes), so the
    // exec event is awaited from either; other threads' deaths are left for the main loop.
    const formerTid = t.tid;
    for (;;) {
      const ev = leaderTid === formerTid ? this.waitFor(t.tid) : this.waitForEither(formerTid, leaderTid);
      if (ev.tid !== formerTid && !(ev.kind === 'exec' && ev.tid === leaderTid)) {
        this.deferred.push(ev);
        continue;
      }
      switch (ev.kind) {
        case 'seccomp': t.cont(); continue;
        case 'exec': {
          t.tid = ev.tid;
          // Still inside execve: step to its syscall-exit stop, so the return value it is
          // about to store cannot overwrite registers the kernel sets next.
          t.resumeToSyscallStop();
          for (;;) {
            const e2 = this.waitFor(t.tid);
            if (e2.kind === 'syscall-stop') break;
            if (e2.kind === 'exited' || e2.kind === 'killed') { this.deferred.push(e2); throw new TraceeGone(t.tid); }
            if (e2.kind === 'signal' && e2.sig !== SIGKILL) this.caughtSignals.push({ tid: t.tid, sig: e2.sig });
            t.resumeToSyscallStop();
          }
          t.invalidateRegs();
          return ev.formerTid;
        }
        default:
          if (this.atGadgetTrap(t, ev)) throw new HostError('execve of the stub', -Number(BigInt.asIntN(64, t.getReg(REG.rax))));
          this.strayStop(t, ev);
      }
    }
  }

  private setupCall(t: Tracee, nr: number, args: readonly number[]): void {
    t.setReg(REG.rip, STUB_SYSCALL_GADGET);
    t.setReg(REG.rax, nr);
    t.setReg(REG.orig_rax, -1n); // no syscall restart logic on the way back
    const slots = [REG.rdi, REG.rsi, REG.rdx, REG.r10, REG.r8, REG.r9];
    for (let i = 0; i < 6; i++) t.setReg(slots[i]!, BigInt.asUintN(64, BigInt(args[i] ?? 0)));
  }

  /** Re-raises, once the kernel is done with a tracee, signals caught while injecting. */
  reraiseCaughtSignals(): void {
    while (this.caughtSignals.length) {
      const { tid, sig } = this.caughtSignals.shift()!;
      libc.syscall3(SYS_tkill, tid, sig, 0);
    }
  }

  kill(tid: number, sig: number): void {
    libc.syscall3(SYS_tkill, tid, sig, 0);
  }
}
