// The network stack of a machine, created on first use: lo up with 127.0.0.1/8, the IPv4
// layer and its protocols. One per kernel (tuml has one network namespace).
import { ETH_P_IP } from '../../abi/inet.js';
import { NetStack, type NetEnv } from './stack.js';
import { LoopbackDevice } from '../dev/loopback.js';
import { ipInput } from './ip.js';
import { IcmpLayer } from './icmp.js';
import { UdpTable } from './udp.js';
import { TcpTable } from './tcp-table.js';
import { RawTable } from './raw.js';
import { INADDR_LOOPBACK } from './address.js';

const stacks = new WeakMap<object, NetStack>();
/** Hooks run on each new stack (devices from the command line, /proc files …). */
const initHooks: ((stack: NetStack, owner: object) => void)[] = [];

export function onNetStackCreated(fn: (stack: NetStack, owner: object) => void): void {
  initHooks.push(fn);
}

export function createNetStack(env: NetEnv): NetStack {
  const s = new NetStack(env);
  s.l3.set(ETH_P_IP, ipInput);
  s.icmp = new IcmpLayer(s);
  s.udp = new UdpTable(s);
  s.tcp = new TcpTable(s);
  s.raw = new RawTable(s);
  const lo = new LoopbackDevice();
  s.addDevice(lo);
  s.addAddress(lo, { addr: INADDR_LOOPBACK, prefixLen: 8, broadcast: 0, label: 'lo' });
  return s;
}

let latest: NetStack | null = null;
/** The most recent machine's stack (one machine per kernel thread), for views without a kernel (sysfs). */
export function currentNetStack(): NetStack | null {
  return latest;
}

/** The stack of a kernel (anything with timers and schedule), made on first use. */
export function netStackOf(k: NetEnv & object): NetStack {
  let s = stacks.get(k);
  if (!s) {
    s = createNetStack(k);
    stacks.set(k, s);
    latest = s;
    for (const h of initHooks) h(s, k);
  }
  return s;
}
