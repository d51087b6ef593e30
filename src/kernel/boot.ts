// Boot: mount the root file system and the guest's own /proc, /dev, /sys, /tmp; create the
// console; start init (pid 1).
import type { Kernel } from './kernel.js';
import type { MachineConfig } from '../cli/cmdline.js';
import { MountTable, DEFAULT_MOUNT_FLAGS } from './fs/mount-table.js';
import { HostFs } from './fs/hostfs/hostfs.js';
import type { FileSystem } from './fs/inode.js';
import { Console, type StdioKinds } from './tty/console.js';
import { ThreadGroup } from './task/thread-group.js';
import { Task } from './task/task.js';
import { Cred } from './task/cred.js';
import { FdTable } from './fs/fd-table.js';
import { FsContext } from './fs/fs-context.js';
import { SigActions } from './signal/sigactions.js';
import { execve } from './exec/execve.js';
import { Errno } from './errno.js';
import { walk } from './fs/namei.js';
import { UTS_RELEASE, UTS_VERSION } from './syscalls/sys_info.js';
import { defaultRoot, mountSystem } from './fs/boot-mounts.js';
import * as os from 'node:os';
import { installFifoSupport } from './ipc/fifo.js';
import { setupBlockDevices, mountRootDevice } from './block/boot-devices.js';

export interface BootOptions { cfg: MachineConfig; stdio: StdioKinds; term: string | null }

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function rootFileSystem(k: Kernel, cfg: MachineConfig): { fs: FileSystem; source: string } {
  if (cfg.rootfstype === 'hostfs') {
    return { fs: new HostFs(cfg.rootflags!, cfg.readOnly), source: '/dev/root' };
  }
  if (cfg.root) return mountRootDevice(k, cfg);
  return defaultRoot(k);
}

export function boot(k: Kernel, opts: BootOptions): void {
  const { cfg } = opts;
  k.log.quiet = cfg.quiet;
  k.memBytes = cfg.mem;
  k.cmdline = cfg.cmdline;
  k.log.info(`Linux version ${UTS_RELEASE} (tuml@${os.hostname()}) (node ${process.version}) ${UTS_VERSION}`);
  k.log.info(`Kernel command line: ${cfg.cmdline}`);
  k.log.info(`Memory: ${cfg.mem >> 10}K available`);
  installFifoSupport();
  setupBlockDevices(k, cfg);
  const root = rootFileSystem(k, cfg);
  k.mounts = new MountTable(root.fs, root.source, { ...DEFAULT_MOUNT_FLAGS, readOnly: false });
  mountSystem(k, !cfg.root && !cfg.rootfstype);
  k.log.info(`VFS: Mounted root (${root.fs.name} filesystem)${root.fs.readOnly ? ' readonly' : ''}.`);

  k.console = new Console(k, opts.stdio, cfg.devices);
  const rootPath = k.mounts.rootPath;
  const tr = k.platform.spawnStub('tuml-init');
  k.platform.installSeccomp(tr);
  const g = new ThreadGroup(k.pids.alloc(), null, new Cred(), new FdTable(), new FsContext(rootPath, rootPath), new SigActions(), tr.tid);
  const init = new Task(k, g.tgid, tr, g);
  g.leader = init;
  g.threads.add(init);
  k.byHostTid.set(tr.tid, init);
  k.byTid.set(init.tid, init);
  k.groups.set(g.tgid, g);
  k.init = g;
  const [f0, f1, f2] = k.console.stdio();
  g.fds.install(f0, false);
  g.fds.install(f1, false);
  g.fds.install(f2, false);
  // A command or the default machine's shell owns the console as its controlling terminal
  // (job control in `tuml -- bash`, as docker run -it). A real init from a root file system
  // gets it as Linux gives /dev/console to init: without a controlling terminal, so that its
  // children (getty, busybox init's shells) can acquire one.
  const realInit = !cfg.command && (cfg.root !== null || cfg.rootfstype !== null);
  if (!realInit) k.console.attachInit(g);

  const env = [`PATH=${DEFAULT_PATH}`, 'HOME=/root', `TERM=${opts.term ?? 'linux'}`, 'SHELL=/bin/sh', 'USER=root', 'LOGNAME=root'];
  const home = walkOrNull(k, '/root');
  if (home) g.fs.cwd = home;
  let argv: string[];
  if (cfg.command) {
    argv = cfg.command;
  } else {
    const initPath = cfg.init ?? (cfg.rootfstype || cfg.root ? firstExisting(k, ['/sbin/init', '/etc/init', '/bin/init', '/bin/sh']) : firstExisting(k, ['/bin/bash', '/bin/sh']));
    argv = [initPath, ...(cfg.command ? [] : cfg.init ? cfg.initArgs : (initPath.endsWith('bash') ? ['-l'] : cfg.initArgs))];
  }
  const prog = resolveCommand(k, argv[0]!);
  k.log.info(`Run ${prog} as init process`);
  try {
    execve(init, { dirfd: -100, pathname: prog, argv: argv.map((s) => Buffer.from(s)), envp: env.map((s) => Buffer.from(s)), flags: 0 });
  } catch (e) {
    const why = e instanceof Errno ? `errno ${e.errno}` : String(e);
    k.log.printk(0, `Kernel panic - not syncing: Requested init ${prog} failed (${why}).`);
    throw new BootError(prog, e instanceof Errno ? e.errno : 0);
  }
}

export class BootError extends Error {
  constructor(readonly prog: string, readonly errno: number) {
    super(`cannot run ${prog}`);
  }
}

function walkOrNull(k: Kernel, path: string) {
  try {
    return walk({ mounts: k.mounts, root: k.mounts.rootPath, cred: new Cred() }, k.mounts.rootPath, path, { follow: true });
  } catch {
    return null;
  }
}

function firstExisting(k: Kernel, paths: string[]): string {
  for (const p of paths) if (walkOrNull(k, p)) return p;
  return paths[paths.length - 1]!;
}

/** A command name without '/' is looked up in PATH, as a shell would. */
function resolveCommand(k: Kernel, name: string): string {
  if (name.includes('/')) return name;
  for (const dir of DEFAULT_PATH.split(':')) {
    const p = `${dir}/${name}`;
    if (walkOrNull(k, p)) return p;
  }
  return name;
}
