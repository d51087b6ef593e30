// Magic SysRq (drivers/tty/sysrq.c): a table of keys, each with its help text, the message
// printed when it runs, and its action. Everything is printed with printk, as Linux does;
// whoever triggers a key (mconsole, /proc/sysrq-trigger) captures the log if it wants the text.
import type { Kernel } from './kernel.js';
import type { Task } from './task/task.js';
import type { ThreadGroup } from './task/thread-group.js';
import { KERN_INFO, KERN_NOTICE } from './log.js';
import { SIGKILL, SIGTERM, SI_KERNEL } from './abi/signals.js';
import { SYSCALL_NAMES } from './abi/syscalls.js';
import { REG } from '../host/ptrace/constants.js';
import { sendToGroup } from './signal/deliver.js';
import { memoryUsage } from './fs/proc/meminfo.js';
import { UTS_RELEASE } from './syscalls/sys_info.js';
import { Freezer } from './task/freezer.js';
import { stateOf } from './fs/proc/pid-common.js';
import { hostStat } from '../host/proc-stat.js';
import { hostSyscall, type HostSyscall } from '../host/proc-syscall.js';

interface SysrqKey {
  readonly keys: string;
  readonly help: string;
  readonly action: string;
  readonly handler: (k: Kernel) => void;
}

const PAGE = 4096;

function printLines(k: Kernel, lines: readonly string[], level = KERN_INFO): void {
  for (const l of lines) k.log.printk(level, l);
}

/** Every process but init, as send_sig_all() picks them (no kernel threads here). */
function allButInit(k: Kernel): ThreadGroup[] {
  return [...k.groups.values()].filter((g) => g.alive && g !== k.init && g.threads.size > 0);
}

const PRIV = { pid: 0, uid: 0, code: SI_KERNEL };

/** task_state_to_char(), as /proc/<pid>/stat shows it; a frozen machine's threads are all D. */
export function taskState(k: Kernel, t: Task): string {
  if (Freezer.of(k).frozen) return 'D';
  return stateOf(k, t.group, t, hostStat(t.group.hostPid, t.hostTid), null);
}

/** sched_show_task()'s first line (Linux 6.12 layout). */
export function taskLine(k: Kernel, t: Task): string {
  const g = t.group;
  const comm = (g.comm || t.name).slice(0, 15).padEnd(15);
  return `task:${comm} state:${taskState(k, t)} stack:${'0'.padEnd(5)} pid:${String(t.tid).padEnd(5)} ` +
    `tgid:${String(g.tgid).padEnd(5)} ppid:${String(g.parent?.tgid ?? 0).padEnd(6)} flags:0x00000000`;
}

/** The system call a guest thread is in: served by the kernel, or run by the host. */
function syscallNr(t: Task, host: HostSyscall | null): number | null {
  if (t.syscall) return t.syscall.nr;
  return host?.state === 'blocked' && host.nr >= 0 ? host.nr : null;
}

/** The "stack" of a guest thread: the system call it is in, if any. */
export function callTrace(t: Task, host = hostSyscall(t.group.hostPid, t.hostTid)): string[] {
  const nr = syscallNr(t, host);
  const frames = nr === null ? [] : [` __x64_sys_${SYSCALL_NAMES[nr] ?? `ni_syscall_${nr}`}`];
  return ['Call Trace:', ' <TASK>', ...frames, ' </TASK>'];
}

const hex = (v: bigint, w: number) => v.toString(16).padStart(w, '0');

/** UML's x86-64 show_regs(), from the thread's registers when it is stopped. */
export function showRegs(t: Task, host: HostSyscall | null): string[] {
  const head = `Pid: ${t.tid}, comm: ${(t.group.comm || t.name).slice(0, 20)} Not tainted ${UTS_RELEASE}`;
  let r: (slot: number) => bigint;
  try {
    t.tracee.loadRegs();
    r = (slot) => t.tracee.getReg(slot);
  } catch {
    // Not in a ptrace stop: asleep in a call the host runs (its pointers are known), or
    // running guest code on a host CPU (nothing can be read without stopping it).
    if (host?.state !== 'blocked') return [head, 'RIP: (running)'];
    return [head, `RIP: 0033:[<${hex(host.pc, 16)}>]`, `RSP: ${hex(host.sp, 16)}`];
  }
  const row = (a: [string, number], b: [string, number], c: [string, number]) =>
    [a, b, c].map(([n, s]) => `${n}: ${hex(r(s), 16)}`).join(' ');
  return [
    head,
    `RIP: ${hex(r(REG.cs) & 0xffffn, 4)}:[<${hex(r(REG.rip), 16)}>]`,
    `RSP: ${hex(r(REG.rsp), 16)}  EFLAGS: ${hex(r(REG.eflags), 8)}`,
    row(['RAX', REG.rax], ['RBX', REG.rbx], ['RCX', REG.rcx]),
    row(['RDX', REG.rdx], ['RSI', REG.rsi], ['RDI', REG.rdi]),
    row(['RBP', REG.rbp], ['R08', REG.r8], ['R09', REG.r9]),
    row(['R10', REG.r10], ['R11', REG.r11], ['R12', REG.r12]),
    row(['R13', REG.r13], ['R14', REG.r14], ['R15', REG.r15]),
  ];
}

/** mconsole `stack <pid>`: the thread's state, registers and call. */
export function showStack(k: Kernel, t: Task): void {
  const host = hostSyscall(t.group.hostPid, t.hostTid);
  printLines(k, [taskLine(k, t), ...showRegs(t, host), ...callTrace(t, host)]);
}

function tasksInOrder(k: Kernel): Task[] {
  return [...k.byTid.values()].sort((a, b) => a.group.tgid - b.group.tgid || a.tid - b.tid);
}

/** show_mem(): the page counts in Linux's layout, from what /proc/meminfo reports. */
export function showMem(k: Kernel): string[] {
  const u = memoryUsage(k);
  const pages = (b: number) => Math.floor(b / PAGE);
  const kb = (b: number) => Math.floor(b / 1024);
  const anon = pages(u.anon), file = pages(u.cached), free = pages(u.free), total = pages(u.total);
  // The free pages as the buddy allocator would hold them: order-10 blocks and single pages.
  const orders = new Array<number>(11).fill(0);
  orders[10] = Math.floor(free / 1024);
  orders[0] = free % 1024;
  const buddy = orders.map((n, o) => `${n}*${4 << o}kB${n ? ' (M)' : ''}`).join(' ');
  return [
    'Mem-Info:',
    `active_anon:${anon} inactive_anon:0 isolated_anon:0`,
    ` active_file:${file} inactive_file:0 isolated_file:0`,
    ' unevictable:0 dirty:0 writeback:0',
    ' slab_reclaimable:0 slab_unreclaimable:0',
    ` mapped:${file} shmem:0 pagetables:0`,
    ' sec_pagetables:0 bounce:0',
    ' kernel_misc_reclaimable:0',
    ` free:${free} free_pcp:0 free_cma:0`,
    `Node 0 active_anon:${kb(u.anon)}kB inactive_anon:0kB active_file:${kb(u.cached)}kB inactive_file:0kB ` +
      `unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:${kb(u.cached)}kB dirty:0kB writeback:0kB ` +
      'shmem:0kB writeback_tmp:0kB kernel_stack:0kB pagetables:0kB sec_pagetables:0kB all_unreclaimable? no',
    `Normal free:${kb(u.free)}kB boost:0kB min:0kB low:0kB high:0kB reserved_highatomic:0KB ` +
      `active_anon:${kb(u.anon)}kB inactive_anon:0kB active_file:${kb(u.cached)}kB inactive_file:0kB unevictable:0kB ` +
      `writepending:0kB present:${kb(u.total)}kB managed:${kb(u.total)}kB mlocked:0kB bounce:0kB free_pcp:0kB ` +
      'local_pcp:0kB free_cma:0kB',
    'lowmem_reserve[]: 0 0',
    `Normal: ${buddy} = ${free * 4}kB`,
    `${file} total pagecache pages`,
    '0 pages in swap cache',
    'Free swap  = 0kB',
    'Total swap = 0kB',
    `${total} pages RAM`,
    '0 pages HighMem/MovableOnly',
    '0 pages reserved',
  ];
}

/** do_SAK() on the console: kill everything in the console's session (init survives, as in Linux). */
function sak(k: Kernel): void {
  const sid = k.init?.sid;
  const victims = allButInit(k).filter((g) => g.sid === sid);
  // Linux does this from a work queue: the notices come after the sysrq reply.
  k.schedule(() => {
    for (const g of victims) {
      k.log.printk(KERN_NOTICE, `SAK: killed process ${g.tgid} (${g.comm}): by session`);
      sendToGroup(k, g, SIGKILL, PRIV);
    }
  });
}

function syncAll(k: Kernel): void {
  for (const m of k.mounts.all()) {
    try { m.fs.sync?.(); } catch (e) { k.log.warn(`sysrq: sync of ${m.source} failed: ${(e as Error).message}`); }
  }
}

/** do_emergency_remount(): file systems on block devices become read-only. */
function remountRo(k: Kernel): void {
  for (const m of k.mounts.all()) {
    if (!m.source.startsWith('/dev/') || m.readOnly) continue;
    try { m.fs.sync?.(); } catch { /* still remounted, as Linux forces it */ }
    m.flags = { ...m.flags, readOnly: true };
  }
}

/** The keys tuml has, in sysrq_key_table order (the order of the help line). */
export const SYSRQ_KEYS: readonly SysrqKey[] = [
  { keys: 'b', help: 'reboot(b)', action: 'Resetting', handler: (k) => k.shutdown('reboot') },
  { keys: 'e', help: 'terminate-all-tasks(e)', action: 'Terminate All Tasks', handler: (k) => { for (const g of allButInit(k)) sendToGroup(k, g, SIGTERM, PRIV); } },
  { keys: 'i', help: 'kill-all-tasks(i)', action: 'Kill All Tasks', handler: (k) => { for (const g of allButInit(k)) sendToGroup(k, g, SIGKILL, PRIV); } },
  { keys: 'k', help: 'sak(k)', action: 'SAK', handler: sak },
  { keys: 'm', help: 'show-memory-usage(m)', action: 'Show Memory', handler: (k) => printLines(k, showMem(k)) },
  {
    keys: 's', help: 'sync(s)', action: 'Emergency Sync',
    handler: (k) => { syncAll(k); k.schedule(() => k.log.info('Emergency Sync complete')); },
  },
  {
    keys: 't', help: 'show-task-states(t)', action: 'Show State',
    handler: (k) => { for (const t of tasksInOrder(k)) printLines(k, [taskLine(k, t), ...callTrace(t)]); },
  },
  {
    keys: 'u', help: 'unmount(u)', action: 'Emergency Remount R/O',
    handler: (k) => { remountRo(k); k.schedule(() => k.log.info('Emergency Remount complete')); },
  },
  {
    // Only threads in uninterruptible sleep (D) are listed; tuml's emulated calls never are.
    keys: 'w', help: 'show-blocked-tasks(w)', action: 'Show Blocked State',
    handler: (k) => { for (const t of tasksInOrder(k)) if (taskState(k, t) === 'D') printLines(k, [taskLine(k, t), ...callTrace(t)]); },
  },
];

/** __handle_sysrq(): run `key`, or print the help line for a key tuml does not have. */
export function handleSysrq(k: Kernel, key: string): void {
  const op = key.length === 1 ? SYSRQ_KEYS.find((o) => o.keys.includes(key)) : undefined;
  if (!op) {
    k.log.info(`sysrq: HELP : ${SYSRQ_KEYS.map((o) => o.help + ' ').join('')}`);
    return;
  }
  k.log.info(`sysrq: ${op.action}`);
  op.handler(k);
}
