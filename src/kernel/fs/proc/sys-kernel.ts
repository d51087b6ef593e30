// /proc/sys: the sysctls programs commonly read (and a few they write). Values that only
// tuml's kernel could act on are remembered, so a write reads back as Linux's would.
import { randomUUID } from 'node:crypto';
import { Errno } from '../../errno.js';
import { EINVAL, EPERM } from '../../abi/errno.js';
import type { Task } from '../../task/task.js';
import type { ProcKernel } from './kernel-view.js';
import { UTS_RELEASE, UTS_VERSION } from '../../syscalls/sys_info.js';
import { PID_MAX } from '../../task/pid-allocator.js';
import { addSpec, type DirSpec } from './static-tree.js';

function mustBeRoot(w: Task | null): void {
  if (w && w.cred.euid !== 0) throw new Errno(EPERM);
}

/** One line of text from a sysctl write, without its newline. */
function lineOf(d: Buffer): string {
  return d.toString('utf8').replace(/\n.*$/s, '');
}

export function addSysctls(root: DirSpec, k: ProcKernel): void {
  const ro = (path: string, value: () => string) => addSpec(root, `sys/${path}`, { kind: 'file', mode: 0o444, gen: () => value() + '\n' });
  const rw = (path: string, initial: string, check?: (v: string) => boolean) => {
    let value = initial;
    addSpec(root, `sys/${path}`, {
      kind: 'file', mode: 0o644, gen: () => value + '\n',
      write: (w, d) => {
        mustBeRoot(w);
        const v = lineOf(d).trim();
        if (check && !check(v)) throw new Errno(EINVAL);
        value = v;
      },
    });
  };
  const isInt = (v: string) => /^-?\d+$/.test(v);
  const utsName = (v: string) => Buffer.byteLength(v) <= 64;

  addSpec(root, 'sys/kernel/hostname', {
    kind: 'file', mode: 0o644, gen: () => k.hostname + '\n',
    write: (w, d) => {
      mustBeRoot(w);
      const v = lineOf(d);
      if (!utsName(v)) throw new Errno(EINVAL);
      k.hostname = v;
    },
  });
  addSpec(root, 'sys/kernel/domainname', {
    kind: 'file', mode: 0o644, gen: () => k.domainname + '\n',
    write: (w, d) => {
      mustBeRoot(w);
      const v = lineOf(d);
      if (!utsName(v)) throw new Errno(EINVAL);
      k.domainname = v;
    },
  });
  ro('kernel/osrelease', () => UTS_RELEASE);
  ro('kernel/ostype', () => 'Linux');
  ro('kernel/version', () => UTS_VERSION);
  rw('kernel/pid_max', String(PID_MAX), isInt);
  ro('kernel/ngroups_max', () => '65536');
  ro('kernel/cap_last_cap', () => '40');
  rw('kernel/threads-max', '126730', isInt);
  ro('kernel/overflowuid', () => '65534');
  ro('kernel/overflowgid', () => '65534');
  rw('kernel/panic', '0', isInt);
  rw('kernel/core_pattern', 'core');
  rw('kernel/printk', '4\t4\t1\t7');
  rw('kernel/shmmax', '18446744073692774399', isInt);
  rw('kernel/shmall', '18446744073692774399', isInt);
  rw('kernel/shmmni', '4096', isInt);
  rw('kernel/sem', '32000\t1024000000\t500\t32000');
  rw('kernel/msgmax', '8192', isInt);
  rw('kernel/msgmnb', '16384', isInt);
  rw('kernel/msgmni', '32000', isInt);
  rw('kernel/randomize_va_space', '2', isInt);
  rw('kernel/yama/ptrace_scope', '0', isInt);
  const bootId = randomUUID();
  ro('kernel/random/boot_id', () => bootId);
  ro('kernel/random/uuid', () => randomUUID());
  ro('kernel/random/entropy_avail', () => '256');
  ro('kernel/random/poolsize', () => '256');

  rw('vm/overcommit_memory', '0', (v) => /^[012]$/.test(v));
  rw('vm/overcommit_ratio', '50', isInt);
  rw('vm/max_map_count', '65530', isInt);
  rw('vm/swappiness', '60', isInt);
  rw('vm/min_free_kbytes', '67584', isInt);
  rw('vm/drop_caches', '0', isInt);

  rw('fs/file-max', '9223372036854775807', isInt);
  ro('fs/file-nr', () => {
    let open = 0;
    for (const g of k.groups.values()) open += g.fds.entries().length;
    return `${open}\t0\t9223372036854775807`;
  });
  rw('fs/nr_open', '1048576', isInt);
  rw('fs/pipe-max-size', '1048576', isInt);
  rw('fs/inotify/max_user_watches', '65536', isInt);
  rw('fs/inotify/max_user_instances', '128', isInt);
  rw('fs/inotify/max_queued_events', '16384', isInt);
  rw('fs/protected_symlinks', '1', isInt);
  rw('fs/protected_hardlinks', '1', isInt);

  rw('net/core/somaxconn', '4096', isInt);
  rw('net/ipv4/ip_local_port_range', '32768\t60999');
  rw('net/ipv4/ip_forward', '0', isInt);
}
