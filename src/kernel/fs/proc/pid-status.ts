// /proc/<pid>/status (proc(5)): the guest's ids and credentials; memory, signal masks,
// context switches and CPU sets from the host's view of the task's host process (the host
// holds the real signal masks: rt_sigprocmask runs natively).
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { ProcKernel } from './kernel-view.js';
import { hostStatus } from '../../../host/proc-stat.js';
import { commOf, hostFields, stateOf, STATE_NAMES } from './pid-common.js';
import { RLIMIT_SIGPENDING } from '../../task/rlimits.js';

const MEM_KEYS = ['VmPeak', 'VmSize', 'VmLck', 'VmPin', 'VmHWM', 'VmRSS', 'RssAnon', 'RssFile',
  'RssShmem', 'VmData', 'VmStk', 'VmExe', 'VmLib', 'VmPTE', 'VmSwap', 'HugetlbPages'];
const SIG_KEYS = ['SigPnd', 'ShdPnd', 'SigBlk', 'SigIgn', 'SigCgt'];
const ZERO_MASK = '0000000000000000';
/** Capabilities of uid 0 inside the machine: all of them (CAP_LAST_CAP 40). */
const FULL_CAPS = '000001ffffffffff';

function escapeName(s: string): string {
  // Linux escapes '\\' and '\n' in the Name field (proc_task_name with ESCAPE_SPACE semantics).
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function pidStatus(k: ProcKernel, g: ThreadGroup, t: Task | null, reader: Task | null): string {
  const task = t ?? g.leader ?? null;
  const h = g.alive ? hostStatus(g.hostPid, t ? t.hostTid : null) : null;
  const hf = hostFields(g, t);
  const c = g.cred;
  const pid = t ? t.tid : g.tgid;
  const state = stateOf(k, g, t, hf, reader);
  const capsOn = c.euid === 0;
  const lines: string[] = [];
  const add = (key: string, val: string | number) => lines.push(`${key}:\t${val}`);
  add('Name', escapeName(commOf(g, task)));
  add('Umask', g.fs.umask.toString(8).padStart(4, '0'));
  add('State', STATE_NAMES[state] ?? state);
  add('Tgid', g.tgid);
  add('Ngid', 0);
  add('Pid', pid);
  add('PPid', g.parent?.tgid ?? 0);
  add('TracerPid', 0);
  add('Uid', `${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`);
  add('Gid', `${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`);
  add('FDSize', fdSize(g));
  add('Groups', c.groups.map((x) => `${x} `).join(''));
  add('NStgid', g.tgid);
  add('NSpid', pid);
  add('NSpgid', g.pgid);
  add('NSsid', g.sid);
  add('Kthread', 0);
  if (g.alive) {
    for (const key of MEM_KEYS) add(key, h?.get(key) ?? '       0 kB');
    add('CoreDumping', 0);
    add('THP_enabled', h?.get('THP_enabled') ?? 1);
    add('untag_mask', h?.get('untag_mask') ?? '0xffffffffffffffff');
  }
  add('Threads', Math.max(1, g.threads.size));
  add('SigQ', `0/${g.rlimits.get(RLIMIT_SIGPENDING).cur}`);
  for (const key of SIG_KEYS) add(key, h?.get(key) ?? ZERO_MASK);
  add('CapInh', ZERO_MASK);
  add('CapPrm', capsOn ? FULL_CAPS : ZERO_MASK);
  add('CapEff', capsOn ? FULL_CAPS : ZERO_MASK);
  add('CapBnd', FULL_CAPS);
  add('CapAmb', ZERO_MASK);
  add('NoNewPrivs', g.noNewPrivs ? 1 : 0);
  add('Seccomp', 0); // tuml's own filter is not the guest's
  add('Seccomp_filters', 0);
  add('Speculation_Store_Bypass', h?.get('Speculation_Store_Bypass') ?? 'vulnerable');
  add('SpeculationIndirectBranch', h?.get('SpeculationIndirectBranch') ?? 'always enabled');
  add('Cpus_allowed', h?.get('Cpus_allowed') ?? '1');
  add('Cpus_allowed_list', h?.get('Cpus_allowed_list') ?? '0');
  add('Mems_allowed', h?.get('Mems_allowed') ?? '1');
  add('Mems_allowed_list', h?.get('Mems_allowed_list') ?? '0');
  add('voluntary_ctxt_switches', h?.get('voluntary_ctxt_switches') ?? 0);
  add('nonvoluntary_ctxt_switches', h?.get('nonvoluntary_ctxt_switches') ?? 0);
  return lines.join('\n') + '\n';
}

/** FDSize: the fd table's allocated size, a multiple of 64 as Linux grows it. */
function fdSize(g: ThreadGroup): number {
  let max = -1;
  for (const [fd] of g.fds.entries()) max = Math.max(max, fd);
  return Math.max(64, Math.ceil((max + 1) / 64) * 64);
}
