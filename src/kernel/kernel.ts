// The kernel: owns every task and runs the one loop that serves them. It waits for a
// tracee to stop, handles that stop, resumes it, and never sleeps any other way. The main
// thread reaches it through messages and the doorbell.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import * as fs from 'node:fs';
import { PtracePlatform, type StopEvent } from '../host/ptrace/platform.js';
import { Tracee, TraceeGone } from '../host/ptrace/tracee.js';
import { REG } from '../host/ptrace/constants.js';
import { Errno } from './errno.js';
import { EINTR, ENOSYS, EIO } from './abi/errno.js';
import { SYSCALL_NAMES } from './abi/syscalls.js';
import { SIGKILL, SIGCONT, defaultAction } from './abi/signals.js';
import { KernelLog } from './log.js';
import { Task, Block, Native, HANDLED, type SyscallReturn } from './task/task.js';
import type { ThreadGroup } from './task/thread-group.js';
import { PidAllocator } from './task/pid-allocator.js';
import { TimerList } from './sched/timers.js';
import type { MountTable } from './fs/mount-table.js';
import type { ToKernel, FromKernel } from './interrupts.js';
import { syscallTable } from './syscalls/table.js';
import * as lifecycle from './task/lifecycle.js';
import * as signals from './signal/deliver.js';
import { maskedWait, setMaskedWait, endsMaskedWait, suspendNatively } from './signal/masked-wait.js';
import type { Console } from './tty/console.js';

export interface KernelHooks {
  post(msg: FromKernel): void;
  port: MessagePort | null;
}

export class Kernel {
  readonly platform = new PtracePlatform();
  readonly log = new KernelLog();
  /** Live tasks by host tid, and by virtual tid. */
  readonly byHostTid = new Map<number, Task>();
  readonly byTid = new Map<number, Task>();
  /** Every thread group not yet reaped, by tgid. */
  readonly groups = new Map<number, ThreadGroup>();
  readonly pids = new PidAllocator();
  readonly timers: TimerList;
  mounts!: MountTable;
  init: ThreadGroup | null = null;
  hostname = 'tuml';
  domainname = '(none)';
  readonly bootMs = Date.now();
  readonly bootMono = Number(process.hrtime.bigint()) / 1e6;
  console: Console | null = null;
  /** Kernel command line, as /proc/cmdline shows it. */
  cmdline = '';
  memBytes = 256 * 1024 * 1024;
  private readonly doorbell: Tracee;
  /** Stops of host tids the kernel has not met yet (a new child's first stop can come first). */
  private readonly earlyStops = new Map<number, StopEvent[]>();
  private readonly runQueue: (() => void)[] = [];
  private halted: number | null = null;
  private readonly messageHandlers = new Map<string, (m: ToKernel) => void>();
  readonly syscallCounts = new Map<number, number>();
  /** Work that must finish before the machine stops (file systems write back and unmount). */
  readonly haltHooks: (() => void)[] = [];
  /** While set (mconsole `stop`), stops of guest tasks go here instead of being served. */
  holdStops: ((ev: StopEvent) => void) | null = null;

  constructor(private readonly hooks: KernelHooks) {
    this.timers = new TimerList((at) => hooks.post({ type: 'arm-timer', at }));
    this.doorbell = this.platform.spawnStub('tuml-doorbell');
    this.doorbell.cont();
    hooks.post({ type: 'doorbell', pid: this.doorbell.tid });
  }

  onMessage(type: ToKernel['type'], fn: (m: ToKernel) => void): void {
    this.messageHandlers.set(type, fn);
  }
  post(msg: FromKernel): void {
    this.hooks.post(msg);
  }

  /** Defers work to the loop, so wake-ups never recurse into each other. */
  schedule(fn: () => void): void {
    this.runQueue.push(fn);
  }

  /** The loop. Returns the machine's exit status once init is gone. */
  run(): number {
    while (this.halted === null) {
      this.drainRunQueue();
      if (this.halted !== null) break;
      if (this.byHostTid.size === 0) {
        // Nothing left to run (init vanished without an exit report): end instead of
        // waiting on the doorbell forever.
        this.log.warn('tuml: no tasks left, halting');
        this.halt(1);
        break;
      }
      const ev = this.platform.wait();
      try {
        this.dispatch(ev);
      } catch (e) {
        if (e instanceof TraceeGone) continue;
        this.log.warn(`tuml: kernel bug while handling ${ev.kind} of host tid ${ev.tid}: ${(e as Error).stack ?? e}`);
      }
    }
    return this.halted ?? 1;
  }

  private drainRunQueue(): void {
    while (this.runQueue.length) {
      const fn = this.runQueue.shift()!;
      try {
        fn();
      } catch (e) {
        if (!(e instanceof TraceeGone)) this.log.warn(`tuml: kernel bug in deferred work: ${(e as Error).stack ?? e}`);
      }
    }
  }

  /** Ctrl-Alt-Del: reboot at once (true) or send SIGINT to init (false), as reboot(2) sets. */
  cadEnabled = false;
  /** What reboot(2) and mconsole's reboot do; `noreboot` or a driver may replace it. */
  onReboot: () => void = () => this.halt(0);

  /** halt/poweroff end the machine with status 0; reboot goes through onReboot. */
  shutdown(how: 'halt' | 'reboot'): void {
    if (how === 'reboot') this.onReboot();
    else this.halt(0);
  }

  halt(code: number): void {
    if (this.halted !== null) return;
    this.halted = code;
    for (const t of this.byHostTid.values()) this.platform.kill(t.hostTid, SIGKILL);
    this.platform.kill(this.doorbell.tid, SIGKILL);
    for (const h of this.haltHooks) {
      try { h(); } catch (e) { this.log.warn(`tuml: error while halting: ${(e as Error).message}`); }
    }
    this.post({ type: 'halt', code });
  }
  get isHalted(): boolean {
    return this.halted !== null;
  }

  private drainMessages(): void {
    const port = this.hooks.port;
    if (!port) return;
    for (;;) {
      const m = receiveMessageOnPort(port);
      if (!m) break;
      const msg = m.message as ToKernel;
      if (msg.type === 'timer') continue;
      this.messageHandlers.get(msg.type)?.(msg);
    }
    this.timers.runExpired();
  }

  private dispatch(ev: StopEvent): void {
    if (ev.tid === this.doorbell.tid) {
      if (ev.kind === 'exited' || ev.kind === 'killed') return;
      this.doorbell.cont(0);
      this.drainMessages();
      return;
    }
    if (this.holdStops) { this.holdStops(ev); return; }
    const task = this.byHostTid.get(ev.tid);
    if (!task) {
      if (ev.kind !== 'exited' && ev.kind !== 'killed') {
        const l = this.earlyStops.get(ev.tid) ?? [];
        l.push(ev);
        this.earlyStops.set(ev.tid, l);
      }
      return;
    }
    switch (ev.kind) {
      case 'seccomp': return this.onSyscall(task);
      case 'syscall-stop': return this.onSyscallExit(task);
      case 'new-child': return lifecycle.onNewChild(this, task, ev.child);
      case 'event-stop': return lifecycle.onEventStop(this, task);
      case 'group-stop': return signals.onGroupStop(this, task, ev.sig);
      case 'signal': return signals.onSignalDelivery(this, task, ev.sig);
      case 'exec': case 'vfork-done': case 'exiting': task.tracee.cont(); return;
      case 'exited': return lifecycle.onThreadExit(this, task, ev.code << 8, ev.cpu);
      case 'killed': return lifecycle.onThreadExit(this, task, ev.sig | (ev.core ? 0x80 : 0), ev.cpu);
    }
  }

  /** Serves, from the loop, a stop that holdStops kept. */
  replayStop(ev: StopEvent): void {
    this.schedule(() => this.dispatch(ev));
  }

  /** A newly registered host tid: replay stops that arrived before the kernel knew it. */
  replayEarlyStops(hostTid: number): void {
    const l = this.earlyStops.get(hostTid);
    if (!l) return;
    this.earlyStops.delete(hostTid);
    for (const ev of l) this.schedule(() => this.dispatch(ev));
  }


  // ---- system calls ----

  private onSyscall(task: Task): void {
    const tr = task.tracee;
    tr.invalidateRegs();
    tr.loadRegs();
    const r = tr.regs;
    const nr = r.readInt32LE(REG.orig_rax * 8);
    const arg = (slot: number) => r.readInt32LE(slot * 8 + 4) * 0x100000000 + r.readUInt32LE(slot * 8);
    task.syscall = {
      nr,
      args: [arg(REG.rdi), arg(REG.rsi), arg(REG.rdx), arg(REG.r10), arg(REG.r8), arg(REG.r9)],
      raw: [],
      wake: 'first',
    };
    this.syscallCounts.set(nr, (this.syscallCounts.get(nr) ?? 0) + 1);
    this.runHandler(task);
  }

  runHandler(task: Task): void {
    const s = task.syscall;
    if (!s) return;
    const h = syscallTable[s.nr];
    let r: SyscallReturn;
    try {
      if (h) r = h(task, s.args, s);
      else {
        this.log.noticeOnce(`nosys:${s.nr}`, `tuml: unimplemented syscall ${SYSCALL_NAMES[s.nr] ?? '#' + s.nr} (${s.nr}) -> ENOSYS`);
        r = -ENOSYS;
      }
    } catch (e) {
      if (e instanceof Errno) r = -e.errno;
      else if (e instanceof TraceeGone) return;
      else {
        this.log.warn(`tuml: kernel bug in ${SYSCALL_NAMES[s.nr]}: ${(e as Error).stack ?? e}`);
        r = -EIO;
      }
    }
    if (r instanceof Block) return this.park(task, r);
    if (r instanceof Native) {
      if (STRACE) straceOut(`[${task.tid}] ${SYSCALL_NAMES[s.nr]}(${s.args.slice(0, 4).map((x) => x.toString(16)).join(', ')}) = <native>\n`);
      task.syscall = null;
      if (r.fixup) {
        task.exitFixup = r.fixup;
        task.tracee.resumeToSyscallStop();
      } else task.tracee.cont();
      return;
    }
    if (r === HANDLED) return;
    this.complete(task, r);
  }

  /** Finishes the task's syscall with a result and resumes it. */
  complete(task: Task, result: number | bigint): void {
    if (STRACE && task.syscall) straceOut(`[${task.tid}] ${SYSCALL_NAMES[task.syscall.nr]}(${task.syscall.args.slice(0, 4).map((x) => x.toString(16)).join(', ')}) = ${result}\n`);
    task.syscall = null;
    const tr = task.tracee;
    tr.setReg(REG.orig_rax, -1);
    tr.setReg(REG.rax, result);
    tr.cont();
    this.platform.reraiseCaughtSignals();
  }

  private onSyscallExit(task: Task): void {
    const fix = task.exitFixup;
    task.exitFixup = null;
    if (fix) {
      const raw = Number(BigInt.asIntN(64, task.tracee.getReg(REG.rax)));
      const v = fix(raw);
      if (v !== raw) task.tracee.setReg(REG.rax, v);
    }
    task.tracee.cont();
  }

  private park(task: Task, b: Block): void {
    const s = task.syscall!;
    const removers = b.queues.map((q) => q.add(() => this.wake(task, 'event')));
    let cancelTimer: (() => void) | null = null;
    if (b.deadline !== undefined) cancelTimer = this.timers.add(b.deadline, () => this.wake(task, 'timeout'));
    s.unpark = () => {
      removers.forEach((r) => r());
      cancelTimer?.();
      s.unpark = undefined;
    };
    parkedBlocks.set(task, b);
  }

  /** Re-runs a parked syscall (from the loop, never from inside a wake-up). */
  wake(task: Task, why: 'event' | 'timeout'): void {
    const s = task.syscall;
    if (!s || !s.unpark) return;
    s.unpark();
    parkedBlocks.delete(task);
    s.wake = why;
    this.schedule(() => {
      if (task.syscall === s && this.byHostTid.get(task.hostTid) === task) this.runHandler(task);
    });
  }

  isParked(task: Task): boolean {
    return parkedBlocks.has(task);
  }

  /**
   * A signal arrived for a task parked in an emulated call: end the wait with EINTR, or
   * arrange a transparent restart (SA_RESTART, or a stop signal), as Linux does.
   */
  interruptWait(task: Task, sig: number): boolean {
    const b = parkedBlocks.get(task);
    const s = task.syscall;
    if (!b || !s) return false;
    s.unpark?.();
    parkedBlocks.delete(task);
    const masked = maskedWait(task);
    if (masked) {
      setMaskedWait(task, null);
      if (endsMaskedWait(task, masked.mask, sig)) {
        suspendNatively(task, masked);
        return true;
      }
    }
    const acts = task.group.sigactions;
    const handler = acts.hasHandler(sig);
    const restart = sig === SIGCONT || (handler ? acts.restarts(sig) && b.restart === 'sys' : defaultAction(sig) === 'stop' && b.restart !== 'never');
    if (restart) {
      task.syscall = null;
      const tr = task.tracee;
      tr.setReg(REG.rip, tr.getReg(REG.rip) - 2n);
      tr.setReg(REG.rax, s.nr);
      tr.setReg(REG.orig_rax, -1n);
      tr.cont();
    } else {
      this.complete(task, -EINTR);
    }
    return true;
  }

  uptimeMs(): number {
    return Number(process.hrtime.bigint()) / 1e6 - this.bootMono;
  }

}

const parkedBlocks = new WeakMap<Task, Block>();
const STRACE = process.env.TUML_STRACE ?? '';
/** TUML_STRACE=1 writes to stderr, TUML_STRACE=<file> to that file. */
function straceOut(line: string): void {
  if (STRACE === '1') fs.writeSync(2, line);
  else fs.appendFileSync(STRACE, line);
}
