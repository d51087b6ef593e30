// The IPv4 routing tables (FIB): "local" (addresses of this host, consulted first) and
// "main". A lookup takes the longest matching prefix, then the lowest metric, over routes
// whose device is up.
import { Errno } from '../../errno.js';
import { EEXIST, ESRCH } from '../../abi/errno.js';
import { prefixMask } from './address.js';
import type { NetDevice } from '../dev/netdev.js';

export const RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255;
export const RTN_UNICAST = 1, RTN_LOCAL = 2, RTN_BROADCAST = 3, RTN_UNREACHABLE = 7, RTN_PROHIBIT = 8, RTN_BLACKHOLE = 6;
export const RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RT_SCOPE_HOST = 254;
export const RTPROT_KERNEL = 2, RTPROT_BOOT = 3, RTPROT_STATIC = 4;

export interface Route {
  table: number;
  type: number;
  dst: number;
  prefixLen: number;
  /** Next hop, or 0 for a directly connected destination. */
  gateway: number;
  dev: NetDevice;
  /** Preferred source address, or 0. */
  prefsrc: number;
  metric: number;
  scope: number;
  protocol: number;
}

export class RouteTable {
  readonly routes: Route[] = [];

  add(r: Route, replace = false): void {
    const i = this.routes.findIndex((x) => sameKey(x, r));
    if (i >= 0) {
      if (!replace) throw new Errno(EEXIST);
      this.routes[i] = r;
      return;
    }
    this.routes.push(r);
  }

  /** Removes the routes matching every field given; ESRCH if none. */
  delete(m: Partial<Route> & { dst: number; prefixLen: number }): void {
    const before = this.routes.length;
    for (let i = this.routes.length - 1; i >= 0; i--) {
      const r = this.routes[i]!;
      if (r.dst !== m.dst || r.prefixLen !== m.prefixLen) continue;
      if (m.table !== undefined && r.table !== m.table) continue;
      if (m.dev && r.dev !== m.dev) continue;
      if (m.gateway && r.gateway !== m.gateway) continue;
      if (m.metric !== undefined && r.metric !== m.metric) continue;
      if (m.type !== undefined && r.type !== m.type) continue;
      this.routes.splice(i, 1);
      if (m.table === undefined) break;
    }
    if (this.routes.length === before) throw new Errno(ESRCH);
  }

  removeWhere(pred: (r: Route) => boolean): void {
    for (let i = this.routes.length - 1; i >= 0; i--) if (pred(this.routes[i]!)) this.routes.splice(i, 1);
  }

  lookup(dst: number): Route | null {
    return this.best(RT_TABLE_LOCAL, dst) ?? this.best(RT_TABLE_MAIN, dst);
  }

  private best(table: number, dst: number): Route | null {
    let best: Route | null = null;
    for (const r of this.routes) {
      if (r.table !== table || !r.dev.up) continue;
      if (((dst ^ r.dst) & prefixMask(r.prefixLen)) !== 0) continue;
      if (!best || r.prefixLen > best.prefixLen || (r.prefixLen === best.prefixLen && r.metric < best.metric)) best = r;
    }
    return best;
  }
}

function sameKey(a: Route, b: Route): boolean {
  return a.table === b.table && a.dst === b.dst && a.prefixLen === b.prefixLen && a.metric === b.metric && a.type === b.type
    && (a.table === RT_TABLE_LOCAL ? a.dev === b.dev : true);
}
