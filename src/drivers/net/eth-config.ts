// `eth<N>=<transport>,<opts>` as UML parses it (net_kern.c: eth_setup/eth_parse,
// eth_setup_common/check_transport, uml_net_setup_etheraddr), and the MAC it assigns.
// tuml's one addition is `eth<N>.pcap=<file>`: capture that device's frames to a file.
import { randomBytes } from 'node:crypto';
import type { MachineConfig } from '../../cli/cmdline.js';
import { CaptureTransport, PcapWriter } from './pcap.js';
import { formatMac, type NetTransport } from './transport.js';
import { EthConfigError, openTransport, transportInfo, TRANSPORTS, type LogLine, type TransportConfig } from './transports.js';

export { EthConfigError, type LogLine, type TransportConfig } from './transports.js';

export interface EthConfig {
  index: number;
  /** The text after '=' as given (what `config ethN` would be re-created from). */
  spec: string;
  transport: TransportConfig;
  mac: Buffer;
  /** True when UML would have chosen the address at random (addr_assign_type NET_ADDR_RANDOM). */
  macRandom: boolean;
  /** What UML prints while configuring, in order (warnings, the "Configured ..." line). */
  log: LogLine[];
}

/** simple_strtoul with base 0 (0x.. hex, 0.. octal, else decimal): value and digits used. */
function strtoulBase0(s: string): { value: number; used: number } {
  let m = /^0[xX]([0-9a-fA-F]+)/.exec(s);
  if (m) return { value: parseInt(m[1], 16), used: m[0].length };
  m = /^0[0-7]*/.exec(s);
  if (m) return { value: parseInt(m[0], 8), used: m[0].length };
  m = /^[0-9]+/.exec(s);
  if (m) return { value: parseInt(m[0], 10), used: m[0].length };
  return { value: 0, used: 0 };
}

/**
 * Parse one `eth<N>=...` switch (also accepts the "N=..." that follows "eth", as UML's
 * eth_setup and mconsole's `config eth...` see it). `configured` holds the device numbers
 * already taken. Throws EthConfigError with UML's message; `random` is for tests.
 */
export function parseEthSwitch(arg: string, configured: ReadonlySet<number> = new Set(), random: (n: number) => Buffer = randomBytes): EthConfig {
  const body = arg.startsWith('eth') ? arg.slice(3) : arg;
  const bad = (why: string): never => { throw new EthConfigError(`eth_setup - Couldn't parse '${body}' : ${why}`); };
  const { value: index, used } = strtoulBase0(body);
  if (used === 0) bad('Bad device number');
  if (body[used] !== '=') bad("Expected '=' after device number");
  if (configured.has(index)) bad('Device already configured');
  return parseEthDevice(index, body.slice(used + 1), random);
}

/** Configure device `index` from the text after '=' (eth_setup_common). */
export function parseEthDevice(index: number, spec: string, random: (n: number) => Buffer = randomBytes): EthConfig {
  for (const kind of TRANSPORTS) {
    if (!spec.startsWith(kind.name)) continue;
    const after = spec.slice(kind.name.length);
    if (after !== '' && after[0] !== ',') continue;
    const log: LogLine[] = [];
    const { mac: macText, config } = kind.setup(after.slice(1), log);
    const { mac, random: macRandom } = setupEtherAddr(`eth${index}`, macText, log, random);
    return { index, spec, transport: config, mac, macRandom, log };
  }
  throw new EthConfigError('No match for configured backends');
}

/**
 * uml_net_setup_etheraddr: six hex bytes separated by ':' (each parsed like
 * simple_strtoul(.., 16), so "0x" prefixes pass and only the low byte counts). A missing,
 * unparsable, multicast or all-zero address gets a random locally administered unicast
 * one; a globally administered one is kept with a warning.
 */
export function setupEtherAddr(dev: string, text: string | undefined, log: LogLine[], random: (n: number) => Buffer = randomBytes): { mac: Buffer; random: boolean } {
  const chooseRandom = (): { mac: Buffer; random: boolean } => {
    log.push({ level: 6, text: `Choosing a random ethernet address for device ${dev}` });
    const mac = Buffer.from(random(6));
    mac[0] = (mac[0] & 0xfe) | 0x02; // eth_random_addr: unicast, locally administered
    return { mac, random: true };
  };
  if (text === undefined) return chooseRandom();
  const mac = Buffer.alloc(6);
  let s = text;
  for (let i = 0; i < 6; i++) {
    const m = /^(0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(s);
    const next = m ? s[m[0].length] : undefined;
    if (!m || (next !== ':' && next !== ',' && next !== undefined) || (next === undefined && i < 5)) {
      log.push({ level: 3, text: `setup_etheraddr: failed to parse '${text}' as an ethernet address` });
      return chooseRandom();
    }
    mac[i] = Number(BigInt('0x' + m[2]) & 0xffn);
    s = s.slice(m[0].length + 1);
  }
  if (mac[0] & 1) {
    log.push({ level: 3, text: 'Attempt to assign a multicast ethernet address to a device disallowed' });
    return chooseRandom();
  }
  if (mac.every((b) => b === 0)) {
    log.push({ level: 3, text: 'Attempt to assign an invalid ethernet address to a device disallowed' });
    return chooseRandom();
  }
  if (!(mac[0] & 2)) {
    log.push({ level: 4, text: 'Warning: Assigning a globally valid ethernet address to a device' });
    log.push({ level: 4, text: 'You should set the 2nd rightmost bit in the first byte of the MAC,' });
    const hint = Buffer.from(mac);
    hint[0] |= 2;
    log.push({ level: 4, text: `i.e. ${formatMac(hint)}` });
  }
  return { mac, random: false };
}

/**
 * A machine's `eth<N>=` switches in the order given, parsed as UML does. Both halves of the
 * driver parse them (the main thread for transports, the kernel for devices); a switch that
 * does not parse goes to `onError` and is skipped.
 */
export function parseEthSwitches(cfg: MachineConfig, onError: (e: unknown) => void): EthConfig[] {
  const out: EthConfig[] = [];
  const taken = new Set<number>();
  for (const [key, val] of cfg.devices) {
    if (!/^eth\d+$/.test(key)) continue;
    try {
      const c = parseEthSwitch(`${key}=${val}`, taken);
      taken.add(c.index);
      out.push(c);
    } catch (e) {
      onError(e);
    }
  }
  return out;
}

/** tuml's capture switch `eth<N>.pcap=<file>`: returns null when `arg` is not one. */
export function parseEthCaptureSwitch(arg: string): { index: number; file: string } | null {
  const m = /^eth([0-9]+)\.pcap=(.+)$/.exec(arg);
  return m ? { index: Number(m[1]), file: m[2] } : null;
}

/** UML's configure-time line (eth_configure): "Netdevice N (mac) : <transport info>". */
export function netdeviceBanner(cfg: EthConfig): string {
  return `Netdevice ${cfg.index} (${formatMac(cfg.mac)}) : ${transportInfo(cfg.transport)}`;
}

/** Open the host side of a configured device, capturing to `pcapFile` when given. */
export async function openEthTransport(cfg: EthConfig, pcapFile?: string): Promise<NetTransport> {
  const t = await openTransport(cfg.transport);
  if (pcapFile === undefined) return t;
  try {
    return new CaptureTransport(t, new PcapWriter(pcapFile));
  } catch (e) {
    t.close();
    throw e;
  }
}
