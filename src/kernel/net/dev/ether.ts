// An Ethernet device (UML's ethN, drivers/net + net/ipv4/arp.c): frames with a 14-byte
// header, ARP to find the hardware address of the next hop (a cache with a pending queue
// per address, retries, and answers for our own addresses). Frames leave through `output`,
// which the machine wires to a host transport on the main thread.
import {
  ARPHRD_ETHER, ETH_P_IP, ETH_P_ARP, IFF_BROADCAST, IFF_MULTICAST, IFF_NOARP, IFF_PROMISC,
} from '../../abi/inet.js';
import { monotonicMs } from '../../sched/timers.js';
import { NetDevice } from './netdev.js';
import type { NetEnv, Neighbour } from '../inet/stack.js';

export const ETH_HLEN = 14, ETH_DATA_LEN = 1500;
const BROADCAST = Buffer.alloc(6, 0xff);
const ARPOP_REQUEST = 1, ARPOP_REPLY = 2;
/** base_reachable_time-ish lifetime of a learned entry, retransmit interval, attempts. */
const ARP_VALID_MS = 30000, ARP_RETRANS_MS = 1000, ARP_PROBES = 3;
/** arp_queue_len_bytes-ish: packets kept per unresolved address. */
const ARP_QUEUE_MAX = 101;

interface ArpEntry { mac: Buffer | null; updated: number; permanent: boolean; queue: Buffer[]; tries: number; cancel: (() => void) | null }

export class EtherDevice extends NetDevice {
  readonly arp = new Map<number, ArpEntry>();
  /** Hands a frame to the host side. */
  output: (frame: Buffer) => void = () => {};

  constructor(name: string, mac: Buffer, private readonly env: NetEnv) {
    // UML's devices come up down, with a carrier as soon as the transport is open.
    super(name, ARPHRD_ETHER, Buffer.from(mac), IFF_BROADCAST | IFF_MULTICAST, ETH_DATA_LEN, 1000);
  }

  override get broadcastMac(): Buffer {
    return BROADCAST;
  }

  neighbours(): Neighbour[] {
    const now = monotonicMs();
    return [...this.arp.entries()].filter(([, e]) => e.mac && (e.permanent || now - e.updated < ARP_VALID_MS * 4))
      .map(([addr, e]) => ({ dev: this, addr, mac: e.mac, permanent: e.permanent }));
  }

  override stop(): void {
    for (const e of this.arp.values()) e.cancel?.();
    this.arp.clear();
  }

  private sendFrame(dst: Buffer, proto: number, payload: Buffer): void {
    // Not from the pool: the frame crosses to the main thread, which copies its whole ArrayBuffer.
    const f = Buffer.allocUnsafeSlow(ETH_HLEN + payload.length);
    dst.copy(f, 0);
    this.mac.copy(f, 6);
    f.writeUInt16BE(proto, 12);
    payload.copy(f, ETH_HLEN);
    this.stats.txPackets++;
    this.stats.txBytes += f.length;
    this.output(f);
  }

  transmit(proto: number, packet: Buffer, nextHop: number): void {
    if (!this.up || !this.carrier) { this.stats.txDropped++; return; }
    if (nextHop >>> 0 === 0xffffffff || this.addrs.some((a) => a.broadcast && a.broadcast === nextHop >>> 0)) {
      this.sendFrame(BROADCAST, proto, packet);
      return;
    }
    if ((nextHop >>> 28) === 0xe) {
      // IPv4 multicast MAC: 01:00:5e + low 23 bits of the group.
      const m = Buffer.from([0x01, 0x00, 0x5e, (nextHop >>> 16) & 0x7f, (nextHop >>> 8) & 0xff, nextHop & 0xff]);
      this.sendFrame(m, proto, packet);
      return;
    }
    if (this.flags & IFF_NOARP) { this.sendFrame(BROADCAST, proto, packet); return; }
    const e = this.arp.get(nextHop);
    const now = monotonicMs();
    if (e?.mac && (e.permanent || now - e.updated < ARP_VALID_MS)) {
      this.sendFrame(e.mac, proto, packet);
      return;
    }
    const entry = e ?? { mac: null, updated: 0, permanent: false, queue: [], tries: 0, cancel: null };
    if (!e) this.arp.set(nextHop, entry);
    if (entry.mac) {
      // Stale: use it, and confirm it in the background (NUD_STALE → DELAY/PROBE).
      this.sendFrame(entry.mac, proto, packet);
      if (!entry.cancel) this.solicit(nextHop, entry, entry.mac);
      return;
    }
    if (entry.queue.length < ARP_QUEUE_MAX) entry.queue.push(packet);
    else this.stats.txDropped++;
    if (!entry.cancel) { entry.tries = 0; this.solicit(nextHop, entry, null); }
  }

  private sourceFor(target: number): number {
    const same = this.addrs.find((a) => a.prefixLen && ((a.addr ^ target) >>> (32 - a.prefixLen)) === 0);
    return (same ?? this.addrs[0])?.addr ?? 0;
  }

  private solicit(target: number, entry: ArpEntry, unicast: Buffer | null): void {
    if (entry.tries >= ARP_PROBES) {
      // Failed: drop what waited (the sender sees EHOSTUNREACH from an ICMP in Linux; here, silence).
      this.stats.txDropped += entry.queue.length;
      entry.queue = [];
      entry.cancel = null;
      if (!entry.mac) this.arp.delete(target);
      return;
    }
    entry.tries++;
    this.sendArp(ARPOP_REQUEST, unicast ?? BROADCAST, Buffer.alloc(6), target, this.sourceFor(target));
    entry.cancel = this.env.timers.add(monotonicMs() + ARP_RETRANS_MS, () => {
      entry.cancel = null;
      if (entry.mac && monotonicMs() - entry.updated < ARP_VALID_MS) return;
      this.solicit(target, entry, unicast);
    });
  }

  private sendArp(op: number, dstMac: Buffer, targetMac: Buffer, targetIp: number, senderIp: number): void {
    const a = Buffer.alloc(28);
    a.writeUInt16BE(ARPHRD_ETHER, 0);
    a.writeUInt16BE(ETH_P_IP, 2);
    a[4] = 6;
    a[5] = 4;
    a.writeUInt16BE(op, 6);
    this.mac.copy(a, 8);
    a.writeUInt32BE(senderIp >>> 0, 14);
    targetMac.copy(a, 18);
    a.writeUInt32BE(targetIp >>> 0, 24);
    this.sendFrame(dstMac, ETH_P_ARP, a);
  }

  /** Learns (or refreshes) a neighbour and sends what waited for it. */
  private learn(ip: number, mac: Buffer, create: boolean): void {
    let e = this.arp.get(ip);
    if (!e) {
      if (!create) return;
      e = { mac: null, updated: 0, permanent: false, queue: [], tries: 0, cancel: null };
      this.arp.set(ip, e);
    }
    if (e.permanent) return;
    e.mac = Buffer.from(mac);
    e.updated = monotonicMs();
    e.cancel?.();
    e.cancel = null;
    const q = e.queue;
    e.queue = [];
    for (const p of q) this.sendFrame(e.mac, ETH_P_IP, p);
  }

  private arpInput(a: Buffer): void {
    if (a.length < 28 || a.readUInt16BE(0) !== ARPHRD_ETHER || a.readUInt16BE(2) !== ETH_P_IP || a[4] !== 6 || a[5] !== 4) return;
    const op = a.readUInt16BE(6);
    const sha = a.subarray(8, 14), spa = a.readUInt32BE(14), tpa = a.readUInt32BE(24);
    const forUs = this.addrs.some((x) => x.addr === tpa);
    // RFC 826: update an existing entry; create one when the request is for us.
    if (spa !== 0) this.learn(spa, sha, forUs);
    if (op === ARPOP_REQUEST && forUs) this.sendArp(ARPOP_REPLY, Buffer.from(sha), Buffer.from(sha), spa, tpa);
  }

  /** A frame from the wire. */
  receiveFrame(f: Buffer): void {
    if (!this.up || f.length < ETH_HLEN) { this.stats.rxDropped++; return; }
    const dst = f.subarray(0, 6);
    const mine = dst.equals(this.mac);
    const group = (dst[0]! & 1) !== 0;
    if (!mine && !group && !(this.flags & IFF_PROMISC)) return;
    this.stats.rxPackets++;
    this.stats.rxBytes += f.length;
    if (group && !dst.equals(BROADCAST)) this.stats.multicast++;
    const proto = f.readUInt16BE(12);
    const payload = Buffer.from(f.subarray(ETH_HLEN));
    if (proto === ETH_P_ARP) { this.arpInput(payload); return; }
    if (!mine && !group) return; // promiscuous copies are for packet sockets only
    this.sink?.receive(this, proto, payload);
  }

  /** `ip neigh add … lladdr … nud permanent` and `arp -s`. */
  setPermanent(ip: number, mac: Buffer): void {
    this.arp.set(ip, { mac: Buffer.from(mac), updated: monotonicMs(), permanent: true, queue: [], tries: 0, cancel: null });
  }
}
