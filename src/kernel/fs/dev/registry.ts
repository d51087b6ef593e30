// The device registry (Linux's cdev/blkdev maps): a device number → the driver that opens
// it. Every file system's device nodes (devtmpfs, tmpfs, ext4, hostfs mknod'd nodes…) open
// the same driver through openDevice.
import { Errno } from '../../errno.js';
import { ENXIO } from '../../abi/errno.js';
import { S_IFBLK, S_IFCHR } from '../../abi/fcntl.js';
import type { File } from '../file.js';
import type { Task } from '../../task/task.js';
import { major, minor } from '../devnums.js';

/** Opens a device; `rdev` is the full device number (for drivers owning a range of minors). */
export type DeviceOpenFn = (flags: number, task: Task | null, rdev: number) => File;

interface Driver { open: DeviceOpenFn; name: string }

/** Minor ANY registers a whole major (like register_chrdev). */
export const ANY_MINOR = -1;

export class DeviceRegistry {
  private readonly chr = new Map<string, Driver>();
  private readonly blk = new Map<string, Driver>();

  private table(type: number): Map<string, Driver> {
    return type === S_IFBLK ? this.blk : this.chr;
  }

  register(type: number, maj: number, min: number, open: DeviceOpenFn, name = `${maj}`): void {
    this.table(type).set(`${maj}:${min}`, { open, name });
  }

  /** The driver for a device number: an exact (major, minor) first, then the whole major. */
  lookup(type: number, rdev: number): Driver | undefined {
    const t = this.table(type);
    return t.get(`${major(rdev)}:${minor(rdev)}`) ?? t.get(`${major(rdev)}:${ANY_MINOR}`);
  }

  open(rdev: number, flags: number, task: Task | null, type = S_IFCHR): File {
    const d = this.lookup(type, rdev);
    if (!d) throw new Errno(ENXIO);
    return d.open(flags, task, rdev);
  }

  /** Majors and names, for /proc/devices. */
  names(type: number): { major: number; name: string }[] {
    const seen = new Map<string, { major: number; name: string }>();
    for (const [key, d] of this.table(type)) {
      const maj = Number(key.split(':')[0]);
      seen.set(`${maj}:${d.name}`, { major: maj, name: d.name });
    }
    return [...seen.values()].sort((a, b) => a.major - b.major);
  }
}

/** The machine's registry. */
export const devices = new DeviceRegistry();

export function registerCharDevice(maj: number, min: number, open: DeviceOpenFn, name?: string): void {
  devices.register(S_IFCHR, maj, min, open, name);
}

export function registerBlockDevice(maj: number, min: number, open: DeviceOpenFn, name?: string): void {
  devices.register(S_IFBLK, maj, min, open, name);
}

/** Opens device node `rdev` of `type` (S_IFCHR or S_IFBLK); ENXIO when no driver has it.
 *  Matches tmpfs's DeviceOpener. */
export function openDevice(rdev: number, flags: number, task: Task | null, type = S_IFCHR): File {
  return devices.open(rdev, flags, task, type);
}
