// Kernel timers on the monotonic clock shared by all threads of the tuml process. The
// kernel thread cannot sleep on them (it sleeps in waitpid), so the earliest deadline is
// handed to the main thread, which rings the doorbell when it passes.
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

interface Timer { at: number; fn: () => void; id: number }

export class TimerList {
  private timers: Timer[] = [];
  private seq = 0;
  private armedAt = Infinity;
  constructor(private readonly arm: (at: number) => void) {}

  add(at: number, fn: () => void): () => void {
    const t: Timer = { at, fn, id: this.seq++ };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > at) i--;
    this.timers.splice(i, 0, t);
    this.rearm();
    return () => {
      const k = this.timers.indexOf(t);
      if (k >= 0) this.timers.splice(k, 1);
    };
  }

  /** Runs every expired timer; re-arms for the next one. */
  runExpired(): void {
    const now = monotonicMs();
    while (this.timers.length && this.timers[0]!.at <= now) {
      const t = this.timers.shift()!;
      t.fn();
    }
    this.armedAt = Infinity;
    this.rearm();
  }

  private rearm(): void {
    const first = this.timers[0];
    if (first && first.at < this.armedAt) {
      this.armedAt = first.at;
      this.arm(first.at);
    }
  }
}
