// The file systems the default machine is built from, and the system mounts every machine
// gets (/proc, /dev, /sys, /tmp …). Subsystems register here as they become available.
import type { Kernel } from '../kernel.js';
import type { FileSystem } from './inode.js';
import { HostFs } from './hostfs/hostfs.js';

export interface BootMounts {
  /** The default machine's root: the host's / read-only (under a COW layer when available). */
  defaultRoot(k: Kernel): { fs: FileSystem; source: string };
  /** Mounts /proc, /dev, /sys, /tmp … on the booted root. */
  mountSystem(k: Kernel): void;
}

export const bootMounts: BootMounts = {
  defaultRoot: () => ({ fs: new HostFs('/', true), source: '/dev/root' }),
  mountSystem: () => {},
};
