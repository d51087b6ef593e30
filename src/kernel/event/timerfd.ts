// timerfd(2): a timer whose expirations are read as a count. Deadlines are kept on the
// kernel's monotonic timer list; CLOCK_REALTIME absolute times are converted when set.
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL } from '../abi/errno.js';
import { File, POLLIN, POLLRDNORM } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import type { TimerList } from '../sched/timers.js';
import { monotonicMs } from '../sched/timers.js';
import { CLOCK_REALTIME, CLOCK_REALTIME_ALARM, FIONREAD } from '../abi/event.js';
import { notify } from './notify.js';
import { anonStat } from './eventfd.js';

/** itimerspec in nanoseconds (bigint keeps 64-bit seconds exact). */
export interface ITimerSpec { intervalNs: bigint; valueNs: bigint }

export function realtimeNowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}
export function monotonicNowNs(): bigint {
  return process.hrtime.bigint();
}

export class TimerFd extends File {
  readonly anonName = 'anon_inode:[timerfd]';
  /** Expirations not yet read. */
  ticks = 0n;
  /** Next expiry on the monotonic clock (ns), or null when disarmed. */
  private nextNs: bigint | null = null;
  private intervalNs = 0n;
  private cancel: (() => void) | null = null;

  constructor(readonly clockId: number, private readonly timers: TimerList, flags: number) {
    super(flags);
  }

  stat(): Stat {
    return anonStat();
  }

  private get isRealtime(): boolean {
    return this.clockId === CLOCK_REALTIME || this.clockId === CLOCK_REALTIME_ALARM;
  }

  /** timerfd_settime: returns the old setting. */
  settime(spec: ITimerSpec, absolute: boolean): ITimerSpec {
    const old = this.gettime();
    this.disarm();
    this.ticks = 0n;
    if (spec.valueNs === 0n) return old;
    const now = monotonicNowNs();
    let at: bigint;
    if (absolute) {
      const clockNow = this.isRealtime ? realtimeNowNs() : now;
      at = now + (spec.valueNs - clockNow);
    } else at = now + spec.valueNs;
    this.intervalNs = spec.intervalNs;
    this.arm(at);
    return old;
  }

  gettime(): ITimerSpec {
    if (this.nextNs === null) return { intervalNs: this.intervalNs, valueNs: 0n };
    let left = this.nextNs - monotonicNowNs();
    if (left <= 0n) left = 1n; // expired but not yet run: Linux reports a tiny remainder
    return { intervalNs: this.intervalNs, valueNs: left };
  }

  private arm(atNs: bigint): void {
    this.nextNs = atNs;
    this.cancel = this.timers.add(Number(atNs) / 1e6, () => this.expire());
  }

  private disarm(): void {
    this.cancel?.();
    this.cancel = null;
    this.nextNs = null;
    this.intervalNs = 0n;
  }

  /** Runs from the timer list: counts every period that passed, re-arms, wakes readers. */
  expire(): void {
    if (this.nextNs === null) return;
    this.cancel = null;
    const now = monotonicNowNs();
    if (this.intervalNs > 0n) {
      const late = now > this.nextNs ? now - this.nextNs : 0n;
      const n = 1n + late / this.intervalNs;
      this.ticks += n;
      const next = this.nextNs + n * this.intervalNs;
      this.arm(next);
    } else {
      this.ticks += 1n;
      this.nextNs = null;
    }
    notify(this, POLLIN | POLLRDNORM);
  }

  override read(_t: Task, len: number): Buffer {
    if (len < 8) throw new Errno(EINVAL);
    this.catchUp();
    if (this.ticks === 0n) throw new Errno(EAGAIN);
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(this.ticks);
    this.ticks = 0n;
    return out;
  }

  override poll(): number {
    this.catchUp();
    return this.ticks > 0n ? POLLIN | POLLRDNORM : 0;
  }

  /** Periods that are due count now, even if the doorbell for them has not rung yet. */
  private catchUp(): void {
    if (this.nextNs !== null && this.nextNs <= monotonicNowNs()) {
      this.cancel?.();
      this.expire();
    }
  }

  override ioctl(t: Task, req: number, arg: number): number {
    if (req === FIONREAD) {
      t.mem.writeI32(arg, this.ticks > 0n ? 8 : 0);
      return 0;
    }
    return super.ioctl(t, req, arg);
  }

  protected override release(): void {
    this.disarm();
  }
}

export { monotonicMs };
