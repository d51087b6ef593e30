// procfs: the kernel's view of its processes and itself as files (fs/proc). Every file is
// generated from the Kernel object when it is opened; nothing is stored but a few settings.
import { Errno } from '../../errno.js';
import { ENOENT } from '../../abi/errno.js';
import type { FileSystem, Inode, StatFs, Timespec } from '../inode.js';
import { allocDev } from '../devnums.js';
import type { ProcKernel } from './kernel-view.js';
import { SynthDir, SynthFile, SynthLink, type Children, type Generator, type SynthFs, type Writer } from './nodes.js';
import { pidDir } from './pid-dir.js';
import { meminfoText } from './meminfo.js';
import { vmstatText } from './vmstat.js';
import { CpuAccounting, statText, uptimeText, loadavgText } from './cpu-times.js';
import {
  versionText, filesystemsText, partitionsText, swapsText, devicesText, cpuinfoText, DEFAULT_FILESYSTEMS,
  type FsType, type Partition, type DeviceName,
} from './system-files.js';
import { addSpec, newDirSpec, specChildren, type DirSpec } from './static-tree.js';
import { addSysctls } from './sys-kernel.js';

export const PROC_SUPER_MAGIC = 0x9fa0;
export const PROC_ROOT_INO = 1;

export interface ProcFsOptions {
  /** /proc/filesystems (default: what tuml's kernel mounts). */
  filesystems?: () => readonly FsType[];
  /** /proc/partitions (the block devices, e.g. ubda). */
  partitions?: () => readonly Partition[];
  /** /proc/devices. */
  charDevices?: () => readonly DeviceName[];
  blockDevices?: () => readonly DeviceName[];
}

const DEFAULT_CHAR_DEVICES: DeviceName[] = [
  { major: 1, name: 'mem' }, { major: 4, name: '/dev/vc/0' }, { major: 4, name: 'tty' },
  { major: 5, name: '/dev/tty' }, { major: 5, name: '/dev/console' }, { major: 5, name: '/dev/ptmx' },
  { major: 136, name: 'pts' },
];
const DEFAULT_BLOCK_DEVICES: DeviceName[] = [{ major: 98, name: 'ubd' }];

/** Subsystems that add files to every /proc instance (e.g. the network stack's /proc/net). */
export const procFsInitHooks: ((fs: ProcFs) => void)[] = [];

export class ProcFs implements FileSystem, SynthFs {
  readonly name = 'proc';
  readonly dev = allocDev();
  readonly readOnly = false;
  readonly root: Inode;
  readonly mountTime: Timespec;
  readonly cpu: CpuAccounting;
  private readonly inos = new Map<string, number>();
  private nextIno = PROC_ROOT_INO + 1;
  /** Fixed entries: /proc/sys and what other subsystems register. */
  private readonly tree: DirSpec = newDirSpec();

  constructor(readonly kernel: ProcKernel, private readonly opts: ProcFsOptions = {}) {
    const now = Date.now();
    this.mountTime = { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 };
    this.inos.set('', PROC_ROOT_INO);
    this.cpu = new CpuAccounting(kernel);
    addSysctls(this.tree, kernel);
    this.root = new SynthDir(this, '', 0o555, () => this.rootChildren(), (name) => this.hiddenPid(name));
    for (const h of procFsInitHooks) h(this);
  }

  inoFor(key: string): number {
    let ino = this.inos.get(key);
    if (ino === undefined) this.inos.set(key, (ino = this.nextIno++));
    return ino;
  }

  statfs(): StatFs {
    return { type: PROC_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0x20 };
  }
  mountOptions(): string {
    return 'rw';
  }

  /** Adds a file at `path` under /proc ("net/dev", "exitcode"), for other subsystems. */
  registerFile(path: string, gen: Generator, write?: Writer, mode = write ? 0o644 : 0o444): void {
    addSpec(this.tree, path, { kind: 'file', gen, write, mode });
  }
  /** Adds a symlink under /proc ("net" → "self/net"). */
  registerLink(path: string, target: string): void {
    addSpec(this.tree, path, { kind: 'link', target });
  }

  private file(name: string, gen: Generator, mode = 0o444): [string, () => Inode] {
    return [name, () => new SynthFile(this, `/${name}`, mode, gen)];
  }

  private rootChildren(): Children {
    const k = this.kernel;
    const o = this.opts;
    const pids: Children = [...k.groups.keys()].sort((a, b) => a - b).map((pid) =>
      [String(pid), () => pidDir(this, k, k.groups.get(pid)!, null, `/${pid}`)] as [string, () => Inode]);
    const fixed: Children = [
      this.file('cmdline', () => k.cmdline + '\n'),
      this.file('cpuinfo', () => cpuinfoText()),
      this.file('devices', () => devicesText(o.charDevices?.() ?? DEFAULT_CHAR_DEVICES, o.blockDevices?.() ?? DEFAULT_BLOCK_DEVICES)),
      this.file('filesystems', () => filesystemsText(o.filesystems?.() ?? DEFAULT_FILESYSTEMS)),
      this.file('loadavg', (r) => loadavgText(this.cpu, r)),
      this.file('meminfo', () => meminfoText(k)),
      ['mounts', () => new SynthLink(this, '/mounts', () => 'self/mounts')],
      this.file('partitions', () => partitionsText(o.partitions?.() ?? [])),
      ['self', () => new SynthLink(this, '/self', (r) => {
        if (!r) throw new Errno(ENOENT);
        return String(r.group.tgid);
      })],
      this.file('stat', (r) => statText(k, this.cpu, r)),
      this.file('swaps', () => swapsText()),
      ['thread-self', () => new SynthLink(this, '/thread-self', (r) => {
        if (!r) throw new Errno(ENOENT);
        return `${r.group.tgid}/task/${r.tid}`;
      })],
      this.file('uptime', (r) => uptimeText(this.cpu, r)),
      this.file('version', () => versionText()),
      this.file('vmstat', () => vmstatText(k)),
      this.file('diskstats', () => ''),
      ...specChildren(this, '', this.tree),
    ];
    fixed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return [...fixed, ...pids];
  }

  /** /proc/<tid> of a thread that is not a process leader: reachable, not listed (as Linux). */
  private hiddenPid(name: string): Inode | null {
    if (!/^[1-9]\d*$/.test(name)) return null;
    const t = this.kernel.byTid.get(Number(name));
    if (!t) return null;
    return pidDir(this, this.kernel, t.group, null, `/${name}`);
  }
}

