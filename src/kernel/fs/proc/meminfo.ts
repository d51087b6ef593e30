// /proc/meminfo. MemTotal is the machine's mem=; what is in use is what the guest's host
// processes hold resident (private pages per process, shared file pages counted once, as
// far as the host's statm can tell), so `free` and top see the guest, not the host.
import type { ProcKernel } from './kernel-view.js';
import { hostStatm } from '../../../host/proc-stat.js';

const PAGE = 4096;

export interface MemoryUsage {
  total: number; free: number; available: number; cached: number; anon: number; mapped: number;
}

/** Bytes in use by the guest, as procfs and sysinfo(2) report them. */
export function memoryUsage(k: ProcKernel): MemoryUsage {
  let anon = 0, shared = 0;
  for (const g of k.groups.values()) {
    if (!g.alive) continue;
    const m = hostStatm(g.hostPid);
    if (!m) continue;
    anon += Math.max(0, (m[1]! - m[2]!) * PAGE);
    // Shared pages are mostly the same libraries in every process: count the largest set.
    shared = Math.max(shared, m[2]! * PAGE);
  }
  const total = k.memBytes;
  anon = Math.min(anon, total);
  const cached = Math.min(shared, total - anon);
  const free = Math.max(0, total - anon - cached);
  return { total, free, available: free + cached, cached, anon, mapped: cached };
}

export function meminfoText(k: ProcKernel): string {
  const u = memoryUsage(k);
  const kb = (b: number) => Math.floor(b / 1024);
  const rows: [string, number, boolean][] = [
    ['MemTotal', kb(u.total), true], ['MemFree', kb(u.free), true], ['MemAvailable', kb(u.available), true],
    ['Buffers', 0, true], ['Cached', kb(u.cached), true], ['SwapCached', 0, true],
    ['Active', kb(u.anon + u.cached), true], ['Inactive', 0, true],
    ['Active(anon)', kb(u.anon), true], ['Inactive(anon)', 0, true],
    ['Active(file)', kb(u.cached), true], ['Inactive(file)', 0, true],
    ['Unevictable', 0, true], ['Mlocked', 0, true], ['SwapTotal', 0, true], ['SwapFree', 0, true],
    ['Zswap', 0, true], ['Zswapped', 0, true], ['Dirty', 0, true], ['Writeback', 0, true],
    ['AnonPages', kb(u.anon), true], ['Mapped', kb(u.mapped), true], ['Shmem', 0, true],
    ['KReclaimable', 0, true], ['Slab', 0, true], ['SReclaimable', 0, true], ['SUnreclaim', 0, true],
    ['KernelStack', 0, true], ['PageTables', 0, true], ['SecPageTables', 0, true],
    ['NFS_Unstable', 0, true], ['Bounce', 0, true], ['WritebackTmp', 0, true],
    ['CommitLimit', kb(u.total / 2), true], ['Committed_AS', kb(u.anon), true],
    ['VmallocTotal', 34359738367, true], ['VmallocUsed', 0, true], ['VmallocChunk', 0, true],
    ['Percpu', 0, true], ['AnonHugePages', 0, true], ['ShmemHugePages', 0, true],
    ['ShmemPmdMapped', 0, true], ['FileHugePages', 0, true], ['FilePmdMapped', 0, true],
    ['HugePages_Total', 0, false], ['HugePages_Free', 0, false], ['HugePages_Rsvd', 0, false],
    ['HugePages_Surp', 0, false], ['Hugepagesize', 2048, true], ['Hugetlb', 0, true],
    ['DirectMap4k', kb(u.total), true],
  ];
  return rows.map(([name, v, unit]) => `${(name + ':').padEnd(16)}${String(v).padStart(8)}${unit ? ' kB' : ''}\n`).join('');
}
