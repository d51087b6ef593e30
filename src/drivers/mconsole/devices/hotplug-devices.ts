// The hot-pluggable devices mconsole registers besides mem, in UML's registration order
// (ubd_kern.c, net_kern.c, stdio_console.c, ssl.c).
import type { McDevice } from '../commands.js';
import type { MachineNet } from '../../net/machine-net.js';
import type { KernelRequest } from './kernel-request.js';
import { ubdDevice } from './ubd.js';
import { lineDevice } from './lines.js';
import { ethDevice } from './eth.js';

export function hotplugDevices(request: KernelRequest, net: () => MachineNet | null): McDevice[] {
  return [ubdDevice(request), ethDevice(net, request), lineDevice('con', request), lineDevice('ssl', request)];
}
