// `eth<N>=slirp[,<mac>[,<option>…]]`: the user-mode network's configuration. UML's own
// slirp transport took a helper command (`slirp,<mac>,<cmd>[,<arg>…]`); tuml has the network
// built in, so the fields after the MAC are options spelled as QEMU's `-netdev user`:
//   net=10.0.2.0/24        the virtual LAN (gateway .2, DNS .3, first DHCP address .15)
//   host=<ip>              the gateway's address (the host, seen from the guest)
//   dns=<ip>               the DNS forwarder's address
//   dhcpstart=<ip>         the first address the DHCP server hands out
//   restrict=on|off        on: the guest reaches only the gateway's services and port forwards
//   hostfwd=tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport   (repeatable; hostaddr
//                          defaults to 127.0.0.1 — tuml never listens on all interfaces
//                          unless told to, e.g. hostfwd=tcp:0.0.0.0:8022-:22)
import { ipToString, parseIp } from './packet.js';

export interface HostForward {
  proto: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestAddr: number;
  guestPort: number;
}

export interface SlirpOptions {
  network: number;
  prefixLen: number;
  gateway: number;
  dns: number;
  dhcpStart: number;
  restrict: boolean;
  forwards: HostForward[];
}

export class SlirpConfigError extends Error {}

/** QEMU's defaults. */
export function slirpDefaults(): SlirpOptions {
  return {
    network: parseIp('10.0.2.0')!,
    prefixLen: 24,
    gateway: parseIp('10.0.2.2')!,
    dns: parseIp('10.0.2.3')!,
    dhcpStart: parseIp('10.0.2.15')!,
    restrict: false,
    forwards: [],
  };
}

export function netmaskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

function ipOption(key: string, v: string): number {
  const ip = parseIp(v);
  if (ip === null) throw new SlirpConfigError(`slirp_setup - Bad ${key} address : '${v}'`);
  return ip;
}

function port(v: string, what: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > 0xffff) throw new SlirpConfigError(`slirp_setup - Bad ${what} port : '${v}'`);
  return Number(v);
}

/** `tcp:[hostaddr]:hostport-[guestaddr]:guestport` (guestaddr filled in later when empty). */
export function parseHostForward(spec: string): { fwd: Omit<HostForward, 'guestAddr'>; guestAddr: number | null } {
  const m = /^(tcp|udp)?:([^:]*):([^-]*)-([^:]*):(.*)$/.exec(spec);
  if (!m) throw new SlirpConfigError(`slirp_setup - Bad hostfwd : '${spec}' (want tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport)`);
  const hostAddr = m[2] === '' ? '127.0.0.1' : m[2]!;
  if (parseIp(hostAddr) === null) throw new SlirpConfigError(`slirp_setup - Bad hostfwd host address : '${hostAddr}'`);
  const guestAddr = m[4] === '' ? null : ipOption('hostfwd guest', m[4]!);
  return {
    fwd: { proto: (m[1] ?? 'tcp') as 'tcp' | 'udp', hostAddr, hostPort: port(m[3]!, 'hostfwd host'), guestPort: port(m[5]!, 'hostfwd guest') },
    guestAddr,
  };
}

/** Parse the option fields (each `key=value`). Throws SlirpConfigError. */
export function parseSlirpOptions(fields: readonly string[]): SlirpOptions {
  const o = slirpDefaults();
  let hostSet = false, dnsSet = false, startSet = false;
  const forwards: { fwd: Omit<HostForward, 'guestAddr'>; guestAddr: number | null }[] = [];
  for (const f of fields) {
    if (f === '') continue;
    const eq = f.indexOf('=');
    if (eq < 0) throw new SlirpConfigError(`slirp_setup - Bad option : '${f}' (want key=value)`);
    const key = f.slice(0, eq), v = f.slice(eq + 1);
    switch (key) {
      case 'net': {
        const m = /^([^/]+)(?:\/([0-9]+))?$/.exec(v);
        const ip = m ? parseIp(m[1]!) : null;
        const len = m?.[2] !== undefined ? Number(m[2]) : 24;
        if (ip === null || len < 8 || len > 29) throw new SlirpConfigError(`slirp_setup - Bad net : '${v}'`);
        o.prefixLen = len;
        o.network = (ip & netmaskOf(len)) >>> 0;
        break;
      }
      case 'host': o.gateway = ipOption(key, v); hostSet = true; break;
      case 'dns': o.dns = ipOption(key, v); dnsSet = true; break;
      case 'dhcpstart': o.dhcpStart = ipOption(key, v); startSet = true; break;
      case 'restrict':
        if (!['on', 'off', 'yes', 'no', 'y', 'n'].includes(v)) throw new SlirpConfigError(`slirp_setup - Bad restrict : '${v}'`);
        o.restrict = v === 'on' || v === 'yes' || v === 'y';
        break;
      case 'hostfwd': forwards.push(parseHostForward(v)); break;
      default: throw new SlirpConfigError(`slirp_setup - Unknown option : '${key}'`);
    }
  }
  // The service addresses follow net= unless given, as QEMU's do.
  if (!hostSet) o.gateway = (o.network + 2) >>> 0;
  if (!dnsSet) o.dns = (o.network + 3) >>> 0;
  if (!startSet) o.dhcpStart = (o.network + 15) >>> 0;
  const mask = netmaskOf(o.prefixLen);
  for (const [what, ip] of [['host', o.gateway], ['dns', o.dns], ['dhcpstart', o.dhcpStart]] as const) {
    if (((ip & mask) >>> 0) !== o.network) throw new SlirpConfigError(`slirp_setup - ${what} ${ipToString(ip)} is outside net ${ipToString(o.network)}/${o.prefixLen}`);
  }
  o.forwards = forwards.map(({ fwd, guestAddr }) => ({ ...fwd, guestAddr: guestAddr ?? o.dhcpStart }));
  return o;
}

/** The options as `ethN=slirp,<mac>,` would spell them (defaults left out). */
export function describeSlirpOptions(o: SlirpOptions): string {
  const d = slirpDefaults();
  const parts: string[] = [];
  if (o.network !== d.network || o.prefixLen !== d.prefixLen) parts.push(`net=${ipToString(o.network)}/${o.prefixLen}`);
  if (o.gateway !== ((o.network + 2) >>> 0)) parts.push(`host=${ipToString(o.gateway)}`);
  if (o.dns !== ((o.network + 3) >>> 0)) parts.push(`dns=${ipToString(o.dns)}`);
  if (o.dhcpStart !== ((o.network + 15) >>> 0)) parts.push(`dhcpstart=${ipToString(o.dhcpStart)}`);
  if (o.restrict) parts.push('restrict=on');
  for (const f of o.forwards) parts.push(`hostfwd=${f.proto}:${f.hostAddr}:${f.hostPort}-${ipToString(f.guestAddr)}:${f.guestPort}`);
  return parts.join(',');
}

/** The configure-time line after "Netdevice N (mac) : ". */
export function slirpInfo(o: SlirpOptions): string {
  const fwd = o.forwards.map((f) => ` ${f.proto}:${f.hostAddr}:${f.hostPort}->${ipToString(f.guestAddr)}:${f.guestPort}`).join('');
  return `slirp backend - net ${ipToString(o.network)}/${o.prefixLen}, gateway ${ipToString(o.gateway)}, dns ${ipToString(o.dns)}${fwd}`;
}
