// The signal handler table (struct sighand_struct), shared by CLONE_SIGHAND. The host
// kernel keeps the real dispositions (rt_sigaction runs natively after the kernel records
// it); this copy lets the kernel decide whether a signal interrupts an emulated wait.
import { NSIG, SIG_DFL, SIG_IGN, SA_RESTART, SA_NOCLDWAIT, SA_NOCLDSTOP, defaultAction, SIGCHLD } from '../abi/signals.js';

export interface SigAction { handler: bigint; flags: number; mask: bigint }

export class SigActions {
  private readonly table: SigAction[] = [];
  constructor() {
    for (let i = 0; i <= NSIG; i++) this.table.push({ handler: SIG_DFL, flags: 0, mask: 0n });
  }
  get(sig: number): SigAction {
    return this.table[sig]!;
  }
  set(sig: number, a: SigAction): void {
    this.table[sig] = a;
  }
  clone(): SigActions {
    const s = new SigActions();
    for (let i = 0; i <= NSIG; i++) s.table[i] = { ...this.table[i]! };
    return s;
  }
  /** execve: handlers go back to SIG_DFL, ignored stays ignored. */
  resetOnExec(): void {
    for (const a of this.table) if (a.handler !== SIG_IGN) { a.handler = SIG_DFL; a.flags = 0; a.mask = 0n; }
  }
  isIgnored(sig: number): boolean {
    const a = this.get(sig);
    return a.handler === SIG_IGN || (a.handler === SIG_DFL && defaultAction(sig) === 'ign');
  }
  hasHandler(sig: number): boolean {
    const h = this.get(sig).handler;
    return h !== SIG_DFL && h !== SIG_IGN;
  }
  restarts(sig: number): boolean {
    return (this.get(sig).flags & SA_RESTART) !== 0;
  }
  /** Children are reaped without becoming zombies (SIGCHLD ignored or SA_NOCLDWAIT). */
  noChildZombies(): boolean {
    const a = this.get(SIGCHLD);
    return a.handler === SIG_IGN || (a.flags & SA_NOCLDWAIT) !== 0;
  }
  noChildStop(): boolean {
    return (this.get(SIGCHLD).flags & SA_NOCLDSTOP) !== 0;
  }
}
