// /proc/vmstat: the virtual memory counters vmstat(8) and free read. Page counts follow
// meminfo's accounting; event counters sum the guest's page faults as the host counted them.
import type { ProcKernel } from './kernel-view.js';
import { memoryUsage } from './meminfo.js';
import { hostStat } from '../../../host/proc-stat.js';
import { num } from './pid-common.js';

const PAGE = 4096;

export function vmstatText(k: ProcKernel): string {
  const u = memoryUsage(k);
  let minflt = 0, majflt = 0;
  for (const g of k.groups.values()) {
    if (!g.alive) continue;
    const h = hostStat(g.hostPid);
    if (!h) continue;
    minflt += num(h[9]) + num(h[10]);
    majflt += num(h[11]) + num(h[12]);
  }
  const pages = (b: number) => Math.floor(b / PAGE);
  const rows: [string, number][] = [
    ['nr_free_pages', pages(u.free)], ['nr_zone_inactive_anon', 0], ['nr_zone_active_anon', pages(u.anon)],
    ['nr_zone_inactive_file', 0], ['nr_zone_active_file', pages(u.cached)], ['nr_zone_unevictable', 0],
    ['nr_zone_write_pending', 0], ['nr_mlock', 0], ['nr_inactive_anon', 0], ['nr_active_anon', pages(u.anon)],
    ['nr_inactive_file', 0], ['nr_active_file', pages(u.cached)], ['nr_unevictable', 0],
    ['nr_slab_reclaimable', 0], ['nr_slab_unreclaimable', 0], ['nr_anon_pages', pages(u.anon)],
    ['nr_mapped', pages(u.mapped)], ['nr_file_pages', pages(u.cached)], ['nr_dirty', 0], ['nr_writeback', 0],
    ['nr_shmem', 0], ['nr_kernel_stack', 0], ['nr_page_table_pages', 0], ['nr_swapcached', 0],
    ['nr_dirty_threshold', pages(u.available * 0.2)], ['nr_dirty_background_threshold', pages(u.available * 0.1)],
    ['pgpgin', 0], ['pgpgout', 0], ['pswpin', 0], ['pswpout', 0],
    ['pgfault', minflt + majflt], ['pgmajfault', majflt],
    ['pgsteal_kswapd', 0], ['pgsteal_direct', 0], ['pgscan_kswapd', 0], ['pgscan_direct', 0],
    ['oom_kill', 0],
  ];
  return rows.map(([key, v]) => `${key} ${v}\n`).join('');
}
