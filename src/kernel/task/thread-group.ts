// A process: a thread group with its ids, family, credentials and the resources its
// threads share (files, fs context, signal handlers, limits).
import type { Task } from './task.js';
import type { Cred } from './cred.js';
import type { FdTable } from '../fs/fd-table.js';
import type { FsContext } from '../fs/fs-context.js';
import type { SigActions } from '../signal/sigactions.js';
import type { Path } from '../fs/path.js';
import { WaitQueue } from '../sched/wait-queue.js';
import { Rlimits } from './rlimits.js';

export type JobState = 'running' | 'stopped';

export class ThreadGroup {
  readonly threads = new Set<Task>();
  readonly children = new Set<ThreadGroup>();
  /** Woken when a child exits, stops or continues (wait4 and friends). */
  readonly childEvents = new WaitQueue();
  leader!: Task;
  parent: ThreadGroup | null;
  pgid: number;
  sid: number;
  exitSignal: number;
  /** Set once the last thread is gone: the wait status (as wait4 reports it). */
  zombieStatus: number | null = null;
  /** A status of the leader's exit, kept until the whole group is gone. */
  leaderStatus: number | null = null;
  jobState: JobState = 'running';
  /** Stop/continue not yet reported to the parent's wait (WUNTRACED / WCONTINUED). */
  pendingStopReport: number | null = null;
  pendingContinueReport = false;
  exe: Path | null = null;
  exePath = '';
  argv: Buffer[] = [];
  envp: Buffer[] = [];
  comm = '';
  readonly startTime = Date.now();
  rlimits: Rlimits;
  /** Host pid of the thread-group leader (the host process). */
  hostPid: number;
  personality = 0;
  /** CPU time (µs) of reaped children (RUSAGE_CHILDREN) and of this group's dead threads. */
  childTimes = { utime: 0, stime: 0 };
  deadThreadTimes = { utime: 0, stime: 0 };
  /** Host (dev, ino) of files mapped by the kernel into this process → guest path, for /proc/pid/maps. */
  readonly mappedFiles = new Map<string, string>();
  isSubreaper = false;
  noNewPrivs = false;
  dumpable = 1;
  /** Set by exit_group so the final status is right even if threads die by signal later. */
  groupExitCode: number | null = null;

  constructor(
    readonly tgid: number,
    parent: ThreadGroup | null,
    public cred: Cred,
    public fds: FdTable,
    public fs: FsContext,
    public sigactions: SigActions,
    hostPid: number,
    rlimits?: Rlimits,
  ) {
    this.parent = parent;
    this.pgid = parent?.pgid ?? tgid;
    this.sid = parent?.sid ?? tgid;
    this.exitSignal = 17;
    this.hostPid = hostPid;
    this.rlimits = rlimits ?? new Rlimits();
  }

  get alive(): boolean {
    return this.zombieStatus === null;
  }
}
