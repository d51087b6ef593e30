// The host half of a machine's ethN devices: opens each `eth<N>=` transport (and the
// `eth<N>.pcap=` capture) on the main thread, forwards received frames to the kernel thread
// as net-rx interrupts and sends the kernel's net-tx frames out.
import * as fs from 'node:fs';
import type { MachineConfig } from '../../cli/cmdline.js';
import type { ToKernel } from '../../kernel/interrupts.js';
import { parseEthSwitches, parseEthCaptureSwitch, openEthTransport, EthConfigError, type EthConfig } from './eth-config.js';
import type { NetTransport } from './transport.js';

export interface MachineNet {
  transmit(eth: number, frame: Uint8Array): void;
  close(): void;
  /** The ethN numbers configured (at boot or hot-plugged), for eth_parse's "already configured". */
  configured(): ReadonlySet<number>;
  /** mconsole hot-plug: opens ethN's transport (rejects when it cannot), then `attachKernel`
   *  creates the guest's device; frames flow once both are done. */
  plug(c: EthConfig, attachKernel: () => Promise<void>): Promise<void>;
  /** mconsole hot-unplug: closes ethN's transport. */
  unplug(index: number): void;
}

/** The machine's network (one machine per process), for mconsole's eth device. */
let running: MachineNet | null = null;
export function runningMachineNet(): MachineNet | null {
  return running;
}

export function startMachineNet(cfg: MachineConfig, send: (m: ToKernel) => void, argv: readonly string[] = process.argv): MachineNet {
  const transports = new Map<number, NetTransport>();
  const captures = new Map<number, string>();
  for (const a of argv) {
    const c = parseEthCaptureSwitch(a);
    if (c) captures.set(c.index, c.file);
  }
  const confs = parseEthSwitches(cfg, (e) => {
    if (e instanceof EthConfigError) fs.writeSync(2, `${e.message}\n`);
    else throw e;
  });
  /** The eth indices in use: configured at boot, then plugged and unplugged by mconsole. */
  const taken = new Set(confs.map((c) => c.index));
  let closed = false;
  const wire = (index: number, t: NetTransport) => {
    transports.set(index, t);
    t.onFrame((frame) => send({ type: 'net-rx', eth: index, frame: new Uint8Array(frame) }));
    t.onDisconnect(() => {
      if (transports.get(index) !== t) return;
      transports.delete(index);
      send({ type: 'net-carrier', eth: index, up: false });
    });
  };
  for (const c of confs) {
    openEthTransport(c, captures.get(c.index)).then((t) => {
      if (closed) { t.close(); return; }
      wire(c.index, t);
    }, (e: Error) => {
      fs.writeSync(2, `eth${c.index}: ${e.message}\n`);
      send({ type: 'net-carrier', eth: c.index, up: false });
    });
  }
  const net: MachineNet = {
    transmit(eth, frame) {
      transports.get(eth)?.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    },
    close() {
      closed = true;
      for (const t of transports.values()) t.close();
      transports.clear();
      if (running === net) running = null;
    },
    configured: () => taken,
    async plug(c, attachKernel) {
      taken.add(c.index);
      let t: NetTransport;
      try {
        t = await openEthTransport(c, captures.get(c.index));
      } catch (e) {
        taken.delete(c.index);
        throw e;
      }
      try {
        if (closed) throw new Error('the machine is going down');
        await attachKernel();
      } catch (e) {
        t.close();
        taken.delete(c.index);
        throw e;
      }
      wire(c.index, t);
    },
    unplug(index) {
      const t = transports.get(index);
      transports.delete(index);
      taken.delete(index);
      t?.close();
    },
  };
  running = net;
  return net;
}
