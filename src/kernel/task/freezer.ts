// Freezing the whole machine (mconsole `stop` / `go`, like UML's stop and the cgroup freezer):
// every guest thread is sent PTRACE_INTERRUPT and, while frozen, the kernel keeps every stop
// it sees instead of serving it, so no guest code runs and no host CPU is used. A thread that
// was already stopped (parked in a syscall, job-control stopped) keeps the interrupt pending
// and stops again as soon as anything resumes it. `go` serves the kept stops in order.
import type { Kernel } from '../kernel.js';
import type { StopEvent } from '../../host/ptrace/platform.js';
import { TraceeGone } from '../../host/ptrace/tracee.js';

const freezers = new WeakMap<Kernel, Freezer>();

export class Freezer {
  private held: StopEvent[] | null = null;

  private constructor(private readonly k: Kernel) {}

  static of(k: Kernel): Freezer {
    let f = freezers.get(k);
    if (!f) freezers.set(k, (f = new Freezer(k)));
    return f;
  }

  get frozen(): boolean {
    return this.held !== null;
  }

  /** Stops every guest thread; returns false when the machine was already frozen. */
  freeze(): boolean {
    if (this.held) return false;
    const held: StopEvent[] = [];
    this.held = held;
    this.k.holdStops = (ev) => { held.push(ev); };
    for (const t of this.k.byHostTid.values()) {
      try {
        t.tracee.interrupt();
      } catch (e) {
        if (!(e instanceof TraceeGone)) throw e;
      }
    }
    return true;
  }

  /** Lets the machine run again; returns false when it was not frozen. */
  thaw(): boolean {
    const held = this.held;
    if (!held) return false;
    this.held = null;
    this.k.holdStops = null;
    // The interrupt-stops among these resume through lifecycle.onEventStop as usual.
    for (const ev of held) this.k.replayStop(ev);
    return true;
  }

  /** Stops kept so far (for tests and sysrq output). */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }
}
