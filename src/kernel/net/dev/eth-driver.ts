// The guest half of UML's network driver (net_kern.c): one EtherDevice per `eth<N>=` switch,
// with the MAC UML would assign; frames cross to the main thread's transport as messages
// (net-tx out, net-rx in) and the carrier follows the transport (net-carrier).
import type { Kernel } from '../../kernel.js';
import type { MachineConfig } from '../../../cli/cmdline.js';
import type { ToKernel } from '../../interrupts.js';
import { parseEthSwitch, type EthConfig } from '../../../drivers/net/eth-config.js';
import { netStackOf } from '../inet/netns.js';
import { EtherDevice } from './ether.js';

/** The `eth<N>=` switches of a machine, parsed as UML does (bad ones are skipped here; the main thread reports them). */
export function ethConfigs(cfg: MachineConfig): EthConfig[] {
  const out: EthConfig[] = [];
  const taken = new Set<number>();
  for (const [key, val] of cfg.devices) {
    if (!/^eth\d+$/.test(key)) continue;
    try {
      const c = parseEthSwitch(`${key}=${val}`, taken);
      taken.add(c.index);
      out.push(c);
    } catch { /* reported by the main thread */ }
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Creates ethN devices and wires their frames to the main thread. Call before boot runs init. */
export function installNetDriver(k: Kernel, cfg: MachineConfig): void {
  const confs = ethConfigs(cfg);
  if (!confs.length) return;
  const stack = netStackOf(k);
  const devs = new Map<number, EtherDevice>();
  for (const c of confs) {
    const dev = new EtherDevice(`eth${c.index}`, c.mac, stack.env);
    dev.output = (frame) => k.post({ type: 'net-tx', eth: c.index, frame: new Uint8Array(frame.buffer, frame.byteOffset, frame.length) });
    stack.addDevice(dev);
    stack.neighbourTables.add(() => dev.neighbours());
    devs.set(c.index, dev);
  }
  k.onMessage('net-rx', (m: ToKernel) => {
    if (m.type !== 'net-rx') return;
    devs.get(m.eth)?.receiveFrame(Buffer.from(m.frame.buffer, m.frame.byteOffset, m.frame.byteLength));
  });
  k.onMessage('net-carrier', (m: ToKernel) => {
    if (m.type !== 'net-carrier') return;
    const d = devs.get(m.eth);
    if (!d) return;
    d.carrier = m.up;
    stack.emit('link', d, 'new');
  });
}
