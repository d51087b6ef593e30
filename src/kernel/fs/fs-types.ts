// The file system types mount(2) knows (register_filesystem's list): each makes a new
// instance from a source, MS_* flags and the option string. Block file systems claim their
// device here; hostfs is confined to the `hostfs=` directory.
import * as nodePath from 'node:path';
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { FileSystem } from './inode.js';
import { Errno } from '../errno.js';
import { EINVAL, ENODEV, ENOTBLK, ENXIO, EACCES } from '../abi/errno.js';
import { AT_FDCWD, S_IFBLK, S_IFMT } from '../abi/fcntl.js';
import { HostFs } from './hostfs/hostfs.js';
import { ProcFs } from './proc/proc-fs.js';
import { SysFs } from './sys/sysfs.js';
import { createDevtmpfs } from './dev/devtmpfs.js';
import { openDevice } from './dev/registry.js';
import { fifoOpener } from './fifo-opener.js';
import { tmpfs } from './boot-mounts.js';
import { Ext4Fs, type ExtType } from './ext4/ext4-fs.js';
import { blockDevices } from '../block/registry.js';
import type { BlockDevice } from '../block/block-device.js';
import * as vfs from './vfs.js';

export const MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16, MS_REMOUNT = 32,
  MS_MANDLOCK = 64, MS_DIRSYNC = 128, MS_NOSYMFOLLOW = 256, MS_NOATIME = 1024, MS_NODIRATIME = 2048,
  MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_SILENT = 32768, MS_POSIXACL = 1 << 16,
  MS_UNBINDABLE = 1 << 17, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20,
  MS_RELATIME = 1 << 21, MS_KERNMOUNT = 1 << 22, MS_I_VERSION = 1 << 23, MS_STRICTATIME = 1 << 24,
  MS_LAZYTIME = 1 << 25;

export interface MountSource {
  kernel: Kernel;
  /** Who mounts (device paths are walked in its name space); null at boot. */
  task: Task | null;
  source: string;
  flags: number;
  data: string;
}

export interface NewMount { fs: FileSystem; source: string }

type FsFactory = (m: MountSource) => NewMount;

// ---- hostfs confinement (`hostfs=<dir>[,append]`) ----

let hostfsRoot: string | null = null;
let hostfsAppend = false;

/** Set at boot from the command line. */
export function setHostfsConfig(root: string | null, append: boolean): void {
  hostfsRoot = root;
  hostfsAppend = append;
}

/** UML's hostfs_fill_super: the root switch's dir (or /) joined with the mount data. */
export function hostfsPath(data: string): string {
  const base = hostfsRoot ?? '/';
  const req = data.split(',').find((o) => o.startsWith('/')) ?? '';
  const full = nodePath.resolve(base, '.' + nodePath.posix.normalize('/' + req));
  const rel = nodePath.relative(nodePath.resolve(base), full);
  if (rel.startsWith('..') || nodePath.isAbsolute(rel)) throw new Errno(EACCES);
  return full;
}

// ---- ext2/3/4 ----

const EXT2_INCOMPAT = 0x2 | 0x10; // filetype, meta_bg
const EXT3_INCOMPAT = EXT2_INCOMPAT | 0x4; // + needs_recovery
const EXT23_RO_COMPAT = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
const COMPAT_HAS_JOURNAL = 0x4;

/** Whether Linux would mount the volume as `type` (ext2/ext3 refuse ext4-only features). */
function checkExtType(dev: BlockDevice, type: ExtType): void {
  if (dev.size < 2048) throw new Errno(EINVAL);
  const sb = dev.read(1024, 1024);
  if (sb.readUInt16LE(0x38) !== 0xef53) throw new Errno(EINVAL, `VFS: Can't find ${type} filesystem`);
  if (type === 'ext4') return;
  const compat = sb.readUInt32LE(0x5c), incompat = sb.readUInt32LE(0x60), ro = sb.readUInt32LE(0x64);
  const allowed = type === 'ext2' ? EXT2_INCOMPAT : EXT3_INCOMPAT;
  if ((incompat & ~allowed) || (ro & ~EXT23_RO_COMPAT)) throw new Errno(EINVAL, `couldn't mount as ${type} due to feature incompatibilities`);
  if (type === 'ext3' && !(compat & COMPAT_HAS_JOURNAL)) throw new Errno(EINVAL, "couldn't mount as ext3 due to feature incompatibilities");
}

let mountSeq = 0;

/** Mounts an ext file system from a block device (type null: as its features say). */
export function mountExt(k: Kernel, dev: BlockDevice, type: ExtType | null, readOnly: boolean): Ext4Fs {
  if (type) checkExtType(dev, type);
  if (dev.readOnly && !readOnly) {
    k.log.info(`EXT4-fs (${dev.name}): write access unavailable, mounting read-only`);
    readOnly = true;
  }
  const holder = `ext4:${dev.name}:${++mountSeq}`; // one claim owner per mount
  const store = dev.claim(holder, readOnly);
  try {
    const fs = Ext4Fs.mount({
      store, readOnly, dev: dev.rdev, type: type ?? undefined, deviceOpener: openDevice, fifoOpener,
      reopen: (ro) => dev.claim(holder, ro),
    });
    k.log.info(`EXT4-fs (${dev.name}): mounted filesystem ${fs.volume.sb.uuid.toString('hex')} ${readOnly ? 'ro' : 'r/w'}. Quota mode: none.`);
    return fs;
  } catch (e) {
    store.close();
    if (e instanceof Errno) k.log.warn(`EXT4-fs (${dev.name}): ${e.message}`);
    throw e;
  }
}

/** The block device a mount source names (a /dev node in the mounter's name space). */
function sourceDevice(m: MountSource): BlockDevice {
  if (!m.task) throw new Errno(ENOTBLK);
  const p = vfs.lookupAt(m.task, AT_FDCWD, m.source, true);
  const st = p.dentry.inode.getattr();
  if ((st.mode & S_IFMT) !== S_IFBLK) throw new Errno(ENOTBLK);
  if (p.mount.flags.nodev) throw new Errno(EACCES);
  const dev = blockDevices.byRdev(st.rdev);
  if (!dev) throw new Errno(ENXIO);
  return dev;
}

const extFactory = (type: ExtType): FsFactory => (m) => {
  if (!m.source) throw new Errno(ENOTBLK);
  return { fs: mountExt(m.kernel, sourceDevice(m), type, (m.flags & MS_RDONLY) !== 0), source: m.source };
};

const factories = new Map<string, FsFactory>([
  ['ext2', extFactory('ext2')],
  ['ext3', extFactory('ext3')],
  ['ext4', extFactory('ext4')],
  ['tmpfs', (m) => ({ fs: tmpfs(m.kernel, m.data), source: m.source || 'tmpfs' })],
  ['ramfs', (m) => ({ fs: tmpfs(m.kernel, m.data), source: m.source || 'ramfs' })],
  ['proc', (m) => ({ fs: new ProcFs(m.kernel, procOptions()), source: m.source || 'proc' })],
  ['sysfs', (m) => ({ fs: new SysFs(sysOptions()), source: m.source || 'sysfs' })],
  ['devtmpfs', (m) => ({ fs: createDevtmpfs({ ramBytes: m.kernel.memBytes, nodes: blockDevices.nodes() }), source: m.source || 'devtmpfs' })],
  ['devpts', (m) => ({ fs: createDevpts(m.kernel), source: m.source || 'devpts' })],
  ['hostfs', (m) => ({ fs: new HostFs(hostfsPath(m.data), (m.flags & MS_RDONLY) !== 0, hostfsAppend), source: m.source || 'none' })],
]);

import { sysNetDevices } from '../net/sys-net.js';
import { createDevpts } from '../tty/devpts.js';

/** /proc's view of the block layer. */

export function procOptions(): ConstructorParameters<typeof ProcFs>[1] {
  return { partitions: () => blockDevices.partitions() };
}

/** /sys's view of the block layer. */
export function sysOptions(): ConstructorParameters<typeof SysFs>[0] {
  return { blockDevices: () => blockDevices.sysBlock(), netDevices: () => sysNetDevices() ?? [{ name: 'lo', ifindex: 1, mtu: 65536, address: '00:00:00:00:00:00', up: true, type: 772, flags: 0x9 }] };
}

/** A new file system of `type` (ENODEV for an unknown type). */
export function makeFileSystem(type: string, m: MountSource): NewMount {
  const f = factories.get(type);
  if (!f) throw new Errno(ENODEV);
  return f(m);
}

export function knownFsType(type: string): boolean {
  return factories.has(type);
}
