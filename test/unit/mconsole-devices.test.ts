// The main-thread halves of mconsole's ubd, con/ssl and eth devices, with a fake kernel and
// network: how they parse (UML's line_id/net_id/eth_parse), what they ask the kernel, and the
// replies the command table then sends (texts and errno values of Debian's UML 6.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type MachineControl, type McDevice } from '../../src/drivers/mconsole/commands.js';
import { hotplugDevices } from '../../src/drivers/mconsole/devices/hotplug-devices.js';
import { lineUnit } from '../../src/drivers/mconsole/devices/lines.js';
import type { MachineNet } from '../../src/drivers/net/machine-net.js';
import type { EthConfig } from '../../src/drivers/net/eth-config.js';

interface Fake { asked: string[]; plugged: number[]; unplugged: number[]; devices: McDevice[] }

function fake(kernel: (op: string, arg: string) => { err: number; text: string }, openFails = false): Fake {
  const asked: string[] = [];
  const plugged: number[] = [];
  const unplugged: number[] = [];
  const taken = new Set<number>([0]);
  const net: MachineNet = {
    transmit() {}, close() {},
    configured: () => taken,
    async plug(c: EthConfig, attach) {
      if (openFails) throw new Error('connect failed');
      taken.add(c.index);
      await attach();
      plugged.push(c.index);
    },
    unplug(n) { taken.delete(n); unplugged.push(n); },
  };
  const devices = hotplugDevices(async (op, arg) => { asked.push(`${op} ${arg}`); return kernel(op, arg); }, () => net);
  return { asked, plugged, unplugged, devices };
}

/** Runs one request through the command table; returns the replies as [err, text]. */
async function send(devices: McDevice[], data: string): Promise<[number, string][]> {
  const replies: [number, string][] = [];
  const ctl = { devices: () => devices } as unknown as MachineControl;
  const cmd = findCommand(data, COMMANDS)!;
  await cmd.handler({ data, raw: Buffer.alloc(512), reply: (text, err) => { replies.push([err, text]); } }, { ctl, stopped: false });
  return replies;
}

test('line_id and net_id: a whole number, and the range is that number', () => {
  assert.deepEqual(lineUnit('3'), { n: 3, start: 3, end: 3 });
  assert.deepEqual(lineUnit('0x10'), { n: 16, start: 16, end: 16 });
  assert.equal(lineUnit('3x').n, -1);
  assert.equal(lineUnit('').n, -1);
});

test('ubd and lines pass the kernel its text and send back its err and text', async () => {
  const f = fake((op, arg) => {
    if (op === 'ubd-remove') return { err: arg === '1' ? -16 : -19, text: '' };
    if (op === 'line-remove') return { err: -22, text: "configured as 'none'" };
    if (op === 'line-query') return { err: 1, text: 'device number out of range' };
    return { err: 0, text: '' };
  });
  assert.deepEqual(await send(f.devices, 'config ubdb=/img'), [[0, '']]);
  assert.deepEqual(await send(f.devices, 'remove ubd1'), [[-16, 'Device is currently open']]);
  assert.deepEqual(await send(f.devices, 'remove ubd2'), [[-19, "Device doesn't exist"]]);
  assert.deepEqual(await send(f.devices, 'remove con3'), [[-22, "configured as 'none'"]]);
  assert.deepEqual(await send(f.devices, 'config ssl99'), [[1, 'device number out of range']]);
  assert.deepEqual(await send(f.devices, 'remove con3x'), [[1, "Couldn't parse device number"]]);
  assert.deepEqual(f.asked, ['ubd-config b=/img', 'ubd-remove 1', 'ubd-remove 2', 'line-remove con 3', 'line-query ssl 99']);
});

test('eth: eth_parse errors, unknown transport, no get_config, plug and unplug', async () => {
  const f = fake(() => ({ err: 0, text: '' }));
  assert.deepEqual(await send(f.devices, 'config ethx=daemon'), [[-22, 'Bad device number']]);
  assert.deepEqual(await send(f.devices, 'config eth1x=daemon'), [[-22, "Expected '=' after device number"]]);
  assert.deepEqual(await send(f.devices, 'config eth0=daemon'), [[-22, 'Device already configured']]);
  assert.deepEqual(await send(f.devices, 'config eth1=bogus'), [[1, '']]);
  assert.deepEqual(await send(f.devices, 'config eth1'), [[1, 'No get_config routine defined']]);
  assert.deepEqual(await send(f.devices, 'config eth1=daemon,,unix,/tmp/sw.ctl'), [[0, '']]);
  assert.deepEqual(f.plugged, [1]);
  const add = f.asked.find((a) => a.startsWith('eth-add '))!;
  const req = JSON.parse(add.slice('eth-add '.length)) as { index: number; mac: string; log: { text: string }[] };
  assert.equal(req.index, 1);
  assert.match(req.mac, /^[0-9a-f]{12}$/);
  assert.ok(req.log.some((l) => /^Netdevice 1 \(/.test(l.text)));
  assert.deepEqual(await send(f.devices, 'remove eth1'), [[0, '']]);
  assert.deepEqual(f.unplugged, [1]);
});

test('eth: a transport that cannot open answers OK, as UML does, and logs why', async () => {
  const f = fake(() => ({ err: 0, text: '' }), true);
  assert.deepEqual(await send(f.devices, 'config eth2=daemon,,unix,/nonexistent'), [[0, '']]);
  assert.deepEqual(f.plugged, []);
  assert.ok(f.asked.some((a) => a === 'printk eth2: connect failed'), f.asked.join('\n'));
});
