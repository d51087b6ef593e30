// The guest half of UML's network driver (net_kern.c): one EtherDevice per `eth<N>=` switch,
// with the MAC UML would assign; frames cross to the main thread's transport as messages
// (net-tx out, net-rx in) and the carrier follows the transport (net-carrier).
import type { Kernel } from '../../kernel.js';
import type { MachineConfig } from '../../../cli/cmdline.js';
import type { ToKernel } from '../../interrupts.js';
import { parseEthSwitches, type EthConfig } from '../../../drivers/net/eth-config.js';
import { netStackOf } from '../inet/netns.js';
import { EtherDevice } from './ether.js';
import { EBUSY, ENODEV } from '../../abi/errno.js';

/** The `eth<N>=` switches of a machine, parsed as UML does (bad ones are skipped here; the main thread reports them). */
export function ethConfigs(cfg: MachineConfig): EthConfig[] {
  return parseEthSwitches(cfg, () => { /* reported by the main thread */ }).sort((a, b) => a.index - b.index);
}

interface EthEntry { dev: EtherDevice; neighbours: () => ReturnType<EtherDevice['neighbours']> }

/** Each kernel's ethN devices by N (boot-time and hot-plugged). */
const ethDevices = new WeakMap<Kernel, Map<number, EthEntry>>();

function devicesOf(k: Kernel): Map<number, EthEntry> {
  let devs = ethDevices.get(k);
  if (!devs) {
    devs = new Map();
    ethDevices.set(k, devs);
  }
  return devs;
}

/** Creates ethN with `mac` and wires its frames to the main thread (boot, or mconsole's config). */
export function addEthDevice(k: Kernel, index: number, mac: Buffer): EtherDevice {
  const devs = devicesOf(k);
  const stack = netStackOf(k);
  const dev = new EtherDevice(`eth${index}`, mac, stack.env);
  // postMessage copies a view's whole ArrayBuffer: a frame cut from Buffer's 8 KiB pool is
  // copied to a buffer of its own size first.
  dev.output = (frame) => k.post({ type: 'net-tx', eth: index, frame: frame.byteLength === frame.buffer.byteLength ? new Uint8Array(frame.buffer, frame.byteOffset, frame.length) : new Uint8Array(frame) });
  stack.addDevice(dev);
  const neighbours = () => dev.neighbours();
  stack.neighbourTables.add(neighbours);
  devs.set(index, { dev, neighbours });
  return dev;
}

/** net_remove: 0, -ENODEV (no such device) or -EBUSY (it is up: UML's lp->fd is open). */
export function removeEthDevice(k: Kernel, index: number): number {
  const devs = devicesOf(k);
  const e = devs.get(index);
  if (!e) return -ENODEV;
  if (e.dev.up) return -EBUSY;
  const stack = netStackOf(k);
  devs.delete(index);
  stack.neighbourTables.delete(e.neighbours);
  stack.routes.removeWhere((r) => r.dev === e.dev);
  stack.devices.delete(e.dev.index);
  e.dev.output = () => {};
  stack.emit('link', e.dev, 'del');
  return 0;
}

/** Whether ethN exists. */
export function hasEthDevice(k: Kernel, index: number): boolean {
  return devicesOf(k).has(index);
}

/** Creates ethN devices and wires their frames to the main thread. Call before boot runs init. */
export function installNetDriver(k: Kernel, cfg: MachineConfig): void {
  // Frames and carrier changes find the device by number, so hot-plugged ones get them too.
  k.onMessage('net-rx', (m: ToKernel) => {
    if (m.type !== 'net-rx') return;
    devicesOf(k).get(m.eth)?.dev.receiveFrame(Buffer.from(m.frame.buffer, m.frame.byteOffset, m.frame.byteLength));
  });
  k.onMessage('net-carrier', (m: ToKernel) => {
    if (m.type !== 'net-carrier') return;
    const d = devicesOf(k).get(m.eth)?.dev;
    if (!d) return;
    d.carrier = m.up;
    netStackOf(k).emit('link', d, 'new');
  });
  for (const c of ethConfigs(cfg)) addEthDevice(k, c.index, c.mac);
}
