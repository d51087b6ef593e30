// /sys/class/net entries from the network stack's devices.
import type { SysNetDevice } from '../fs/sys/sysfs.js';
import { currentNetStack } from './inet/netns.js';

function macText(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The devices for sysfs, or undefined (sysfs then shows its default lo) before the stack exists. */
export function sysNetDevices(): readonly SysNetDevice[] | undefined {
  const s = currentNetStack();
  if (!s) return undefined;
  return [...s.devices.values()].map((d) => ({
    name: d.name, ifindex: d.index, mtu: d.mtu, address: macText(d.mac), up: d.up, type: d.type, flags: d.reportedFlags & 0xffff,
  }));
}
