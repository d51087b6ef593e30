// The `eth` mconsole device (net_kern.c's net_mc): `config ethN=<transport>,...` and
// `remove ethN`; it has no get_config, as in UML. The main thread opens the transport (as
// at boot, src/drivers/net/machine-net.ts), the kernel thread creates or deletes the device
// (src/kernel/net/dev/eth-driver.ts).
import { EINVAL } from '../../../kernel/abi/errno.js';
import { parseCNumber, type McDevice, type McResult } from '../commands.js';
import { EthConfigError, netdeviceBanner, parseEthDevice, type EthConfig } from '../../net/eth-config.js';
import type { MachineNet } from '../../net/machine-net.js';
import type { KernelRequest } from './kernel-request.js';
import { lineUnit } from './lines.js';

export function ethDevice(net: () => MachineNet | null, request: KernelRequest): McDevice {
  const printk = (text: string) => { void request('printk', text); };
  return {
    name: 'eth',
    async config(spec): Promise<McResult> {
      // eth_parse
      const { value: n, end } = parseCNumber(spec);
      if (end === 0) return { err: -EINVAL, text: 'Bad device number' };
      if (spec[end] !== '=') return { err: -EINVAL, text: "Expected '=' after device number" };
      const machine = net();
      if (!machine) return { err: 1, text: 'No network on this machine' };
      if (machine.configured().has(n)) return { err: -EINVAL, text: 'Device already configured' };
      // eth_setup_common: no transport of that name is err 1 with no text; a transport that
      // rejects its options, or cannot open, leaves no device but answers success.
      let c: EthConfig;
      try {
        c = parseEthDevice(n, spec.slice(end + 1));
      } catch (e) {
        if (!(e instanceof EthConfigError)) throw e;
        if (e.message === 'No match for configured backends') return { err: 1, text: '' };
        printk(e.message);
        return { err: 0, text: '' };
      }
      try {
        await machine.plug(c, async () => {
          const log = [...c.log, { level: 6, text: netdeviceBanner(c) }];
          const r = await request('eth-add', JSON.stringify({ index: n, mac: c.mac.toString('hex'), log }));
          if (r.err !== 0) throw new Error(r.text);
        });
      } catch (e) {
        printk(`eth${n}: ${(e as Error).message}`);
      }
      return { err: 0, text: '' };
    },
    id: lineUnit,
    async remove(n) {
      const r = await request('eth-remove', String(n));
      if (r.err === 0) net()?.unplug(n);
      return { err: r.err };
    },
  };
}
