// The table of host transports for ethN= (UML's `struct transport` list, net_kern.c): each
// entry parses its part of the spec as its *_setup() function does and opens the link.
// A new transport (tuntap, vde, slirp) is one new entry here plus its own module.
import { DAEMON_DEFAULTS, daemonInfo, DaemonTransport, type DaemonOptions } from './daemon.js';
import { MCAST_DEFAULTS, mcastInfo, McastTransport, type McastOptions } from './mcast.js';
import { parseSlirpOptions, SlirpConfigError, slirpInfo, type SlirpOptions } from './slirp/options.js';
import { SlirpTransport } from './slirp/slirp-transport.js';
import type { NetTransport } from './transport.js';
import { UCAST_DEFAULTS, ucastInfo, UcastTransport, type UcastOptions } from './ucast.js';

/** A kernel-log line as UML would printk it (level: 3 err, 4 warning, 6 info). */
export interface LogLine {
  level: 3 | 4 | 6;
  text: string;
}

/** A bad ethN= spec; the message is UML's. */
export class EthConfigError extends Error {}

export type TransportConfig =
  | { name: 'daemon'; options: DaemonOptions }
  | { name: 'mcast'; options: McastOptions }
  | { name: 'ucast'; options: UcastOptions }
  | { name: 'slirp'; options: SlirpOptions };

export interface SetupResult {
  /** The MAC field as written (undefined when absent or empty). */
  mac: string | undefined;
  config: TransportConfig;
}

export interface TransportKind {
  name: TransportConfig['name'];
  /** Parse what follows "<name>," (or "" when nothing does). Throws EthConfigError. */
  setup(spec: string, log: LogLine[]): SetupResult;
}

/**
 * UML's split_if_spec(): fill up to `count` comma-separated fields, an empty field staying
 * undefined (keeps the default); return the text after them (when a comma followed the
 * last one, even if empty) or null.
 */
export function splitIfSpec(str: string, count: number): { fields: (string | undefined)[]; rest: string | null } {
  const fields: (string | undefined)[] = new Array<string | undefined>(count).fill(undefined);
  let s = str;
  for (let i = 0; i < count; i++) {
    if (s === '') return { fields, rest: null };
    const comma = s.indexOf(',');
    if (comma !== 0) fields[i] = comma < 0 ? s : s.slice(0, comma);
    if (comma < 0) return { fields, rest: null };
    s = s.slice(comma + 1);
  }
  return { fields, rest: s };
}

/** simple_strtoul(s, &end, 10) followed by UML's "*end != '\0' || end == s" check. */
function parseDecimal(s: string): number | null {
  return /^[0-9]+$/.test(s) ? Number(s) : null;
}

const daemon: TransportKind = {
  name: 'daemon',
  setup(spec, log) {
    const { fields: [mac, sockType, ctlSock], rest } = splitIfSpec(spec, 3);
    if (rest !== null) log.push({ level: 4, text: 'daemon_setup : Ignoring data socket specification' });
    return {
      mac,
      config: { name: 'daemon', options: { sockType: sockType ?? DAEMON_DEFAULTS.sockType, ctlSock: ctlSock ?? DAEMON_DEFAULTS.ctlSock } },
    };
  },
};

const mcast: TransportKind = {
  name: 'mcast',
  setup(spec, log) {
    const { fields: [mac, addr, portStr, ttlStr], rest } = splitIfSpec(spec, 4);
    if (rest !== null) throw new EthConfigError(`mcast_setup - Extra garbage on specification : '${rest}'`);
    const options: McastOptions = { ...MCAST_DEFAULTS, addr: addr ?? MCAST_DEFAULTS.addr };
    if (portStr !== undefined) {
      const p = parseDecimal(portStr);
      if (p === null || p > 0xffff) throw new EthConfigError(`mcast_setup - Bad port : '${portStr}'`);
      options.port = p;
    }
    if (ttlStr !== undefined) {
      const t = parseDecimal(ttlStr);
      if (t === null || t > 255) throw new EthConfigError(`mcast_setup - Bad ttl : '${ttlStr}'`);
      options.ttl = t;
    }
    log.push({ level: 6, text: `Configured mcast device: ${options.addr}:${options.port}-${options.ttl}` });
    return { mac, config: { name: 'mcast', options } };
  },
};

const ucast: TransportKind = {
  name: 'ucast',
  setup(spec, log) {
    const { fields: [mac, addr, lportStr, rportStr], rest } = splitIfSpec(spec, 4);
    if (rest !== null) throw new EthConfigError(`ucast_setup - Extra garbage on specification : '${rest}'`);
    const options: UcastOptions = { ...UCAST_DEFAULTS, addr: addr ?? UCAST_DEFAULTS.addr };
    if (lportStr !== undefined) {
      const p = parseDecimal(lportStr);
      if (p === null || p > 0xffff) throw new EthConfigError(`ucast_setup - Bad listen port : '${lportStr}'`);
      options.listenPort = p;
    }
    if (rportStr !== undefined) {
      const p = parseDecimal(rportStr);
      if (p === null || p > 0xffff) throw new EthConfigError(`ucast_setup - Bad remote port : '${rportStr}'`);
      options.remotePort = p;
    }
    log.push({ level: 6, text: `Configured ucast device: :${options.listenPort} -> ${options.addr}:${options.remotePort}` });
    return { mac, config: { name: 'ucast', options } };
  },
};

// tuml's built-in user-mode network: `slirp[,<mac>[,<option>…]]` (options in slirp/options.ts).
const slirp: TransportKind = {
  name: 'slirp',
  setup(spec, log) {
    const { fields: [mac], rest } = splitIfSpec(spec, 1);
    let options: SlirpOptions;
    try {
      options = parseSlirpOptions(rest === null ? [] : rest.split(','));
    } catch (e) {
      if (e instanceof SlirpConfigError) throw new EthConfigError(e.message);
      throw e;
    }
    log.push({ level: 6, text: `Configured slirp device: ${slirpInfo(options)}` });
    return { mac, config: { name: 'slirp', options } };
  },
};

/** In UML's registration order; matching is by name followed by ',' or the end. */
export const TRANSPORTS: readonly TransportKind[] = [daemon, mcast, ucast, slirp];

/** What UML prints for a configured transport after "Netdevice N (mac) : ". */
export function transportInfo(config: TransportConfig): string {
  switch (config.name) {
    case 'daemon': return daemonInfo(config.options);
    case 'mcast': return mcastInfo(config.options);
    case 'ucast': return ucastInfo(config.options);
    case 'slirp': return slirpInfo(config.options);
  }
}

/** Open the host side of a configured transport. */
export async function openTransport(config: TransportConfig): Promise<NetTransport> {
  switch (config.name) {
    case 'daemon': return DaemonTransport.open(config.options);
    case 'mcast': return McastTransport.open(config.options);
    case 'ucast': return UcastTransport.open(config.options);
    case 'slirp': return SlirpTransport.open(config.options);
  }
}
