// NETLINK_ROUTE (net/core/rtnetlink.c, net/ipv4/devinet.c, fib_frontend.c): links, IPv4
// addresses, routes and neighbours as `ip` asks for them, and changes to them.
import { Errno } from '../../errno.js';
import { EADDRNOTAVAIL, EEXIST, EINVAL, ENETUNREACH, ENODEV, EOPNOTSUPP, EPERM } from '../../abi/errno.js';
import { AF_INET, AF_UNSPEC, AF_PACKET } from '../../abi/socket.js';
import { IFF_USER_MASK, IFF_BROADCAST, IFF_LOOPBACK } from '../../abi/inet.js';
import {
  RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK, RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR, RTM_NEWROUTE,
  RTM_DELROUTE, RTM_GETROUTE, RTM_NEWNEIGH, RTM_GETNEIGH, NLM_F_DUMP, NLM_F_MULTI, NLM_F_EXCL, NLM_F_REPLACE,
  NLMSG_DONE, IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_QDISC, IFLA_STATS, IFLA_TXQLEN, IFLA_MAP,
  IFLA_OPERSTATE, IFLA_LINKMODE, IFLA_STATS64, IFLA_GROUP, IFLA_PROMISCUITY, IFLA_NUM_TX_QUEUES,
  IFLA_NUM_RX_QUEUES, IFLA_CARRIER, IFLA_CARRIER_CHANGES, IFLA_MIN_MTU, IFLA_MAX_MTU, IF_OPER_UNKNOWN,
  IF_OPER_DOWN, IF_OPER_UP, IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS,
  RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_TABLE, RTA_UID, RTM_F_CLONED, NDA_DST, NDA_LLADDR,
  NUD_REACHABLE, NUD_PERMANENT,
} from '../../abi/netlink.js';
import type { NetDevice } from '../dev/netdev.js';
import type { NetStack } from '../inet/stack.js';
import { prefixMask } from '../inet/address.js';
import { RT_TABLE_MAIN, RTN_UNICAST, RTN_LOCAL, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST, RTPROT_BOOT, type Route } from '../inet/route.js';
import { message, parseAttrs, AttrWriter, attrString, type NlMsg } from './attrs.js';

export interface RtnlContext { stack: NetStack; admin: boolean; portid: number }

const IFINFO = 16, IFADDR = 8, RTMSG = 12, NDMSG = 12;

function ifinfoHead(dev: NetDevice, family = AF_UNSPEC): Buffer {
  const b = Buffer.alloc(IFINFO);
  b[0] = family;
  b.writeUInt16LE(dev.type, 2);
  b.writeInt32LE(dev.index, 4);
  b.writeUInt32LE(dev.reportedFlags >>> 0, 8);
  return b;
}

export function linkBody(dev: NetDevice): Buffer {
  const w = new AttrWriter(ifinfoHead(dev));
  w.str(IFLA_IFNAME, dev.name).u32(IFLA_TXQLEN, dev.txqlen);
  const op = dev.operstate;
  w.u8(IFLA_OPERSTATE, op === 'unknown' ? IF_OPER_UNKNOWN : op === 'up' ? IF_OPER_UP : IF_OPER_DOWN);
  w.u8(IFLA_LINKMODE, 0).u32(IFLA_MTU, dev.mtu).u32(IFLA_MIN_MTU, dev.flags & IFF_LOOPBACK ? 0 : 68)
    .u32(IFLA_MAX_MTU, dev.flags & IFF_LOOPBACK ? 0 : 65535).u32(IFLA_GROUP, 0).u32(IFLA_PROMISCUITY, 0)
    .u32(IFLA_NUM_TX_QUEUES, 1).u32(IFLA_NUM_RX_QUEUES, 1).u8(IFLA_CARRIER, dev.carrier ? 1 : 0)
    .u32(IFLA_CARRIER_CHANGES, 0).str(IFLA_QDISC, dev.flags & IFF_LOOPBACK ? 'noqueue' : 'fq_codel')
    .raw(IFLA_MAP, Buffer.alloc(32)).raw(IFLA_ADDRESS, dev.mac).raw(IFLA_BROADCAST, dev.broadcastMac);
  const s = dev.stats;
  const vals = [s.rxPackets, s.txPackets, s.rxBytes, s.txBytes, s.rxErrors, s.txErrors, s.rxDropped, s.txDropped, s.multicast];
  const st32 = Buffer.alloc(24 * 4), st64 = Buffer.alloc(24 * 8);
  vals.forEach((v, i) => { st32.writeUInt32LE(v >>> 0, i * 4); st64.writeBigUInt64LE(BigInt(v), i * 8); });
  w.raw(IFLA_STATS, st32).raw(IFLA_STATS64, st64);
  return w.build();
}

export function addrBodies(dev: NetDevice): Buffer[] {
  return dev.addrs.map((a) => {
    const h = Buffer.alloc(IFADDR);
    h[0] = AF_INET;
    h[1] = a.prefixLen;
    h[2] = a.flags & 0xff;
    h[3] = a.scope;
    h.writeUInt32LE(dev.index, 4);
    const w = new AttrWriter(h).ip4(IFA_ADDRESS, a.local).ip4(IFA_LOCAL, a.addr);
    if (a.broadcast) w.ip4(IFA_BROADCAST, a.broadcast);
    w.str(IFA_LABEL, a.label).u32(IFA_FLAGS, a.flags);
    const ci = Buffer.alloc(16);
    ci.writeUInt32LE(0xffffffff, 0);
    ci.writeUInt32LE(0xffffffff, 4);
    return w.raw(IFA_CACHEINFO, ci).build();
  });
}

export function routeBody(r: Route, extra?: (w: AttrWriter) => void, flags = 0): Buffer {
  const h = Buffer.alloc(RTMSG);
  h[0] = AF_INET;
  h[1] = r.prefixLen;
  h[4] = r.table;
  h[5] = r.protocol;
  h[6] = r.scope;
  h[7] = r.type;
  h.writeUInt32LE(flags, 8);
  const w = new AttrWriter(h).u32(RTA_TABLE, r.table);
  if (r.prefixLen > 0 || r.dst) w.ip4(RTA_DST, r.dst);
  if (r.metric) w.u32(RTA_PRIORITY, r.metric);
  if (r.prefsrc) w.ip4(RTA_PREFSRC, r.prefsrc);
  if (r.gateway) w.ip4(RTA_GATEWAY, r.gateway);
  w.u32(RTA_OIF, r.dev.index);
  extra?.(w);
  return w.build();
}

/** Serves one request; returns the reply messages (without the final ACK/error). */
export function rtnlRequest(ctx: RtnlContext, m: NlMsg): Buffer[] {
  const { stack } = ctx;
  const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
  const reply = (type: number, body: Buffer, multi = dump) => message(type, multi ? NLM_F_MULTI : 0, m.seq, ctx.portid, body);
  const done = () => message(NLMSG_DONE, NLM_F_MULTI, m.seq, ctx.portid, Buffer.alloc(4));
  const needAdmin = () => { if (!ctx.admin) throw new Errno(EPERM); };
  const family = m.body.length ? m.body[0]! : AF_UNSPEC;
  switch (m.type) {
    case RTM_GETLINK: {
      if (dump) return [...[...stack.devices.values()].map((d) => reply(RTM_NEWLINK, linkBody(d))), done()];
      const dev = findLink(stack, m.body);
      return [reply(RTM_NEWLINK, linkBody(dev), false)];
    }
    case RTM_NEWLINK: case RTM_SETLINK: {
      needAdmin();
      if (m.body.length < IFINFO) throw new Errno(EINVAL);
      const dev = findLink(stack, m.body);
      const attrs = parseAttrs(m.body, IFINFO);
      const mtu = attrs.get(IFLA_MTU);
      if (mtu) { dev.mtu = mtu.readUInt32LE(0); }
      const addr = attrs.get(IFLA_ADDRESS);
      if (addr && addr.length === 6) dev.mac = Buffer.from(addr);
      const txq = attrs.get(IFLA_TXQLEN);
      if (txq) dev.txqlen = txq.readUInt32LE(0);
      const name = attrString(attrs.get(IFLA_IFNAME));
      if (name && name !== dev.name && m.body.readInt32LE(4) !== 0) {
        if (stack.deviceByName(name)) throw new Errno(EEXIST);
        for (const a of dev.addrs) if (a.label === dev.name) a.label = name;
        dev.name = name;
      }
      const change = m.body.readUInt32LE(12) || 0;
      const want = m.body.readUInt32LE(8);
      const mask = (change === 0 ? 0 : change) & IFF_USER_MASK;
      if (mask) stack.setFlags(dev, (dev.flags & ~mask) | (want & mask));
      else stack.emit('link', dev, 'new');
      return [];
    }
    case RTM_DELLINK: needAdmin(); throw new Errno(EOPNOTSUPP);
    case RTM_GETADDR: {
      if (!dump) throw new Errno(EOPNOTSUPP);
      const out: Buffer[] = [];
      if (family === AF_UNSPEC || family === AF_INET) {
        const idx = m.body.length >= IFADDR ? m.body.readUInt32LE(4) : 0;
        for (const d of stack.devices.values()) if (!idx || d.index === idx) for (const b of addrBodies(d)) out.push(reply(RTM_NEWADDR, b));
      }
      return [...out, done()];
    }
    case RTM_NEWADDR: case RTM_DELADDR: {
      needAdmin();
      if (m.body.length < IFADDR) throw new Errno(EINVAL);
      if (m.body[0] !== AF_INET) throw new Errno(EOPNOTSUPP);
      const prefixLen = m.body[1]!;
      if (prefixLen > 32) throw new Errno(EINVAL);
      const dev = stack.device(m.body.readUInt32LE(4));
      const attrs = parseAttrs(m.body, IFADDR);
      const local = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
      if (m.type === RTM_DELADDR) {
        if (!local) {
          const first = dev.addrs[0];
          if (!first) throw new Errno(EADDRNOTAVAIL);
          stack.removeAddress(dev, first.addr);
        } else stack.removeAddress(dev, local.readUInt32BE(0), m.body[1] || undefined);
        return [];
      }
      if (!local) throw new Errno(EINVAL);
      const addr = local.readUInt32BE(0);
      const peer = attrs.get(IFA_ADDRESS);
      const brd = attrs.get(IFA_BROADCAST);
      const exists = dev.addrs.find((a) => a.addr === addr && a.prefixLen === prefixLen);
      if (exists) {
        if (m.flags & NLM_F_EXCL || !(m.flags & NLM_F_REPLACE)) throw new Errno(EEXIST);
        stack.removeAddress(dev, addr, prefixLen);
      }
      stack.addAddress(dev, {
        addr, prefixLen, local: peer ? peer.readUInt32BE(0) : addr,
        broadcast: brd ? brd.readUInt32BE(0) : 0, label: attrString(attrs.get(IFA_LABEL)) ?? dev.name,
        scope: m.body[3]!,
      });
      return [];
    }
    case RTM_GETROUTE: {
      if (dump) {
        if (family !== AF_UNSPEC && family !== AF_INET) return [done()];
        return [...stack.routes.routes.map((r) => reply(RTM_NEWROUTE, routeBody(r))), done()];
      }
      const attrs = parseAttrs(m.body, RTMSG);
      const dstB = attrs.get(RTA_DST);
      const dst = dstB ? dstB.readUInt32BE(0) : 0;
      const r = stack.routes.lookup(dst);
      if (!r) throw new Errno(ENETUNREACH);
      const dev = r.type === RTN_LOCAL ? stack.loopback : r.dev;
      const src = stack.sourceFor(dst);
      const cloned: Route = { ...r, dst, prefixLen: 32, dev, prefsrc: src, metric: 0 };
      return [reply(RTM_NEWROUTE, routeBody(cloned, (w) => w.u32(RTA_UID, 0), RTM_F_CLONED), false)];
    }
    case RTM_NEWROUTE: case RTM_DELROUTE: {
      needAdmin();
      if (m.body.length < RTMSG) throw new Errno(EINVAL);
      if (m.body[0] !== AF_INET) throw new Errno(EOPNOTSUPP);
      const attrs = parseAttrs(m.body, RTMSG);
      const prefixLen = m.body[1]!;
      const tableAttr = attrs.get(RTA_TABLE);
      const table = tableAttr ? tableAttr.readUInt32LE(0) : m.body[4] || RT_TABLE_MAIN;
      const dst = ((attrs.get(RTA_DST)?.readUInt32BE(0) ?? 0) & prefixMask(prefixLen)) >>> 0;
      const gw = attrs.get(RTA_GATEWAY)?.readUInt32BE(0) ?? 0;
      const oif = attrs.get(RTA_OIF)?.readUInt32LE(0);
      const metric = attrs.get(RTA_PRIORITY)?.readUInt32LE(0) ?? 0;
      let dev = oif ? stack.device(oif) : null;
      if (m.type === RTM_DELROUTE) {
        stack.routes.delete({ table, dst, prefixLen, ...(dev ? { dev } : {}), ...(gw ? { gateway: gw } : {}), ...(attrs.has(RTA_PRIORITY) ? { metric } : {}) });
        stack.emit('route', dev, 'del');
        return [];
      }
      if (!dev) {
        if (!gw) throw new Errno(ENODEV);
        const via = stack.routes.lookup(gw);
        if (!via || via.gateway) throw new Errno(ENETUNREACH);
        dev = via.dev;
      }
      const type = m.body[7] || RTN_UNICAST;
      stack.routes.add({
        table, type, dst, prefixLen, gateway: gw, dev, prefsrc: attrs.get(RTA_PREFSRC)?.readUInt32BE(0) ?? 0, metric,
        scope: m.body[6] === RT_SCOPE_HOST ? RT_SCOPE_HOST : gw ? RT_SCOPE_UNIVERSE : (m.body[6] ?? RT_SCOPE_LINK),
        protocol: m.body[5] || RTPROT_BOOT,
      }, (m.flags & NLM_F_REPLACE) !== 0 && !(m.flags & NLM_F_EXCL));
      stack.emit('route', dev, 'new');
      return [];
    }
    case RTM_GETNEIGH: {
      if (!dump) throw new Errno(EOPNOTSUPP);
      const out: Buffer[] = [];
      if (family === AF_UNSPEC || family === AF_INET) {
        for (const n of stack.neighbours()) {
          const h = Buffer.alloc(NDMSG);
          h[0] = AF_INET;
          h.writeInt32LE(n.dev.index, 4);
          h.writeUInt16LE(n.permanent ? NUD_PERMANENT : NUD_REACHABLE, 8);
          h[11] = RTN_UNICAST;
          const w = new AttrWriter(h).ip4(NDA_DST, n.addr);
          if (n.mac) w.raw(NDA_LLADDR, n.mac);
          out.push(reply(RTM_NEWNEIGH, w.build()));
        }
      }
      return [...out, done()];
    }
    default:
      // Other families' dumps (IPv6, rules, qdiscs, netconf …) are empty here.
      if (dump) return [done()];
      throw new Errno(EOPNOTSUPP);
  }
}

function findLink(stack: NetStack, body: Buffer): NetDevice {
  if (body.length < IFINFO) throw new Errno(EINVAL);
  const idx = body.readInt32LE(4);
  if (idx > 0) return stack.device(idx);
  const name = attrString(parseAttrs(body, IFINFO).get(IFLA_IFNAME));
  const d = name ? stack.deviceByName(name) : null;
  if (!d) throw new Errno(ENODEV);
  return d;
}

