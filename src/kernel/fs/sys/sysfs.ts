// A minimal sysfs: the directories and attributes common tools look for (CPU topology for
// nproc/lscpu and glibc's get_nprocs, class/net for ip and ifconfig, class/tty, class/block),
// generated when read from what the kernel and its drivers report.
import type { FileSystem, Inode, StatFs, Timespec } from '../inode.js';
import { allocDev } from '../devnums.js';
import { SynthDir, SynthFile, SynthLink, type Children, type SynthFs } from '../proc/nodes.js';
import { addSpec, newDirSpec, specChildren, type DirSpec } from '../proc/static-tree.js';
import { hostCpuCount } from '../../../host/proc-stat.js';

export const SYSFS_MAGIC = 0x62656572;

export interface SysNetDevice { name: string; ifindex: number; mtu: number; address: string; up: boolean; type?: number; flags?: number }
export interface SysBlockDevice { name: string; major: number; minor: number; sectors: number; readOnly: boolean }
export interface SysCharDevice { name: string; major: number; minor: number }

export interface SysFsOptions {
  cpus?: number;
  netDevices?: () => readonly SysNetDevice[];
  blockDevices?: () => readonly SysBlockDevice[];
  ttys?: () => readonly SysCharDevice[];
}

const DEFAULT_TTYS: SysCharDevice[] = [
  { name: 'console', major: 5, minor: 1 }, { name: 'tty', major: 5, minor: 0 },
  { name: 'ptmx', major: 5, minor: 2 }, { name: 'tty0', major: 4, minor: 0 },
];
const MEM_DEVICES: SysCharDevice[] = [
  { name: 'null', major: 1, minor: 3 }, { name: 'zero', major: 1, minor: 5 }, { name: 'full', major: 1, minor: 7 },
  { name: 'random', major: 1, minor: 8 }, { name: 'urandom', major: 1, minor: 9 }, { name: 'kmsg', major: 1, minor: 11 },
];
const LO: SysNetDevice = { name: 'lo', ifindex: 1, mtu: 65536, address: '00:00:00:00:00:00', up: true, type: 772, flags: 0x9 };

export class SysFs implements FileSystem, SynthFs {
  readonly name = 'sysfs';
  readonly dev = allocDev();
  readonly readOnly = false;
  readonly root: Inode;
  readonly mountTime: Timespec;
  private readonly inos = new Map<string, number>();
  private nextIno = 2;
  private readonly tree: DirSpec = newDirSpec(0o755);
  readonly cpus: number;

  constructor(private readonly opts: SysFsOptions = {}) {
    const now = Date.now();
    this.mountTime = { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 };
    this.inos.set('', 1);
    this.cpus = opts.cpus ?? hostCpuCount();
    this.buildStatic();
    this.root = new SynthDir(this, '', 0o555, () => this.rootChildren());
  }

  inoFor(key: string): number {
    let ino = this.inos.get(key);
    if (ino === undefined) this.inos.set(key, (ino = this.nextIno++));
    return ino;
  }
  statfs(): StatFs {
    return { type: SYSFS_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0x20 };
  }
  mountOptions(): string {
    return 'rw';
  }

  /** Adds an attribute file ("kernel/foo") for other subsystems. */
  registerFile(path: string, gen: () => string): void {
    addSpec(this.tree, path, { kind: 'file', mode: 0o444, gen });
  }

  private buildStatic(): void {
    const ro = (path: string, text: () => string) => addSpec(this.tree, path, { kind: 'file', mode: 0o444, gen: () => text() + '\n' });
    const dir = (path: string) => addSpec(this.tree, path, newDirSpec(0o755));
    for (const d of ['bus', 'dev/block', 'dev/char', 'firmware', 'fs/cgroup', 'kernel/security', 'kernel/debug',
      'kernel/tracing', 'module', 'power', 'hypervisor']) dir(d);
    ro('kernel/uevent_seqnum', () => '0');
    ro('kernel/mm/transparent_hugepage/enabled', () => 'always [madvise] never');
    const n = this.cpus;
    const range = n === 1 ? '0' : `0-${n - 1}`;
    ro('devices/system/cpu/online', () => range);
    ro('devices/system/cpu/possible', () => range);
    ro('devices/system/cpu/present', () => range);
    ro('devices/system/cpu/offline', () => '');
    ro('devices/system/cpu/kernel_max', () => '8191');
    for (let i = 0; i < n; i++) {
      if (i > 0) ro(`devices/system/cpu/cpu${i}/online`, () => '1');
      ro(`devices/system/cpu/cpu${i}/topology/core_id`, () => String(i));
      ro(`devices/system/cpu/cpu${i}/topology/physical_package_id`, () => '0');
      ro(`devices/system/cpu/cpu${i}/topology/thread_siblings_list`, () => String(i));
      ro(`devices/system/cpu/cpu${i}/topology/core_siblings_list`, () => range);
    }
    ro('devices/system/node/online', () => '0');
  }

  private file(key: string, text: () => string): () => Inode {
    return () => new SynthFile(this, key, 0o444, () => text() + '\n');
  }
  private dir(key: string, kids: () => Children): () => Inode {
    return () => new SynthDir(this, key, 0o755, kids);
  }
  private link(key: string, target: string): () => Inode {
    return () => new SynthLink(this, key, () => target);
  }

  private nets(): readonly SysNetDevice[] {
    return this.opts.netDevices?.() ?? [LO];
  }
  private blocks(): readonly SysBlockDevice[] {
    return this.opts.blockDevices?.() ?? [];
  }
  private ttys(): readonly SysCharDevice[] {
    return this.opts.ttys?.() ?? DEFAULT_TTYS;
  }

  /** /sys/devices/virtual/<class>/<name>/ with its attributes. */
  private virtualDevice(cls: string, name: string, attrs: [string, () => string][]): () => Inode {
    const key = `/devices/virtual/${cls}/${name}`;
    return this.dir(key, () => [
      ...attrs.map(([a, text]) => [a, this.file(`${key}/${a}`, text)] as [string, () => Inode]),
      ['subsystem', this.link(`${key}/subsystem`, `../../../../class/${cls}`)],
    ]);
  }

  private netAttrs(d: SysNetDevice): [string, () => string][] {
    return [
      ['address', () => d.address], ['addr_len', () => '6'], ['broadcast', () => (d.name === 'lo' ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff')],
      ['carrier', () => (d.up ? '1' : '0')], ['flags', () => `0x${(d.flags ?? (d.up ? 0x1003 : 0x1002)).toString(16)}`],
      ['ifindex', () => String(d.ifindex)], ['mtu', () => String(d.mtu)], ['operstate', () => (d.name === 'lo' ? 'unknown' : d.up ? 'up' : 'down')],
      ['type', () => String(d.type ?? 1)], ['uevent', () => `INTERFACE=${d.name}\nIFINDEX=${d.ifindex}`],
    ];
  }
  private charAttrs(d: SysCharDevice): [string, () => string][] {
    return [['dev', () => `${d.major}:${d.minor}`], ['uevent', () => `MAJOR=${d.major}\nMINOR=${d.minor}\nDEVNAME=${d.name}`]];
  }
  private blockAttrs(d: SysBlockDevice): [string, () => string][] {
    return [
      ['dev', () => `${d.major}:${d.minor}`], ['size', () => String(d.sectors)], ['ro', () => (d.readOnly ? '1' : '0')],
      ['removable', () => '0'], ['uevent', () => `MAJOR=${d.major}\nMINOR=${d.minor}\nDEVNAME=${d.name}\nDEVTYPE=disk`],
    ];
  }

  private rootChildren(): Children {
    const classDir = <T extends { name: string }>(cls: string, list: () => readonly T[]) =>
      this.dir(`/class/${cls}`, () => list().map((d) => [d.name, this.link(`/class/${cls}/${d.name}`, `../../devices/virtual/${cls}/${d.name}`)] as [string, () => Inode]));
    const virtual = this.dir('/devices/virtual', () => [
      ['block', this.dir('/devices/virtual/block', () => this.blocks().map((d) => [d.name, this.virtualDevice('block', d.name, this.blockAttrs(d))] as [string, () => Inode]))],
      ['mem', this.dir('/devices/virtual/mem', () => MEM_DEVICES.map((d) => [d.name, this.virtualDevice('mem', d.name, this.charAttrs(d))] as [string, () => Inode]))],
      ['net', this.dir('/devices/virtual/net', () => this.nets().map((d) => [d.name, this.virtualDevice('net', d.name, this.netAttrs(d))] as [string, () => Inode]))],
      ['tty', this.dir('/devices/virtual/tty', () => this.ttys().map((d) => [d.name, this.virtualDevice('tty', d.name, this.charAttrs(d))] as [string, () => Inode]))],
    ]);
    const staticDevices = this.tree.entries.get('devices');
    const devices = this.dir('/devices', () => [
      ...(staticDevices && staticDevices.kind === 'dir' ? specChildren(this, '/devices', staticDevices) : []),
      ['virtual', virtual],
    ]);
    const dynamic: Children = [
      ['block', this.dir('/block', () => this.blocks().map((d) => [d.name, this.link(`/block/${d.name}`, `../devices/virtual/block/${d.name}`)] as [string, () => Inode]))],
      ['class', this.dir('/class', () => [
        ['block', classDir('block', () => this.blocks())],
        ['mem', classDir('mem', () => MEM_DEVICES)],
        ['misc', this.dir('/class/misc', () => [])],
        ['net', classDir('net', () => this.nets())],
        ['tty', classDir('tty', () => this.ttys())],
      ])],
      ['devices', devices],
    ];
    const fixed = specChildren(this, '', this.tree).filter(([n]) => n !== 'devices');
    return [...dynamic, ...fixed].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
