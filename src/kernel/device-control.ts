// The kernel halves of mconsole's device hot-plug, as `ctl` ops (see control.ts): ubd disks,
// con/ssl lines and ethN devices. Each answers {err, text} with UML's values; a query's
// failure comes back as err=1 and the error text, which mconsole sends as it is.
import type { Kernel } from './kernel.js';
import { EINVAL } from './abi/errno.js';
import { KERN_INFO } from './log.js';
import { ubdConfig, ubdGetConfig, ubdRemove } from './block/hotplug.js';
import { lineConfig, lineGetConfig, lineRemove, type LineKind } from './tty/line-hotplug.js';
import { addEthDevice, hasEthDevice, removeEthDevice } from './net/dev/eth-driver.js';

interface Reply { err: number; text: string }
type Op = (k: Kernel, arg: string) => Reply;

const query = (q: { text: string } | { error: string }): Reply => ('error' in q ? { err: 1, text: q.error } : { err: 0, text: q.text });

/** `kind <rest>`: the line device named first, then what follows its name. */
function lineArg(arg: string): { kind: LineKind; rest: string } {
  const kind = arg.slice(0, 3);
  if (kind !== 'con' && kind !== 'ssl') throw new Error(`not a line device: '${arg}'`);
  return { kind, rest: arg.slice(4) };
}

/** The message the main thread sends for `config ethN=...` once the transport is open. */
export interface EthAddRequest {
  index: number;
  /** The MAC as 12 hex digits. */
  mac: string;
  /** UML's configure-time lines (the "Netdevice N (mac) : ..." banner and the transport's). */
  log: { level: number; text: string }[];
}

export const DEVICE_OPS: Record<string, Op> = {
  'ubd-config': (k, spec) => ubdConfig(spec, (line) => k.log.info(line)),
  'ubd-query': (_k, n) => query(ubdGetConfig(Number(n))),
  'ubd-remove': (k, n) => ({ err: ubdRemove(k, Number(n)), text: '' }),
  'line-config': (k, arg) => { const { kind, rest } = lineArg(arg); return lineConfig(k, kind, rest); },
  'line-query': (k, arg) => { const { kind, rest } = lineArg(arg); return query(lineGetConfig(k, kind, rest)); },
  'line-remove': (k, arg) => { const { kind, rest } = lineArg(arg); return lineRemove(k, kind, Number(rest)); },
  'eth-add': (k, arg) => {
    const r = JSON.parse(arg) as EthAddRequest;
    if (hasEthDevice(k, r.index)) return { err: -EINVAL, text: 'Device already configured' };
    for (const l of r.log) k.log.printk(l.level ?? KERN_INFO, l.text);
    addEthDevice(k, r.index, Buffer.from(r.mac, 'hex'));
    return { err: 0, text: '' };
  },
  'eth-remove': (k, n) => ({ err: removeEthDevice(k, Number(n)), text: '' }),
};
