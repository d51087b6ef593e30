// AF_NETLINK sockets (net/netlink/af_netlink.c) for NETLINK_ROUTE: requests go to
// rtnetlink, replies and notifications queue as datagrams (each may hold several messages,
// as a dump's skb does), with a port id per socket and multicast group membership.
import { Errno } from '../../errno.js';
import { EAGAIN, EINVAL, EOPNOTSUPP, EPROTONOSUPPORT, ESOCKTNOSUPPORT, ENOPROTOOPT, EADDRINUSE, ECONNREFUSED } from '../../abi/errno.js';
import { AF_NETLINK, SOCK_RAW, SOCK_DGRAM, MSG_PEEK, MSG_TRUNC } from '../../abi/socket.js';
import {
  NETLINK_ROUTE, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP, NETLINK_CAP_ACK, NETLINK_EXT_ACK,
  SOCKADDR_NL_SIZE, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST, NLMSG_HDRLEN, NLM_F_CAPPED, RTM_NEWLINK, RTM_NEWADDR,
  RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE, RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE,
} from '../../abi/netlink.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../fs/file.js';
import type { Task } from '../../task/task.js';
import { notify } from '../../event/notify.js';
import { Socket, type SendRequest, type RecvResult, type SocketFamily } from '../socket.js';
import { netStackOf } from '../inet/netns.js';
import type { NetStack } from '../inet/stack.js';
import type { NetDevice } from '../dev/netdev.js';
import { parseMessages, message } from './attrs.js';
import { rtnlRequest, linkBody, addrBodies } from './rtnetlink.js';

const ports = new WeakMap<NetStack, Map<number, NetlinkSocket>>();

function portTable(stack: NetStack): Map<number, NetlinkSocket> {
  let m = ports.get(stack);
  if (!m) {
    ports.set(stack, m = new Map());
    const table = m;
    stack.changeListeners.add((kind, dev, op) => broadcastChange(table, kind, dev, op));
  }
  return m;
}

function broadcastChange(table: Map<number, NetlinkSocket>, kind: 'link' | 'addr' | 'route', dev: NetDevice | null, op: 'new' | 'del'): void {
  const group = kind === 'link' ? RTMGRP_LINK : kind === 'addr' ? RTMGRP_IPV4_IFADDR : RTMGRP_IPV4_ROUTE;
  const listeners = [...table.values()].filter((s) => s.groups & group);
  if (!listeners.length || (kind !== 'route' && !dev)) return;
  let msgs: Buffer[];
  if (kind === 'link') msgs = [message(RTM_NEWLINK, 0, 0, 0, linkBody(dev!))];
  else if (kind === 'addr') msgs = addrBodies(dev!).map((b) => message(op === 'new' ? RTM_NEWADDR : RTM_DELADDR, 0, 0, 0, b));
  else msgs = [];
  void RTM_NEWROUTE; void RTM_DELROUTE;
  for (const s of listeners) for (const m of msgs) s.deliver(m);
}

export class NetlinkSocket extends Socket {
  readonly family = AF_NETLINK;
  portid = 0;
  groups = 0;
  private readonly queue: Buffer[] = [];
  private capAck = false;

  constructor(readonly stack: NetStack, type: number, protocol: number, flags: number) {
    super(type, protocol, flags);
  }

  private autobind(t: Task | null): void {
    if (this.portid) return;
    const table = portTable(this.stack);
    // Linux tries the thread-group id first, then negative numbers.
    let id = t ? t.group.tgid : 0;
    if (!id || table.has(id)) { id = -4096; while (table.has(id >>> 0)) id--; id >>>= 0; }
    this.portid = id;
    table.set(id, this);
  }

  override bind(t: Task, raw: Buffer): void {
    if (raw.length < SOCKADDR_NL_SIZE || raw.readUInt16LE(0) !== AF_NETLINK) throw new Errno(EINVAL);
    const pid = raw.readUInt32LE(4);
    this.groups = raw.readUInt32LE(8);
    if (pid && this.portid && pid !== this.portid) throw new Errno(EINVAL);
    if (pid && !this.portid) {
      const table = portTable(this.stack);
      if (table.has(pid)) throw new Errno(EADDRINUSE);
      this.portid = pid;
      table.set(pid, this);
    }
    this.autobind(t);
  }

  override connect(t: Task, raw: Buffer, _nonblock: boolean): void {
    if (raw.length < SOCKADDR_NL_SIZE || raw.readUInt16LE(0) !== AF_NETLINK) throw new Errno(EINVAL);
    if (raw.readUInt32LE(4) !== 0) throw new Errno(ECONNREFUSED);
    this.autobind(t);
  }

  override getsockname(): Buffer {
    return sockaddrNl(this.portid, this.groups);
  }
  override getpeername(): Buffer {
    return sockaddrNl(0, 0);
  }

  deliver(m: Buffer): void {
    this.queue.push(m);
    notify(this, POLLIN | POLLRDNORM);
  }

  sendmsg(t: Task, req: SendRequest): number {
    this.autobind(t);
    if (req.addr && req.addr.length >= SOCKADDR_NL_SIZE && req.addr.readUInt32LE(4) !== 0) throw new Errno(ECONNREFUSED);
    const replies: Buffer[] = [];
    for (const m of parseMessages(req.data)) {
      if (!(m.flags & NLM_F_REQUEST)) continue;
      let out: Buffer[] = [];
      let err = 0;
      try {
        out = rtnlRequest({ stack: this.stack, admin: t.cred.euid === 0, portid: this.portid }, m);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
        err = e.errno;
      }
      replies.push(...out);
      if (err || m.flags & NLM_F_ACK) {
        // struct nlmsgerr: error, then the request's header (and payload unless capped).
        const hdr = Buffer.alloc(NLMSG_HDRLEN);
        hdr.writeUInt32LE(NLMSG_HDRLEN + (this.capAck || !err ? 0 : m.body.length), 0);
        hdr.writeUInt16LE(m.type, 4);
        hdr.writeUInt16LE(m.flags, 6);
        hdr.writeUInt32LE(m.seq, 8);
        hdr.writeUInt32LE(m.pid, 12);
        const e = Buffer.alloc(4);
        e.writeInt32LE(-err);
        const body = Buffer.concat([e, hdr, this.capAck || !err ? Buffer.alloc(0) : m.body]);
        replies.push(message(NLMSG_ERROR, err && !this.capAck ? 0 : NLM_F_CAPPED, m.seq, this.portid, body));
      }
    }
    // A dump's messages travel in one datagram; so do all replies to one sendmsg.
    if (replies.length) this.deliver(Buffer.concat(replies));
    return req.data.length;
  }

  recvmsg(_t: Task, len: number, flags: number, _nonblock: boolean): RecvResult {
    const d = this.queue[0];
    if (!d) throw new Errno(EAGAIN);
    if (!(flags & MSG_PEEK)) this.queue.shift();
    const trunc = d.length > len;
    return {
      data: trunc ? d.subarray(0, len) : d, fullLength: d.length, addr: sockaddrNl(0, 0),
      rights: null, creds: null, flags: trunc ? MSG_TRUNC : 0,
    };
  }

  override poll(): number {
    return (this.queue.length ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM;
  }

  override setsockopt(t: Task, level: number, name: number, val: Buffer): void {
    if (level !== SOL_NETLINK) { super.setsockopt(t, level, name, val); return; }
    const v = val.length >= 4 ? val.readUInt32LE(0) : 0;
    switch (name) {
      case NETLINK_ADD_MEMBERSHIP: if (v >= 1 && v <= 32) this.groups |= 1 << (v - 1); this.autobind(t); return;
      case NETLINK_DROP_MEMBERSHIP: if (v >= 1 && v <= 32) this.groups &= ~(1 << (v - 1)); return;
      case NETLINK_CAP_ACK: this.capAck = v !== 0; return;
      case NETLINK_EXT_ACK: default: return;
    }
  }

  override getsockopt(t: Task, level: number, name: number): Buffer {
    if (level !== SOL_NETLINK) return super.getsockopt(t, level, name);
    const b = Buffer.alloc(4);
    if (name === NETLINK_CAP_ACK) b.writeUInt32LE(+this.capAck);
    else if (name > 12) throw new Errno(ENOPROTOOPT);
    return b;
  }

  protected override release(): void {
    const table = portTable(this.stack);
    if (table.get(this.portid) === this) table.delete(this.portid);
  }
}

function sockaddrNl(pid: number, groups: number): Buffer {
  const b = Buffer.alloc(SOCKADDR_NL_SIZE);
  b.writeUInt16LE(AF_NETLINK, 0);
  b.writeUInt32LE(pid >>> 0, 4);
  b.writeUInt32LE(groups >>> 0, 8);
  return b;
}

export const netlinkFamily: SocketFamily = {
  create(t: Task, type: number, protocol: number, flags: number): Socket {
    if (type !== SOCK_RAW && type !== SOCK_DGRAM) throw new Errno(ESOCKTNOSUPPORT);
    if (protocol !== NETLINK_ROUTE) throw new Errno(EPROTONOSUPPORT);
    const s = new NetlinkSocket(netStackOf(t.kernel), type, protocol, flags);
    s.uid = t.cred.fsuid;
    s.gid = t.cred.fsgid;
    return s;
  },
};

