// /proc/net: the files net-tools (ifconfig, route, netstat, arp) and ss read, generated from
// the machine's network stack in Linux's exact layouts.
import type { ProcFs } from '../fs/proc/proc-fs.js';
import type { Task } from '../task/task.js';
import { netStackOf } from './inet/netns.js';
import type { NetStack } from './inet/stack.js';
import type { InetSocket } from './inet/inet-socket.js';
import { RT_TABLE_MAIN, RTN_UNICAST } from './inet/route.js';
import { prefixMask } from './inet/address.js';
import { TCP_LISTEN } from './inet/tcp-table.js';

function hex8le(a: number): string {
  // Linux prints the address as the host-order (little-endian) u32 of network-order bytes.
  const b = Buffer.alloc(4);
  b.writeUInt32BE(a >>> 0);
  return b.readUInt32LE(0).toString(16).toUpperCase().padStart(8, '0');
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

function stackFor(fs: ProcFs, reader: Task | null): NetStack {
  const k = (reader?.kernel ?? fs.kernel) as unknown as Parameters<typeof netStackOf>[0];
  return netStackOf(k);
}

export function devText(s: NetStack): string {
  let out = 'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  for (const d of s.devices.values()) {
    const t = d.stats;
    out += `${d.name.padStart(6)}: ${String(t.rxBytes).padStart(7)} ${String(t.rxPackets).padStart(7)} ${String(t.rxErrors).padStart(4)} ${String(t.rxDropped).padStart(4)}    0     0          0 ${String(t.multicast).padStart(9)} ${String(t.txBytes).padStart(8)} ${String(t.txPackets).padStart(7)} ${String(t.txErrors).padStart(4)} ${String(t.txDropped).padStart(4)}    0     0       0          0\n`;
  }
  return out;
}

export function routeText(s: NetStack): string {
  const pad = (line: string) => line.padEnd(127) + '\n';
  let out = pad('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT');
  for (const r of s.routes.routes) {
    if (r.table !== RT_TABLE_MAIN || r.type !== RTN_UNICAST) continue;
    const flags = 0x1 | (r.gateway ? 0x2 : 0) | (r.prefixLen === 32 ? 0x4 : 0);
    out += pad(`${r.dev.name}\t${hex8le(r.dst)}\t${hex8le(r.gateway)}\t${hex4(flags)}\t0\t0\t${r.metric}\t${hex8le(prefixMask(r.prefixLen))}\t0\t0\t0`);
  }
  return out;
}

function sockLines(socks: Iterable<InetSocket>, header: string, state: (s: InetSocket) => number, queues: (s: InetSocket) => [number, number]): string {
  let out = header;
  let i = 0;
  for (const so of socks) {
    const [tx, rx] = queues(so);
    out += `${String(i++).padStart(4)}: ${hex8le(so.localAddr)}:${hex4(so.localPort)} ${hex8le(so.remoteAddr)}:${hex4(so.remotePort)} ${state(so).toString(16).toUpperCase().padStart(2, '0')} ${tx.toString(16).toUpperCase().padStart(8, '0')}:${rx.toString(16).toUpperCase().padStart(8, '0')} 00:00000000 00000000 ${String(so.uid).padStart(5)}        0 ${so.ino} 1 0000000000000000 100 0 0 10 0\n`;
  }
  return out;
}

export function tcpText(s: NetStack): string {
  const seen = new Set<InetSocket>();
  for (const l of s.tcp.listeners.values()) for (const x of l) seen.add(x);
  for (const c of s.tcp.conns.values()) seen.add(c);
  return sockLines(seen, '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n',
    (so) => (so as unknown as { state: number }).state,
    (so) => {
      const t = so as unknown as { state: number; sndQ: { length: number }; rcvQ: { length: number }; acceptQueue: unknown[]; backlog: number };
      return t.state === TCP_LISTEN ? [0, t.acceptQueue.length] : [t.sndQ.length, t.rcvQ.length];
    });
}

export function udpText(s: NetStack): string {
  const all = [...s.udp.byPort.values()].flat();
  return sockLines(all, '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n',
    (so) => (so.remotePort ? 1 : 7), () => [0, 0]);
}

export function arpText(s: NetStack): string {
  let out = 'IP address       HW type     Flags       HW address            Mask     Device\n';
  for (const n of s.neighbours()) {
    if (!n.mac) continue;
    const ip = [24, 16, 8, 0].map((sh) => (n.addr >>> sh) & 255).join('.');
    const mac = [...n.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
    out += `${ip.padEnd(17)}0x1         ${n.permanent ? '0x6' : '0x2'}         ${mac}     *        ${n.dev.name}\n`;
  }
  return out;
}

/** Adds /proc/net/{dev,route,tcp,udp,arp,…} to a procfs instance. */
export function registerProcNet(fs: ProcFs): void {
  const file = (name: string, gen: (s: NetStack) => string) => fs.registerFile(`net/${name}`, (r) => gen(stackFor(fs, r)));
  file('dev', devText);
  file('route', routeText);
  file('tcp', tcpText);
  file('udp', udpText);
  file('arp', arpText);
  file('raw', () => '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n');
  file('tcp6', () => '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n');
  file('udp6', () => '   sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n');
  file('if_inet6', () => '');
  file('unix', () => 'Num       RefCount Protocol Flags    Type St Inode Path\n');
}
