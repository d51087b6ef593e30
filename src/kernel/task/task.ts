// A task: one guest thread, living in one traced host thread.
import type { Tracee } from '../../host/ptrace/tracee.js';
import type { ThreadGroup } from './thread-group.js';
import type { Kernel } from '../kernel.js';
import { GuestMemory } from '../mm/guest-memory.js';
import { WaitQueue } from '../sched/wait-queue.js';
import type { SigInfoFix } from '../signal/deliver.js';

/** A syscall handler's request to sleep until one of the queues wakes or the deadline passes. */
export class Block {
  constructor(
    readonly queues: readonly WaitQueue[],
    /** Absolute deadline in ms (performance.now() clock), or undefined for none. */
    readonly deadline?: number,
    /** 'sys': restarted after a handler with SA_RESTART; 'nohand': EINTR after a handler;
     *  'never': always EINTR. */
    readonly restart: 'sys' | 'nohand' | 'never' = 'sys',
  ) {}
}

/** Let the host execute the (unchanged) syscall; optionally rewrite its result. */
export class Native {
  constructor(readonly fixup?: (result: number) => number) {}
}

/** The handler has already resumed (or disposed of) the task itself. */
export const HANDLED = Symbol('handled');

export type SyscallReturn = number | bigint | Block | Native | typeof HANDLED;

export interface SyscallState {
  nr: number;
  args: number[];
  /** Raw 64-bit arguments, for the few calls that need all bits. */
  raw: bigint[];
  /** Why the handler is being re-run: first call, a wake-up, or a timeout. */
  wake: 'first' | 'event' | 'timeout';
  /** Handler-private state kept across re-runs (e.g. a computed deadline). */
  scratch?: unknown;
  unpark?: () => void;
}

export class Task {
  readonly mem: GuestMemory;
  syscall: SyscallState | null = null;
  /** Result fix-up to apply at the coming syscall-exit stop (Native with fixup, clone). */
  exitFixup: ((result: number) => number) | null = null;
  /** Parked in a job-control stop (group-stop reported, not resumed). */
  groupStopped = false;
  /** For clone: what to finish once the host reports the new child. */
  pendingClone: { flags: number; ptid: number; ctid: number; exitSignal: number; guestParent: boolean; savedArgs: Buffer } | null = null;
  clearChildTid = 0;
  /** Signals the kernel sent and whose siginfo must be fixed at delivery (sig → info). */
  readonly sigInfoFixups = new Map<number, SigInfoFix>();
  /** Extra state for an exit the kernel is waiting to see (e.g. via SIGKILL). */
  exiting = false;
  /** A woken-up Block deliverable as EINTR etc. decided by the signal code. */
  readonly waitQueue = new WaitQueue();
  name = '';
  /** rlimit-less per-thread things */
  cpuAffinity: bigint | null = null;

  constructor(
    readonly kernel: Kernel,
    public tid: number,
    readonly tracee: Tracee,
    public group: ThreadGroup,
  ) {
    this.mem = new GuestMemory(tracee);
  }

  get hostTid(): number {
    return this.tracee.tid;
  }
  get pid(): number {
    return this.group.tgid;
  }
  get cred() {
    return this.group.cred;
  }
  get fds() {
    return this.group.fds;
  }
  get fs() {
    return this.group.fs;
  }
  get isLeader(): boolean {
    return this.group.leader === this;
  }
}
