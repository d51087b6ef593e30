// The `ubd` mconsole device (ubd_kern.c's ubd_mc): `config ubdN=file`, `config ubdN`,
// `remove ubdN`, carried out by the kernel thread (src/kernel/block/hotplug.ts).
import { ubdId, type McDevice } from '../commands.js';
import type { KernelRequest } from './kernel-request.js';

export function ubdDevice(request: KernelRequest): McDevice {
  return {
    name: 'ubd',
    config: (spec) => request('ubd-config', spec),
    async getConfig(unit) {
      const r = await request('ubd-query', String(ubdId(unit).n));
      return r.err === 0 ? { text: r.text } : { error: r.text };
    },
    id: (unit) => ubdId(unit),
    async remove(n) {
      const r = await request('ubd-remove', String(n));
      return r.text ? { err: r.err, text: r.text } : { err: r.err };
    },
  };
}
