// UML's kernel command line: `tuml [switch=value …] [-- command args…]`. Unknown words are
// passed to init as UML passes them (as its argv/env), malformed known switches are errors.

export interface MachineConfig {
  mem: number;
  umid: string | null;
  umlDir: string | null;
  root: string | null;
  rootfstype: string | null;
  rootflags: string | null;
  init: string | null;
  hostfs: string | null;
  hostfsAppend: boolean;
  quiet: boolean;
  readOnly: boolean;
  /** Switches tuml accepts for later subsystems (ubdN, conN, sslN, ethN, mconsole …), raw. */
  devices: Map<string, string>;
  /** `tuml [switches] -- cmd args…`: run one command in a fresh machine (default or as configured). */
  command: string[] | null;
  /** Words for init (UML passes unknown arguments to init). */
  initArgs: string[];
  cmdline: string;
}

export class CmdlineError extends Error {}

const SIZE_RE = /^(\d+)([kKmMgG]?)$/;

export function parseSize(s: string, what: string): number {
  const m = SIZE_RE.exec(s);
  if (!m) throw new CmdlineError(`${what}: bad size '${s}' (expected a number with an optional K, M or G suffix)`);
  const mult = { '': 1, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']!;
  return Number(m[1]) * mult;
}

const DEVICE_RE = /^(ubd[0-9a-z]*[rscdt]*|udb.*|con\d*|ssl\d*|eth\d+|vec\d+.*|mconsole|xterm|stderr|tty_log_dir|tty_log_fd|dsp|mixer|iomem|initrd|dtb|time-travel.*|virtio_uml\.device|fake_ide)$/;

export function parseCmdline(argv: string[]): MachineConfig {
  const cfg: MachineConfig = {
    mem: 256 << 20, umid: null, umlDir: null, root: null, rootfstype: null, rootflags: null,
    init: null, hostfs: null, hostfsAppend: false, quiet: false, readOnly: false,
    devices: new Map(), command: null, initArgs: [], cmdline: '',
  };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      cfg.command = argv.slice(i + 1);
      // One command in a throwaway machine: boot messages would only get in its way.
      if (!words.some((x) => x.startsWith('loglevel'))) cfg.quiet = true;
      if (cfg.command.length === 0) throw new CmdlineError("'--' must be followed by a command to run");
      break;
    }
    words.push(w);
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    const val = eq < 0 ? null : w.slice(eq + 1);
    const need = (): string => {
      if (val === null || val === '') throw new CmdlineError(`${key}: missing value (use ${key}=…)`);
      return val;
    };
    switch (key) {
      case 'mem': cfg.mem = parseSize(need(), 'mem'); if (cfg.mem < 16 << 20) throw new CmdlineError(`mem: ${val} is too small (at least 16M)`); break;
      case 'umid': {
        const u = need();
        if (u.length > 63 || u.includes('/')) throw new CmdlineError(`umid: '${u}' is not a valid machine id (at most 63 characters, no '/')`);
        cfg.umid = u;
        break;
      }
      case 'uml_dir': cfg.umlDir = need(); break;
      case 'root': cfg.root = need(); break;
      case 'rootfstype': cfg.rootfstype = need(); break;
      case 'rootflags': cfg.rootflags = need(); break;
      case 'init': cfg.init = need(); break;
      case 'hostfs': {
        const v = need();
        const parts = v.split(',');
        cfg.hostfs = parts[0]!;
        cfg.hostfsAppend = parts.slice(1).includes('append');
        break;
      }
      case 'quiet': cfg.quiet = true; break;
      case 'ro': cfg.readOnly = true; break;
      case 'rw': cfg.readOnly = false; break;
      case 'debug': case 'noreboot': case 'nosysemu': case 'loglevel': case 'console': case 'seccomp': case 'ssl-non-raw':
        cfg.devices.set(key, val ?? ''); break;
      case '--help': case '--version': case '--showconfig':
        cfg.devices.set(key, ''); break;
      default:
        if (DEVICE_RE.test(key)) {
          if (val === null) throw new CmdlineError(`${key}: missing '=' (use ${key}=…)`);
          cfg.devices.set(key, val);
        } else if (key.startsWith('-')) {
          throw new CmdlineError(`unknown option '${w}' (UML switches are written name=value; see tuml --help)`);
        } else {
          cfg.initArgs.push(w);
        }
    }
  }
  if (cfg.rootfstype === 'hostfs' && !cfg.rootflags) throw new CmdlineError('rootfstype=hostfs needs rootflags=<host directory>');
  if (cfg.root && cfg.root !== '/dev/root' && cfg.rootfstype !== 'hostfs' && !/^\/dev\/ubd/.test(cfg.root)) {
    throw new CmdlineError(`root=${cfg.root}: unknown root device (use root=/dev/ubda, or rootfstype=hostfs rootflags=DIR)`);
  }
  cfg.cmdline = words.join(' ');
  return cfg;
}

export const HELP = `Usage: tuml [switches] [-- command [args...]]

tuml is User-Mode Linux in TypeScript. With no root device it boots the default
machine: the host's / read-only under a copy-on-write layer in memory, with its own
/proc, /dev, /sys, /tmp and /root.

  -- cmd args...          run one command in a fresh default machine; exit with its status
  mem=<size>[KMG]         memory size of the machine (default 256M)
  root=/dev/root rootfstype=hostfs rootflags=<dir>
                          a host directory as the root file system
  ro / rw                 mount the root read-only / read-write
  ubd<N>[rscdt]=<file>[,<backing>]
                          a block device (/dev/ubda…) on an image, or a COW file over it
  root=/dev/ubda          boot from a ubd device (ext2/3/4)
  init=<path>             the first program (default /sbin/init, else /bin/sh)
  hostfs=<dir>[,append]   confine guest hostfs mounts to <dir>
  umid=<name>, uml_dir=<dir>
                          machine id and its directory (~/.uml/<umid>)
  quiet                   no boot messages

Tools: tuml mconsole | ls | mkcow | moo | mkfs | switch  (each with --help)
`;
