// A kernel-like object for procfs/sysfs/devtmpfs tests: a tmpfs root with /proc mounted,
// thread groups whose "host process" is a real host process (this test runner or a child),
// and fake tasks (no tracee) that can read files through the VFS.
import { MountTable, DEFAULT_MOUNT_FLAGS } from '../../src/kernel/fs/mount-table.js';
import { FsContext } from '../../src/kernel/fs/fs-context.js';
import { FdTable } from '../../src/kernel/fs/fd-table.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { ThreadGroup } from '../../src/kernel/task/thread-group.js';
import { SigActions } from '../../src/kernel/signal/sigactions.js';
import { PidAllocator } from '../../src/kernel/task/pid-allocator.js';
import { KernelLog } from '../../src/kernel/log.js';
import { TmpFs } from '../../src/kernel/fs/tmpfs/tmpfs.js';
import { ProcFs } from '../../src/kernel/fs/proc/proc-fs.js';
import type { ProcKernel } from '../../src/kernel/fs/proc/kernel-view.js';
import type { Task } from '../../src/kernel/task/task.js';
import type { FileSystem } from '../../src/kernel/fs/inode.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { AT_FDCWD, O_RDONLY } from '../../src/kernel/abi/fcntl.js';

export interface FakeKernel extends ProcKernel {
  groups: Map<number, ThreadGroup>;
  byTid: Map<number, Task>;
}

export interface Machine {
  k: FakeKernel;
  proc: ProcFs;
  /** Adds a process whose host side is `hostPid`; returns its leader task. */
  spawn(hostPid: number, opts?: { parent?: ThreadGroup; comm?: string; argv?: string[]; cred?: Cred }): Task;
  /** Adds a thread to a process. */
  thread(g: ThreadGroup, hostTid: number, name?: string): Task;
  mountAt(fs: FileSystem, at: string, source: string): void;
}

export function fakeMachine(): Machine {
  const root = new TmpFs({ options: 'mode=755' });
  const mounts = new MountTable(root, 'rootfs');
  const pids = new PidAllocator();
  const bootMs = Date.now() - 5000;
  const k: FakeKernel = {
    groups: new Map(), byTid: new Map(), mounts, log: new KernelLog(), memBytes: 256 * 1024 * 1024,
    hostname: 'tuml', domainname: '(none)', uptimeMs: () => Date.now() - bootMs, cmdline: 'mem=256M quiet',
    bootMs, console: null, pids,
  };
  const proc = new ProcFs(k);
  const boot = new FsContext(mounts.rootPath, mounts.rootPath);
  const bootTask = { kernel: k, fs: boot, cred: new Cred(), fds: new FdTable() } as unknown as Task;
  const mountAt = (fs: FileSystem, at: string, source: string) => {
    vfs.mkdirAt(bootTask, AT_FDCWD, at, 0o755);
    const p = vfs.lookupAt(bootTask, AT_FDCWD, at, true);
    mounts.mount(fs, source, p, { ...DEFAULT_MOUNT_FLAGS, nosuid: true, nodev: true, noexec: true });
  };
  mountAt(proc, '/proc', 'proc');
  const thread = (g: ThreadGroup, hostTid: number, name = g.comm): Task => {
    const tid = g.threads.size === 0 ? g.tgid : pids.alloc();
    const t = {
      kernel: k, tid, name, hostTid, group: g,
      get cred() { return g.cred; }, get fs() { return g.fs; }, get fds() { return g.fds; },
      get pid() { return g.tgid; },
    } as unknown as Task;
    g.threads.add(t);
    k.byTid.set(tid, t);
    return t;
  };
  const spawn: Machine['spawn'] = (hostPid, o = {}) => {
    const tgid = pids.alloc();
    const g = new ThreadGroup(tgid, o.parent ?? null, o.cred ?? new Cred(), new FdTable(), boot.clone(), new SigActions(), hostPid);
    g.comm = o.comm ?? 'sh';
    g.argv = (o.argv ?? [g.comm]).map((s) => Buffer.from(s));
    g.envp = [Buffer.from('PATH=/bin'), Buffer.from('HOME=/root')];
    g.exePath = '/bin/' + g.comm;
    o.parent?.children.add(g);
    k.groups.set(tgid, g);
    const t = thread(g, hostPid, g.comm);
    g.leader = t;
    return t;
  };
  return { k, proc, spawn, thread, mountAt };
}

export function readAll(t: Task, path: string): string {
  const f = vfs.openAt(t, AT_FDCWD, path, O_RDONLY, 0);
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const b = f.read(t, 65536);
      if (b.length === 0) break;
      parts.push(b);
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    f.unref();
  }
}

export function list(t: Task, path: string): string[] {
  const f = vfs.openAt(t, AT_FDCWD, path, O_RDONLY, 0);
  try {
    return f.readdir().map((e) => e.name);
  } finally {
    f.unref();
  }
}
