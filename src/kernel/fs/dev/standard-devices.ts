// The devices every machine has, registered with the device registry: memory devices,
// the kernel log, terminals. ptmx waits for the pty layer.
import { Errno } from '../../errno.js';
import { ENODEV, ENXIO } from '../../abi/errno.js';
import { S_IFCHR } from '../../abi/fcntl.js';
import { TtyFile } from '../../tty/tty.js';
import type { DeviceRegistry } from './registry.js';
import { makedev } from '../devnums.js';
import { NullFile, ZeroFile, FullFile, RandomFile } from './mem-devices.js';
import { KmsgFile } from './kmsg.js';

export const MEM_MAJOR = 1, TTY_MAJOR = 4, TTYAUX_MAJOR = 5;

export interface DeviceNode { name: string; major: number; minor: number; mode: number; gid?: number }

/** The nodes devtmpfs creates for them (modes as Linux's devtmpfs and udev rules leave them). */
export const STANDARD_NODES: DeviceNode[] = [
  { name: 'null', major: 1, minor: 3, mode: 0o666 },
  { name: 'zero', major: 1, minor: 5, mode: 0o666 },
  { name: 'full', major: 1, minor: 7, mode: 0o666 },
  { name: 'random', major: 1, minor: 8, mode: 0o666 },
  { name: 'urandom', major: 1, minor: 9, mode: 0o666 },
  { name: 'kmsg', major: 1, minor: 11, mode: 0o644 },
  { name: 'tty0', major: 4, minor: 0, mode: 0o620, gid: 5 },
  { name: 'tty', major: 5, minor: 0, mode: 0o666, gid: 5 },
  { name: 'console', major: 5, minor: 1, mode: 0o600 },
  { name: 'ptmx', major: 5, minor: 2, mode: 0o666, gid: 5 },
];

export function registerStandardDevices(reg: DeviceRegistry): void {
  const chr = (maj: number, min: number, name: string, open: Parameters<DeviceRegistry['register']>[3]) =>
    reg.register(S_IFCHR, maj, min, open, name);
  chr(1, 3, 'mem', (flags, _t, rdev) => new NullFile(flags, rdev));
  chr(1, 5, 'mem', (flags, _t, rdev) => new ZeroFile(flags, rdev));
  chr(1, 7, 'mem', (flags, _t, rdev) => new FullFile(flags, rdev));
  chr(1, 8, 'mem', (flags, _t, rdev) => new RandomFile(flags, rdev));
  chr(1, 9, 'mem', (flags, _t, rdev) => new RandomFile(flags, rdev));
  chr(1, 11, 'mem', (flags, t, rdev) => {
    if (!t) throw new Errno(ENXIO);
    return new KmsgFile(flags, rdev, t.kernel.log);
  });
  // /dev/tty: the opener's controlling terminal.
  chr(5, 0, '/dev/tty', (flags, t) => {
    const tty = t?.kernel.console?.controllingTty(t) ?? null;
    if (!tty) throw new Errno(ENXIO);
    return new TtyFile(tty, flags);
  });
  const console = (flags: number, t: Parameters<Parameters<DeviceRegistry['register']>[3]>[1]) => {
    const c = t?.kernel.console;
    if (!c) throw new Errno(ENODEV);
    return c.openConsole(flags);
  };
  chr(5, 1, '/dev/console', console);
  chr(4, 0, 'tty', console);
  chr(5, 2, '/dev/ptmx', () => {
    throw new Errno(ENODEV); // the pty layer registers itself here when it lands
  });
}

export function nodeRdev(n: DeviceNode): number {
  return makedev(n.major, n.minor);
}
