// Resource limits (getrlimit/setrlimit/prlimit64); Infinity is RLIM_INFINITY.
export const RLIMIT_CPU = 0, RLIMIT_FSIZE = 1, RLIMIT_DATA = 2, RLIMIT_STACK = 3, RLIMIT_CORE = 4,
  RLIMIT_RSS = 5, RLIMIT_NPROC = 6, RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8, RLIMIT_AS = 9,
  RLIMIT_LOCKS = 10, RLIMIT_SIGPENDING = 11, RLIMIT_MSGQUEUE = 12, RLIMIT_NICE = 13,
  RLIMIT_RTPRIO = 14, RLIMIT_RTTIME = 15, RLIM_NLIMITS = 16;

export interface Rlimit { cur: number; max: number }

export class Rlimits {
  readonly limits: Rlimit[];
  constructor(from?: Rlimits) {
    if (from) {
      this.limits = from.limits.map((l) => ({ ...l }));
      return;
    }
    this.limits = [];
    for (let i = 0; i < RLIM_NLIMITS; i++) this.limits.push({ cur: Infinity, max: Infinity });
    this.limits[RLIMIT_STACK] = { cur: 8 * 1024 * 1024, max: Infinity };
    this.limits[RLIMIT_CORE] = { cur: 0, max: Infinity };
    this.limits[RLIMIT_NOFILE] = { cur: 1024, max: 1048576 };
    this.limits[RLIMIT_NPROC] = { cur: 63450, max: 63450 };
    this.limits[RLIMIT_MEMLOCK] = { cur: 8 * 1024 * 1024, max: 8 * 1024 * 1024 };
    this.limits[RLIMIT_SIGPENDING] = { cur: 63450, max: 63450 };
    this.limits[RLIMIT_MSGQUEUE] = { cur: 819200, max: 819200 };
  }
  get(r: number): Rlimit {
    return this.limits[r]!;
  }
}
