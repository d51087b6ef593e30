// Boot-time block setup: the ubd switches become disks (their host files opened here, in
// the kernel thread, synchronously), the root device is mounted for `root=/dev/ubd…`, and
// at halt every ext file system is written back and every disk closed.
import type { Kernel } from '../kernel.js';
import type { MachineConfig } from '../../cli/cmdline.js';
import type { FileSystem } from '../fs/inode.js';
import { Errno } from '../errno.js';
import { parseUbdSwitches, openUbd, udbWarnings } from '../../drivers/ubd/ubd-config.js';
import { addUbdDisk, resolveBlockDevice, ubdName } from './ubd.js';
import { blockDevices } from './registry.js';
import { mountExt, setHostfsConfig } from '../fs/fs-types.js';
import { unmountAllExt4, type ExtType } from '../fs/ext4/ext4-fs.js';
import { KERN_ERR } from '../log.js';
import { setupLoopDevices } from './loop.js';
import { rememberUbdUnit } from './hotplug.js';

/** A boot failure Linux would panic on: printed as one line, no stack. */
export class PanicError extends Error {
  constructor(message: string) {
    super(message);
    this.stack = message;
  }
}

export function setupBlockDevices(k: Kernel, cfg: MachineConfig): void {
  setHostfsConfig(cfg.hostfs, cfg.hostfsAppend);
  setupLoopDevices();
  for (const w of udbWarnings(cfg.devices)) k.log.warn(w);
  const { configs, errors } = parseUbdSwitches(cfg.devices);
  for (const e of errors) k.log.printk(KERN_ERR, e.message);
  for (const c of configs) {
    rememberUbdUnit(c);
    try {
      const { backend } = openUbd(c, (line) => k.log.info(line));
      addUbdDisk(c.index, backend, { readOnly: c.readOnly, noTrim: c.noTrim, serial: c.serial });
    } catch (e) {
      k.log.printk(KERN_ERR, `${ubdName(c.index)}: ${(e as Error).message}`);
      k.log.printk(KERN_ERR, `Failed to initialize ubd device ${c.index} :Couldn't determine size of device's file`);
    }
  }
  k.haltHooks.push(() => {
    unmountAllExt4((m) => k.log.warn(m));
    for (const d of blockDevices.all()) {
      if (d.isPartition) continue;
      try {
        d.flush();
        d.store.close();
      } catch (e) {
        k.log.warn(`${d.name}: ${(e as Error).message}`);
      }
    }
  });
}

const EXT_TYPES = new Set(['ext2', 'ext3', 'ext4']);

/** The root file system on `root=` (a ubd disk or partition). */
export function mountRootDevice(k: Kernel, cfg: MachineConfig): { fs: FileSystem; source: string } {
  const spec = cfg.root!;
  const dev = resolveBlockDevice(spec);
  const name = spec.replace(/^\/dev\//, '');
  if (!dev) {
    k.log.printk(KERN_ERR, `VFS: Cannot open root device "${name}" or unknown-block(0,0): error -6`);
    k.log.printk(KERN_ERR, 'Please append a correct "root=" boot option; here are the available partitions:');
    for (const d of blockDevices.all()) k.log.printk(KERN_ERR, `${(d.major * 256 + d.minor).toString(16).padStart(4, '0')} ${String(d.size >> 10).padStart(12)} ${d.name}`);
    throw new PanicError('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
  }
  const type = cfg.rootfstype;
  if (type && !EXT_TYPES.has(type)) throw new PanicError(`Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(${dev.major},${dev.minor}) (rootfstype=${type} is not a block file system tuml knows)`);
  try {
    const fs = mountExt(k, dev, (type as ExtType | null) ?? null, cfg.readOnly);
    return { fs, source: '/dev/root' };
  } catch (e) {
    const why = e instanceof Errno ? e.message : String(e);
    k.log.printk(KERN_ERR, `VFS: Cannot mount root device "${dev.name}": ${why}`);
    throw new PanicError(`Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(${dev.major},${dev.minor})`);
  }
}
