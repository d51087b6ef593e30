// The `con` and `ssl` mconsole devices (line.c's line_config/line_get_config/line_id/
// line_remove), carried out by the kernel thread (src/kernel/tty/line-hotplug.ts).
import { parseCNumber, type McDevice } from '../commands.js';
import type { KernelRequest } from './kernel-request.js';

/** line_id(): a whole-string number, and the range is that number alone (line_remove
 *  checks the real range, with its own message). */
export function lineUnit(unit: string): { n: number; start: number; end: number } {
  const r = parseCNumber(unit);
  const n = r.end === 0 || r.end !== unit.length ? -1 : r.value;
  return { n, start: n, end: n };
}

export function lineDevice(kind: 'con' | 'ssl', request: KernelRequest): McDevice {
  return {
    name: kind,
    config: (spec) => request('line-config', `${kind} ${spec}`),
    async getConfig(unit) {
      const r = await request('line-query', `${kind} ${unit}`);
      return r.err === 0 ? { text: r.text } : { error: r.text };
    },
    id: lineUnit,
    async remove(n) {
      const r = await request('line-remove', `${kind} ${n}`);
      return r.text ? { err: r.err, text: r.text } : { err: r.err };
    },
  };
}
