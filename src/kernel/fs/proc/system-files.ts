// The machine-wide text files of /proc: version, cmdline, filesystems, partitions, swaps,
// devices, cpuinfo.
import { UTS_RELEASE, UTS_VERSION } from '../../syscalls/sys_info.js';
import { hostCpuInfo } from '../../../host/proc-stat.js';

export function versionText(): string {
  return `Linux version ${UTS_RELEASE} (tuml@tuml) (TypeScript on Node.js ${process.version}) ${UTS_VERSION}\n`;
}

export interface FsType { name: string; nodev: boolean }

/** The file systems tuml's kernel can mount, as /proc/filesystems lists them. */
export const DEFAULT_FILESYSTEMS: FsType[] = [
  { name: 'sysfs', nodev: true }, { name: 'tmpfs', nodev: true }, { name: 'proc', nodev: true },
  { name: 'devtmpfs', nodev: true }, { name: 'sockfs', nodev: true }, { name: 'pipefs', nodev: true },
  { name: 'ramfs', nodev: true }, { name: 'devpts', nodev: true }, { name: 'ext3', nodev: false },
  { name: 'ext2', nodev: false }, { name: 'ext4', nodev: false }, { name: 'hostfs', nodev: true },
  { name: 'overlay', nodev: true },
];

export function filesystemsText(list: readonly FsType[]): string {
  return list.map((f) => `${f.nodev ? 'nodev' : ''}\t${f.name}\n`).join('');
}

export interface Partition { major: number; minor: number; blocks: number; name: string }

export function partitionsText(list: readonly Partition[]): string {
  return 'major minor  #blocks  name\n\n' +
    list.map((p) => `${String(p.major).padStart(4)}  ${String(p.minor).padStart(7)} ${String(p.blocks).padStart(10)} ${p.name}\n`).join('');
}

export function swapsText(): string {
  return 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
}

export interface DeviceName { major: number; name: string }

export function devicesText(chr: readonly DeviceName[], blk: readonly DeviceName[]): string {
  const fmt = (l: readonly DeviceName[]) => [...l].sort((a, b) => a.major - b.major)
    .map((d) => `${String(d.major).padStart(3)} ${d.name}\n`).join('');
  return `Character devices:\n${fmt(chr)}\nBlock devices:\n${fmt(blk)}`;
}

/** tuml's tasks run on the host's CPUs, so their description is the host's. */
export function cpuinfoText(): string {
  return hostCpuInfo();
}
