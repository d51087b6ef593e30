// ubd hot-plug, the kernel halves of ubd_kern.c's mconsole device (ubd_config,
// ubd_get_config, ubd_remove): which units are configured and with which files, adding a disk
// at run time (its /dev nodes, /proc/partitions and /sys/block follow the registry), and
// removing one that nobody has open or mounted. Reply texts and errno values are UML's.
import { EBUSY, EINVAL, ENODEV, ENOENT } from '../abi/errno.js';
import { parseUbdSetup, openUbd, UbdConfigError, MAX_DEV, type UbdConfig } from '../../drivers/ubd/ubd-config.js';
import { CowError } from '../../drivers/ubd/cow-header.js';
import { errnoOf } from '../../drivers/ubd/host-file.js';
import { addUbdDisk, ubdName } from './ubd.js';
import { blockDevices } from './registry.js';
import type { BlockDevice } from './block-device.js';
import type { Kernel } from '../kernel.js';

export interface HotplugReply { err: number; text: string }

/** ubd_devs[n].file != NULL: units configured at boot or by mconsole, with their switch. */
const units = new Map<number, UbdConfig>();

/** Boot configured `c` (whether or not its disk came up, as UML keeps the file name). */
export function rememberUbdUnit(c: UbdConfig): void {
  units.set(c.index, c);
}

/** ubd_setup_common's failures: which errno UML returns with each reason. */
function setupErrno(reason: string): number {
  if (reason === 'Device number out of range') return 1;
  if (reason === 'Device is already configured') return -EBUSY;
  return -EINVAL;
}

/** ubd_config: `spec` is what follows "ubd" ("1=/img", "1r=cow,backing"). */
export function ubdConfig(spec: string, log: (line: string) => void): HotplugReply {
  let c: UbdConfig | 'sync' | null;
  try {
    c = parseUbdSetup(spec, new Set(units.keys()));
  } catch (e) {
    if (e instanceof UbdConfigError) return { err: setupErrno(e.reason), text: e.reason };
    throw e;
  }
  // `ubd=sync` and the old fake-major form change nothing here (UML answers "" too).
  if (c === null || c === 'sync') return { err: 0, text: '' };
  try {
    const { backend } = openUbd(c, log);
    try {
      addUbdDisk(c.index, backend, { readOnly: c.readOnly, noTrim: c.noTrim, serial: c.serial });
    } catch (e) {
      backend.close();
      throw e;
    }
  } catch (e) {
    // ubd_add: the file could not be sized (UML stats it here and opens it on first use).
    const errno = e instanceof CowError ? e.errno : e instanceof UbdConfigError ? ENOENT : errnoOf(e);
    return { err: -errno, text: "Couldn't determine size of device's file" };
  }
  units.set(c.index, c);
  return { err: 0, text: '' };
}

/** ubd_get_config: the file (and ",backing"), "" for an unconfigured unit. */
export function ubdGetConfig(n: number): { text: string } | { error: string } {
  if (n < 0 || n >= MAX_DEV) return { error: 'ubd_get_config : device number out of range' };
  const c = units.get(n);
  if (!c) return { text: '' };
  return { text: (c.file ?? '') + (c.backingFile !== null ? `,${c.backingFile}` : '') };
}

/** disk_openers(): a /dev node open or a file system mounted on the disk or a partition. */
function inUse(disk: BlockDevice): boolean {
  return [disk, ...disk.partitions].some((d) => d.openCount > 0 || d.holder !== null);
}

/** The nodes' cached names go from every mount of devtmpfs (the next lookup misses). */
function dropDentries(k: Kernel, names: string[]): void {
  const dir = blockDevices.devfsDir;
  if (!dir || !k.mounts) return;
  for (const m of k.mounts.all()) {
    if (m.root.inode === dir) for (const n of names) m.root.drop(n);
  }
}

/** ubd_remove: 0, -ENODEV (not configured) or -EBUSY (open or mounted). */
export function ubdRemove(k: Kernel, n: number): number {
  if (!units.has(n)) return -ENODEV;
  const disk = blockDevices.byName(ubdName(n));
  if (disk) {
    if (inUse(disk)) return -EBUSY;
    blockDevices.unplugDisk(disk);
    dropDentries(k, [disk, ...disk.partitions].map((d) => d.name));
    try {
      disk.flush();
    } finally {
      disk.store.close();
    }
  }
  units.delete(n);
  return 0;
}
