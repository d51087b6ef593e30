// The host half of a machine's ethN devices: opens each `eth<N>=` transport (and the
// `eth<N>.pcap=` capture) on the main thread, forwards received frames to the kernel thread
// as net-rx interrupts and sends the kernel's net-tx frames out.
import * as fs from 'node:fs';
import type { MachineConfig } from '../../cli/cmdline.js';
import type { ToKernel } from '../../kernel/interrupts.js';
import { parseEthSwitch, parseEthCaptureSwitch, openEthTransport, EthConfigError, type EthConfig } from './eth-config.js';
import type { NetTransport } from './transport.js';

export interface MachineNet {
  transmit(eth: number, frame: Uint8Array): void;
  close(): void;
}

export function startMachineNet(cfg: MachineConfig, send: (m: ToKernel) => void, argv: readonly string[] = process.argv): MachineNet {
  const transports = new Map<number, NetTransport>();
  const captures = new Map<number, string>();
  for (const a of argv) {
    const c = parseEthCaptureSwitch(a);
    if (c) captures.set(c.index, c.file);
  }
  const confs: EthConfig[] = [];
  const taken = new Set<number>();
  for (const [key, val] of cfg.devices) {
    if (!/^eth\d+$/.test(key)) continue;
    try {
      const c = parseEthSwitch(`${key}=${val}`, taken);
      taken.add(c.index);
      confs.push(c);
    } catch (e) {
      if (e instanceof EthConfigError) fs.writeSync(2, `${e.message}\n`);
      else throw e;
    }
  }
  let closed = false;
  for (const c of confs) {
    openEthTransport(c, captures.get(c.index)).then((t) => {
      if (closed) { t.close(); return; }
      transports.set(c.index, t);
      t.onFrame((frame) => send({ type: 'net-rx', eth: c.index, frame: new Uint8Array(frame) }));
      t.onDisconnect(() => {
        transports.delete(c.index);
        send({ type: 'net-carrier', eth: c.index, up: false });
      });
    }, (e: Error) => {
      fs.writeSync(2, `eth${c.index}: ${e.message}\n`);
      send({ type: 'net-carrier', eth: c.index, up: false });
    });
  }
  return {
    transmit(eth, frame) {
      transports.get(eth)?.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    },
    close() {
      closed = true;
      for (const t of transports.values()) t.close();
      transports.clear();
    },
  };
}
