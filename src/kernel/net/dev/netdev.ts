// A network device (struct net_device): a name and index, flags, MTU, a hardware address,
// the IPv4 addresses assigned to it and the counters /proc/net/dev shows. Subclasses move
// packets: lo loops them back, ethN frames them for a host transport.
import { IFF_UP, IFF_RUNNING, IFF_LOWER_UP } from '../../abi/inet.js';

export interface DevStats {
  rxPackets: number; rxBytes: number; rxErrors: number; rxDropped: number; multicast: number;
  txPackets: number; txBytes: number; txErrors: number; txDropped: number;
}

/** One IPv4 address on a device (struct in_ifaddr). */
export interface InAddr {
  addr: number;
  prefixLen: number;
  /** Broadcast address, or 0 for none. */
  broadcast: number;
  /** Peer address of a point-to-point link, else the address itself. */
  local: number;
  label: string;
  scope: number;
  /** IFA_F_* flags (IFA_F_PERMANENT for configured addresses). */
  flags: number;
}

/** What a device hands received packets to (the stack). */
export interface PacketSink {
  receive(dev: NetDevice, proto: number, packet: Buffer): void;
}

export function newDevStats(): DevStats {
  return { rxPackets: 0, rxBytes: 0, rxErrors: 0, rxDropped: 0, multicast: 0, txPackets: 0, txBytes: 0, txErrors: 0, txDropped: 0 };
}

export abstract class NetDevice {
  index = 0;
  /** IFF_* flags the administrator sets; IFF_RUNNING/LOWER_UP follow the carrier. */
  flags: number;
  mtu: number;
  txqlen: number;
  readonly stats = newDevStats();
  readonly addrs: InAddr[] = [];
  /** Carrier present (the transport is connected). */
  carrier = true;
  sink: PacketSink | null = null;
  /** Called after flags, addresses or MTU change (routes follow, netlink listeners hear). */
  onChange: ((dev: NetDevice, what: 'link' | 'addr') => void) | null = null;

  constructor(public name: string, readonly type: number, public mac: Buffer, flags: number, mtu: number, txqlen: number) {
    this.flags = flags;
    this.mtu = mtu;
    this.txqlen = txqlen;
  }

  get up(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }

  /** Flags as SIOCGIFFLAGS and RTM_NEWLINK report them. */
  get reportedFlags(): number {
    let f = this.flags & ~(IFF_RUNNING | IFF_LOWER_UP);
    if (this.up && this.carrier) f |= IFF_RUNNING | IFF_LOWER_UP;
    return f;
  }

  /** RFC 2863 operstate as IFLA_OPERSTATE and /sys/class/net/X/operstate name it. */
  get operstate(): 'up' | 'down' | 'unknown' {
    if (!this.up) return 'down';
    return this.carrier ? this.operUpName : 'down';
  }
  /** lo has no carrier detection and says "unknown", as Linux does. */
  protected get operUpName(): 'up' | 'unknown' {
    return 'up';
  }

  abstract get broadcastMac(): Buffer;

  /** Sends one packet of protocol `proto` (ETH_P_IP …) toward `nextHop` (an IPv4 address). */
  abstract transmit(proto: number, packet: Buffer, nextHop: number): void;

  /** Hook when the device is brought up or down. */
  open(): void {}
  stop(): void {}
}
