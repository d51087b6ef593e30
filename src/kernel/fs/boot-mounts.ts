// The file systems a machine boots with: the default machine's root (the host's / read-only
// under a copy-on-write tmpfs), and the system mounts every machine gets.
import type { Kernel } from '../kernel.js';
import type { FileSystem } from './inode.js';
import type { Path } from './path.js';
import { HostFs } from './hostfs/hostfs.js';
import { TmpFs } from './tmpfs/tmpfs.js';
import { OverlayFs } from './overlay/overlayfs.js';
import { ProcFs } from './proc/proc-fs.js';
import { SysFs } from './sys/sysfs.js';
import { createDevtmpfs } from './dev/devtmpfs.js';
import { openDevice } from './dev/registry.js';
import { walk, isDir } from './namei.js';
import { Cred } from '../task/cred.js';
import { DEFAULT_MOUNT_FLAGS } from './mount-table.js';
import { fifoOpener } from './fifo-opener.js';
import { procOptions, sysOptions } from './fs-types.js';
import { blockDevices } from '../block/registry.js';
import { createDevpts } from '../tty/devpts.js';

export function tmpfs(k: Kernel, options?: string): TmpFs {
  return new TmpFs({ options, ramBytes: k.memBytes, deviceOpener: openDevice, fifoOpener });
}

/** The default machine's root: host / read-only, writes kept in memory. */
export function defaultRoot(k: Kernel): { fs: FileSystem; source: string } {
  const fs = new OverlayFs({
    lower: new HostFs('/', true), upper: tmpfs(k), lowerDesc: '/', upperDesc: 'tmpfs',
    deviceOpener: openDevice, fifoOpener,
  });
  return { fs, source: 'overlay' };
}

function at(k: Kernel, path: string): Path | null {
  try {
    const p = walk({ mounts: k.mounts, root: k.mounts.rootPath, cred: new Cred() }, k.mounts.rootPath, path, { follow: true });
    return isDir(p) ? p : null;
  } catch {
    return null;
  }
}

function mountAt(k: Kernel, path: string, fs: FileSystem, source: string, flags: Partial<typeof DEFAULT_MOUNT_FLAGS> = {}): void {
  const p = at(k, path);
  if (!p) {
    k.log.warn(`tuml: cannot mount ${fs.name} on ${path}: no such directory`);
    return;
  }
  k.mounts.mount(fs, source, p, { ...DEFAULT_MOUNT_FLAGS, ...flags });
}

/** /proc, /sys, /dev (+ shm, pts), and for the default machine a private /tmp and /root. */
export function mountSystem(k: Kernel, defaultMachine: boolean): void {
  const sys = { nosuid: true, nodev: true, noexec: true };
  mountAt(k, '/proc', new ProcFs(k, procOptions()), 'proc', sys);
  mountAt(k, '/sys', new SysFs(sysOptions()), 'sysfs', sys);
  const dev = createDevtmpfs({ ramBytes: k.memBytes, nodes: blockDevices.nodes() });
  blockDevices.attachDevfs(dev.root);
  mountAt(k, '/dev', dev, 'devtmpfs', { nosuid: true });
  // A tmpfs like /tmp (FIFOs and sockets work there too).
  mountAt(k, '/dev/shm', tmpfs(k, 'mode=1777'), 'tmpfs', { nosuid: true, nodev: true });
  mountAt(k, '/dev/pts', createDevpts(k), 'devpts', { nosuid: true, noexec: true });
  if (defaultMachine) {
    mountAt(k, '/tmp', tmpfs(k, 'mode=1777'), 'tmpfs', { nosuid: true, nodev: true });
    mountAt(k, '/root', tmpfs(k, 'mode=700'), 'tmpfs');
  }
}
