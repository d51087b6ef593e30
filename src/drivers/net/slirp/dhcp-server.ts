// The DHCP server of the user-mode network (RFC 2131/2132), as QEMU's bootp.c behaves: it
// answers on the gateway's address, leases addresses from dhcpstart up (one per client MAC,
// sixteen in all) and tells the client its netmask, router (the gateway) and DNS server (the
// forwarder).
import type { UdpDatagram, VirtualLan } from './gateway.js';
import { netmaskOf } from './options.js';

export const BOOTPS_PORT = 67;
export const BOOTPC_PORT = 68;
const BOOTREQUEST = 1;
const BOOTREPLY = 2;
const DHCP_MAGIC = 0x63825363;
const BOOTP_MIN_LEN = 300;
const BOOTP_FLAG_BROADCAST = 0x8000;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

const OPT_PAD = 0, OPT_SUBNET_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_BROADCAST = 28, OPT_REQUESTED_IP = 50,
  OPT_LEASE_TIME = 51, OPT_MESSAGE_TYPE = 53, OPT_SERVER_ID = 54, OPT_END = 255;

const LEASES = 16;
const LEASE_SECONDS = 86400;

export interface DhcpRequest {
  xid: number;
  flags: number;
  ciaddr: number;
  chaddr: Buffer;
  type: number;
  requestedIp: number | null;
  serverId: number | null;
}

/** Parse a BOOTREQUEST carrying DHCP options; null when it is not one. */
export function parseDhcp(b: Buffer): DhcpRequest | null {
  if (b.length < 240 || b[0] !== BOOTREQUEST || b[1] !== 1 || b[2] !== 6 || b.readUInt32BE(236) !== DHCP_MAGIC) return null;
  const r: DhcpRequest = {
    xid: b.readUInt32BE(4), flags: b.readUInt16BE(10), ciaddr: b.readUInt32BE(12),
    chaddr: Buffer.from(b.subarray(28, 34)), type: 0, requestedIp: null, serverId: null,
  };
  for (let i = 240; i < b.length;) {
    const code = b[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) { i++; continue; }
    const len = b[i + 1] ?? 0;
    const v = b.subarray(i + 2, i + 2 + len);
    if (v.length !== len) break;
    if (code === OPT_MESSAGE_TYPE && len === 1) r.type = v[0]!;
    else if (code === OPT_REQUESTED_IP && len === 4) r.requestedIp = v.readUInt32BE(0);
    else if (code === OPT_SERVER_ID && len === 4) r.serverId = v.readUInt32BE(0);
    i += 2 + len;
  }
  return r.type === 0 ? null : r;
}

export class DhcpServer {
  /** Lease slot i holds dhcpStart + i; the value is the client's MAC as hex. */
  private readonly leases: (string | null)[] = new Array<string | null>(LEASES).fill(null);

  constructor(private readonly lan: VirtualLan) {}

  input(d: UdpDatagram): void {
    const r = parseDhcp(d.data);
    if (!r) return;
    const o = this.lan.opts;
    switch (r.type) {
      case DHCPDISCOVER: {
        const ip = this.leaseFor(r.chaddr, true);
        if (ip !== null) this.reply(r, DHCPOFFER, ip);
        break;
      }
      case DHCPREQUEST: {
        // Another server's offer was taken: forget ours.
        if (r.serverId !== null && r.serverId !== o.gateway) { this.release(r.chaddr); return; }
        const want = r.requestedIp ?? r.ciaddr;
        const ip = this.leaseFor(r.chaddr, true);
        if (ip === null || (want !== 0 && want !== ip)) this.reply(r, DHCPNAK, 0);
        else this.reply(r, DHCPACK, ip);
        break;
      }
      case DHCPINFORM:
        this.reply(r, DHCPACK, 0);
        break;
      case DHCPRELEASE:
        this.release(r.chaddr);
        break;
    }
  }

  /** The client's address: its lease, or (when `create`) a free one. */
  private leaseFor(mac: Buffer, create: boolean): number | null {
    const hex = mac.toString('hex');
    let i = this.leases.indexOf(hex);
    if (i < 0 && create) {
      i = this.leases.indexOf(null);
      if (i >= 0) this.leases[i] = hex;
    }
    return i < 0 ? null : (this.lan.opts.dhcpStart + i) >>> 0;
  }

  private release(mac: Buffer): void {
    const i = this.leases.indexOf(mac.toString('hex'));
    if (i >= 0) this.leases[i] = null;
  }

  private reply(r: DhcpRequest, type: number, yiaddr: number): void {
    const o = this.lan.opts;
    const mask = netmaskOf(o.prefixLen);
    const b = Buffer.alloc(BOOTP_MIN_LEN);
    b[0] = BOOTREPLY;
    b[1] = 1;
    b[2] = 6;
    b.writeUInt32BE(r.xid, 4);
    b.writeUInt16BE(r.flags, 10);
    b.writeUInt32BE(type === DHCPNAK ? 0 : r.ciaddr, 12);
    b.writeUInt32BE(yiaddr, 16);
    b.writeUInt32BE(type === DHCPNAK ? 0 : o.gateway, 20); // siaddr: the next server
    r.chaddr.copy(b, 28);
    b.writeUInt32BE(DHCP_MAGIC, 236);
    let i = 240;
    const opt = (code: number, v: Buffer): void => {
      b[i] = code;
      b[i + 1] = v.length;
      v.copy(b, i + 2);
      i += 2 + v.length;
    };
    const u32 = (n: number): Buffer => { const v = Buffer.alloc(4); v.writeUInt32BE(n >>> 0); return v; };
    opt(OPT_MESSAGE_TYPE, Buffer.from([type]));
    opt(OPT_SERVER_ID, u32(o.gateway));
    if (type !== DHCPNAK) {
      if (type !== DHCPACK || yiaddr !== 0) opt(OPT_LEASE_TIME, u32(LEASE_SECONDS));
      opt(OPT_SUBNET_MASK, u32(mask));
      opt(OPT_ROUTER, u32(o.gateway));
      opt(OPT_DNS, u32(o.dns));
      opt(OPT_BROADCAST, u32((o.network | ~mask) >>> 0));
    }
    b[i] = OPT_END;
    // RFC 2131 §4.1: to ciaddr when the client has one; broadcast when it asks or for a NAK;
    // otherwise to the offered address at the client's MAC.
    if (r.ciaddr !== 0 && type !== DHCPNAK) this.lan.sendUdp(o.gateway, BOOTPS_PORT, r.ciaddr, BOOTPC_PORT, b);
    else if ((r.flags & BOOTP_FLAG_BROADCAST) || type === DHCPNAK || yiaddr === 0) this.lan.sendUdp(o.gateway, BOOTPS_PORT, 0xffffffff, BOOTPC_PORT, b);
    else this.lan.sendUdp(o.gateway, BOOTPS_PORT, yiaddr, BOOTPC_PORT, b, r.chaddr);
  }
}
