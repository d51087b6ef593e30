// One machine's network stack (a network namespace): its devices, addresses, routing
// tables, the protocols' socket tables and the receive queue that stands in for Linux's
// softirq backlog. Work is driven by the kernel loop (schedule) and kernel timers.
import { Errno } from '../../errno.js';
import { EADDRNOTAVAIL, EEXIST, ENODEV } from '../../abi/errno.js';
import { IFF_UP, IFF_LOOPBACK, ETH_P_IP } from '../../abi/inet.js';
import type { NetDevice, InAddr } from '../dev/netdev.js';
import { prefixMask, INADDR_ANY, isLoopbackNet } from './address.js';
import {
  RouteTable, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_LOCAL, RTN_BROADCAST, RTN_UNICAST, RT_SCOPE_HOST,
  RT_SCOPE_LINK, RTPROT_KERNEL, type Route,
} from './route.js';
import type { UdpTable } from './udp.js';
import type { TcpTable } from './tcp-table.js';
import type { IcmpLayer } from './icmp.js';
import type { RawTable } from './raw.js';

/** What the stack needs from the kernel: timers on the monotonic clock and deferred work. */
export interface NetEnv {
  timers: { add(at: number, fn: () => void): () => void };
  schedule(fn: () => void): void;
}

export const IFA_F_PERMANENT = 0x80;

/** A received packet waiting for the stack (the backlog). */
interface RxItem { dev: NetDevice; proto: number; packet: Buffer }

/** One neighbour (ARP) entry, as `ip neigh` lists it. */
export interface Neighbour { dev: NetDevice; addr: number; mac: Buffer | null; permanent: boolean }

export type L3Handler = (stack: NetStack, dev: NetDevice, packet: Buffer) => void;

export class NetStack {
  readonly devices = new Map<number, NetDevice>();
  readonly routes = new RouteTable();
  private nextIndex = 1;
  private rxQueue: RxItem[] = [];
  private rxScheduled = false;
  /** Ethernet protocol number → the layer-3 input (ip, arp, …). */
  readonly l3 = new Map<number, L3Handler>();
  /** Listeners for link/address/route changes (netlink multicast groups). */
  readonly changeListeners = new Set<(kind: 'link' | 'addr' | 'route', dev: NetDevice | null, op: 'new' | 'del') => void>();
  ipId = Math.floor(Math.random() * 0xffff);
  /** net.ipv4.ping_group_range: who may open ICMP datagram sockets (Debian opens it to all). */
  pingGroupRange: [number, number] = [0, 2147483647];
  udp!: UdpTable;
  tcp!: TcpTable;
  icmp!: IcmpLayer;
  raw!: RawTable;

  constructor(readonly env: NetEnv) {}

  // ---- devices ----

  addDevice(dev: NetDevice): void {
    dev.index = this.nextIndex++;
    dev.sink = this;
    this.devices.set(dev.index, dev);
    this.emit('link', dev, 'new');
  }

  deviceByName(name: string): NetDevice | null {
    for (const d of this.devices.values()) if (d.name === name) return d;
    return null;
  }

  device(index: number): NetDevice {
    const d = this.devices.get(index);
    if (!d) throw new Errno(ENODEV);
    return d;
  }

  get loopback(): NetDevice {
    for (const d of this.devices.values()) if (d.flags & IFF_LOOPBACK) return d;
    throw new Errno(ENODEV);
  }

  /** Changes the administrative flags; routes follow the device up and down. */
  setFlags(dev: NetDevice, flags: number): void {
    const wasUp = dev.up;
    dev.flags = flags;
    if (dev.up !== wasUp) {
      if (dev.up) { dev.open(); this.addDeviceRoutes(dev); } else { dev.stop(); this.removeDeviceRoutes(dev); }
    }
    this.emit('link', dev, 'new');
  }

  setUp(dev: NetDevice, up: boolean): void {
    this.setFlags(dev, up ? dev.flags | IFF_UP : dev.flags & ~IFF_UP);
  }

  // ---- addresses ----

  addAddress(dev: NetDevice, a: Omit<InAddr, 'label' | 'scope' | 'flags' | 'local'> & Partial<InAddr>): void {
    if (dev.addrs.some((x) => x.addr === a.addr && x.prefixLen === a.prefixLen)) throw new Errno(EEXIST);
    const ia: InAddr = {
      addr: a.addr, prefixLen: a.prefixLen, broadcast: a.broadcast, local: a.local ?? a.addr,
      label: a.label ?? dev.name, scope: a.scope ?? (isLoopbackNet(a.addr) ? RT_SCOPE_HOST : 0), flags: a.flags ?? IFA_F_PERMANENT,
    };
    dev.addrs.push(ia);
    if (dev.up) this.addAddressRoutes(dev, ia);
    this.emit('addr', dev, 'new');
  }

  removeAddress(dev: NetDevice, addr: number, prefixLen?: number): void {
    const i = dev.addrs.findIndex((x) => x.addr === addr && (prefixLen === undefined || x.prefixLen === prefixLen));
    if (i < 0) throw new Errno(EADDRNOTAVAIL);
    const [ia] = dev.addrs.splice(i, 1);
    this.removeAddressRoutes(dev, ia!);
    this.emit('addr', dev, 'del');
  }

  /** The routes an address brings (fib_add_ifaddr): local, broadcast, and its prefix. */
  private addAddressRoutes(dev: NetDevice, ia: InAddr): void {
    const base = { gateway: 0, dev, prefsrc: ia.addr, metric: 0, protocol: RTPROT_KERNEL };
    const add = (r: Route) => { try { this.routes.add(r); } catch { /* already there */ } };
    add({ ...base, table: RT_TABLE_LOCAL, type: RTN_LOCAL, dst: ia.addr, prefixLen: 32, scope: RT_SCOPE_HOST });
    const net = (ia.addr & prefixMask(ia.prefixLen)) >>> 0;
    if (dev.flags & IFF_LOOPBACK) {
      // lo's whole prefix is local (127.0.0.0/8): any 127.x address answers.
      if (ia.prefixLen < 32) add({ ...base, table: RT_TABLE_LOCAL, type: RTN_LOCAL, dst: net, prefixLen: ia.prefixLen, scope: RT_SCOPE_HOST });
    } else if (ia.prefixLen < 32) {
      add({ ...base, table: RT_TABLE_MAIN, type: RTN_UNICAST, dst: net, prefixLen: ia.prefixLen, scope: RT_SCOPE_LINK });
    }
    if (ia.broadcast && ia.prefixLen < 31) {
      add({ ...base, table: RT_TABLE_LOCAL, type: RTN_BROADCAST, dst: ia.broadcast >>> 0, prefixLen: 32, scope: RT_SCOPE_LINK });
    }
    this.emit('route', dev, 'new');
  }

  private removeAddressRoutes(dev: NetDevice, ia: InAddr): void {
    this.routes.removeWhere((r) => r.dev === dev && r.prefsrc === ia.addr && r.protocol === RTPROT_KERNEL);
    this.emit('route', dev, 'del');
  }

  private addDeviceRoutes(dev: NetDevice): void {
    for (const ia of dev.addrs) this.addAddressRoutes(dev, ia);
  }

  private removeDeviceRoutes(dev: NetDevice): void {
    this.routes.removeWhere((r) => r.dev === dev);
    this.emit('route', dev, 'del');
  }

  emit(kind: 'link' | 'addr' | 'route', dev: NetDevice | null, op: 'new' | 'del'): void {
    for (const l of this.changeListeners) l(kind, dev, op);
  }

  /** Whether `a` is one of this host's addresses (a local route). */
  isLocal(a: number): boolean {
    const r = this.routes.lookup(a);
    return !!r && r.type === RTN_LOCAL;
  }

  /** Whether `a` is a broadcast address of one of our networks. */
  isBroadcast(a: number): boolean {
    if (a === 0xffffffff) return true;
    const r = this.routes.lookup(a);
    return !!r && r.type === RTN_BROADCAST;
  }

  /** The source address for packets to `dst` (inet_select_addr). */
  sourceFor(dst: number): number {
    const r = this.routes.lookup(dst);
    if (!r) return INADDR_ANY;
    if (r.type === RTN_LOCAL) return dst;
    if (r.prefsrc) return r.prefsrc;
    return r.dev.addrs[0]?.addr ?? INADDR_ANY;
  }

  /** The device an address belongs to. */
  deviceOfAddress(a: number): NetDevice | null {
    for (const d of this.devices.values()) if (d.addrs.some((x) => x.addr === a)) return d;
    return null;
  }

  // ---- receive path ----

  /** A device received a packet: queue it, and process the queue from the kernel loop. */
  receive(dev: NetDevice, proto: number, packet: Buffer): void {
    this.rxQueue.push({ dev, proto, packet });
    if (!this.rxScheduled) {
      this.rxScheduled = true;
      this.env.schedule(() => this.processBacklog());
    }
  }

  /** Runs the backlog until it is empty (packets sent while processing join it). */
  processBacklog(): void {
    this.rxScheduled = false;
    let budget = 10000;
    while (this.rxQueue.length && budget-- > 0) {
      const batch = this.rxQueue;
      this.rxQueue = [];
      for (const it of batch) {
        const h = this.l3.get(it.proto);
        if (!h) { it.dev.stats.rxDropped++; continue; }
        h(this, it.dev, it.packet);
      }
      this.afterBatch();
    }
    if (this.rxQueue.length && !this.rxScheduled) {
      this.rxScheduled = true;
      this.env.schedule(() => this.processBacklog());
    }
  }

  /** Work deferred to the end of a receive batch (coalesced ACKs). */
  readonly batchHooks = new Set<() => void>();
  private afterBatch(): void {
    if (this.batchHooks.size === 0) return;
    const hooks = [...this.batchHooks];
    this.batchHooks.clear();
    for (const h of hooks) h();
  }

  /** Devices with neighbour caches (ethN's ARP) add their listers here. */
  readonly neighbourTables = new Set<() => Neighbour[]>();
  neighbours(): Neighbour[] {
    return [...this.neighbourTables].flatMap((f) => f());
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }
}

export { ETH_P_IP };
