// devtmpfs: /dev as a tmpfs whose device nodes open drivers through the device registry,
// populated with the standard nodes, the /proc/self/fd links, and shm/ and pts/.
import { S_IFCHR } from '../../abi/fcntl.js';
import { Cred } from '../../task/cred.js';
import { TmpFs } from '../tmpfs/tmpfs.js';
import type { Inode } from '../inode.js';
import { openDevice, devices } from './registry.js';
import { STANDARD_NODES, registerStandardDevices, nodeRdev, type DeviceNode } from './standard-devices.js';

let standardRegistered = false;

export interface DevtmpfsParams {
  /** The machine's RAM (tmpfs size defaults follow it). */
  ramBytes?: number;
  /** Extra nodes (ubda, ttyS0, …) from drivers. */
  nodes?: DeviceNode[];
}

const LINKS: [string, string][] = [
  ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'], ['core', '/proc/kcore'],
];

/** A new devtmpfs, ready to mount on /dev. The standard drivers are registered on first use. */
export function createDevtmpfs(p: DevtmpfsParams = {}): TmpFs {
  if (!standardRegistered) {
    registerStandardDevices(devices);
    standardRegistered = true;
  }
  const fs = new TmpFs({ name: 'devtmpfs', options: 'mode=755', ramBytes: p.ramBytes, deviceOpener: openDevice });
  const root = fs.root as Inode;
  const cred = new Cred();
  for (const n of [...STANDARD_NODES, ...(p.nodes ?? [])]) addNode(root, n, cred);
  for (const [name, target] of LINKS) root.symlink!(name, target, cred);
  root.mkdir!('shm', 0o1777, cred);
  root.mkdir!('pts', 0o755, cred);
  return fs;
}

export function addNode(dir: Inode, n: DeviceNode, cred = new Cred()): Inode {
  const ino = dir.mknod!(n.name, S_IFCHR | n.mode, nodeRdev(n), cred);
  if (n.gid) ino.setattr({ gid: n.gid });
  return ino;
}

/** The tmpfs for /dev/shm (mode 1777, half of RAM like Linux's default). */
export function createDevShm(ramBytes?: number): TmpFs {
  return new TmpFs({ options: 'mode=1777', ramBytes });
}
