// CPU time and run-queue accounting for /proc/stat, /proc/uptime and /proc/loadavg. Guest
// code runs in host processes, so the busy time of each CPU is what the host has charged to
// the guest's tasks (and to the children they reaped); the rest of the machine's life since
// boot is idle.
import type { ProcKernel } from './kernel-view.js';
import type { Task } from '../../task/task.js';
import { hostStat, hostCpuCount, CLK_TCK } from '../../../host/proc-stat.js';
import { num } from './pid-common.js';

export interface CpuSample {
  ncpu: number;
  /** Ticks since boot per CPU. */
  uptimeTicks: number;
  user: number;
  system: number;
  running: number;
  blocked: number;
  threads: number;
  lastPid: number;
}

export class CpuAccounting {
  private maxUser = 0;
  private maxSystem = 0;
  private load = [0, 0, 0];
  private loadAt = -1;

  constructor(private readonly k: ProcKernel, readonly ncpu = hostCpuCount()) {}

  sample(reader: Task | null): CpuSample {
    let user = 0, system = 0, running = 0, blocked = 0, threads = 0, lastPid = 0;
    for (const g of this.k.groups.values()) {
      // childTimes are kept in µs.
      user += Math.floor((g.childTimes.utime * CLK_TCK) / 1e6);
      system += Math.floor((g.childTimes.stime * CLK_TCK) / 1e6);
      if (!g.alive) continue;
      const h = hostStat(g.hostPid);
      if (h) {
        user += num(h[13]);
        system += num(h[14]);
      }
      for (const t of g.threads) {
        threads++;
        lastPid = Math.max(lastPid, t.tid);
        if (t === reader || this.k.isParked?.(t) || g.jobState === 'stopped') continue;
        const s = hostStat(g.hostPid, t.hostTid)?.[2];
        if (s === 'R') running++;
        else if (s === 'D') blocked++;
      }
    }
    // Exited processes take their times with them until reaped into a parent's childTimes:
    // never let the totals go backwards.
    this.maxUser = Math.max(this.maxUser, user);
    this.maxSystem = Math.max(this.maxSystem, system);
    const uptimeTicks = Math.floor((this.k.uptimeMs() * CLK_TCK) / 1000);
    return { ncpu: this.ncpu, uptimeTicks, user: this.maxUser, system: this.maxSystem, running, blocked, threads, lastPid };
  }

  /** Idle ticks of one CPU (busy time spread evenly over the CPUs). */
  idlePerCpu(s: CpuSample): number {
    return Math.max(0, s.uptimeTicks - Math.ceil((s.user + s.system) / s.ncpu));
  }

  /** Load averages, decayed exponentially as Linux's calc_load does, over the time since the last look. */
  loadavg(s: CpuSample): number[] {
    const now = this.k.uptimeMs();
    const n = s.running + s.blocked;
    if (this.loadAt < 0) this.loadAt = 0;
    const dt = Math.max(0, (now - this.loadAt) / 1000);
    this.loadAt = now;
    this.load = this.load.map((l, i) => {
      const e = Math.exp(-dt / [60, 300, 900][i]!);
      return l * e + n * (1 - e);
    });
    return this.load;
  }
}

export function statText(k: ProcKernel, acct: CpuAccounting, reader: Task | null): string {
  const s = acct.sample(reader);
  const idle = acct.idlePerCpu(s);
  const line = (name: string, user: number, system: number, idl: number) => `${name} ${user} 0 ${system} ${idl} 0 0 0 0 0 0\n`;
  let out = line('cpu ', s.user, s.system, idle * s.ncpu);
  for (let i = 0; i < s.ncpu; i++) {
    const share = (v: number) => Math.floor(v / s.ncpu) + (i < v % s.ncpu ? 1 : 0);
    out += line(`cpu${i}`, share(s.user), share(s.system), idle);
  }
  out += 'intr 0\n';
  out += 'ctxt 0\n';
  out += `btime ${Math.floor(k.bootMs / 1000)}\n`;
  out += `processes ${s.lastPid}\n`;
  out += `procs_running ${Math.max(1, s.running + (reader ? 1 : 0))}\n`;
  out += `procs_blocked ${s.blocked}\n`;
  out += 'softirq 0 0 0 0 0 0 0 0 0 0 0\n';
  return out;
}

export function uptimeText(acct: CpuAccounting, reader: Task | null): string {
  const s = acct.sample(reader);
  const up = s.uptimeTicks / CLK_TCK;
  const idle = (acct.idlePerCpu(s) * s.ncpu) / CLK_TCK;
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

export function loadavgText(acct: CpuAccounting, reader: Task | null): string {
  const s = acct.sample(reader);
  const l = acct.loadavg(s);
  const running = s.running + (reader ? 1 : 0);
  return `${l.map((x) => x.toFixed(2)).join(' ')} ${running}/${s.threads} ${s.lastPid}\n`;
}
