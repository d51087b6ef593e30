// The mconsole command table (Linux mconsole_user.c commands[], handlers from mconsole_kern.c):
// each entry is a name matched as a prefix of the request, and a handler that replies through
// the request. The machine itself is reached only through MachineControl, which the
// integrator implements over the kernel (tests use a fake).
import { EBUSY, EINVAL, ENODEV } from '../../kernel/abi/errno.js';

/** A result of a device operation: err as UML's drivers return it (0, 1 or -errno) and the text. */
export interface McResult { err: number; text: string }

/** `config <dev>` query result: the text, or an error string (sent with err=1). */
export type McQuery = { text: string } | { error: string };

/** `proc <file>` result: the whole file, or which of UML's failures happened. */
export type McProcResult =
  | { text: string }
  | { fail: 'Proc not available' | 'Failed to open file' | 'Failed to allocate buffer' | 'Read of file failed' };

/** A device that mconsole can configure (UML's struct mc_device). */
export interface McDevice {
  /** Registered name, matched as a prefix of the argument: "ubd", "con", "ssl", "eth", "mem". */
  readonly name: string;
  /** Hot-add: `spec` is everything after the name, '=' included ("0=disk.img", "=+64M"). */
  config(spec: string): McResult | Promise<McResult>;
  /** Query: `unit` is everything after the name ("0"). Absent: "No get_config routine defined". */
  getConfig?(unit: string): McQuery | Promise<McQuery>;
  /** UML's id(): the unit number parsed from `unit` (negative: unparseable) and the valid range. */
  id(unit: string): { n: number; start: number; end: number };
  /** Hot-remove unit n: err 0, -ENODEV, -EBUSY or another -errno; text overrides UML's default. */
  remove(n: number): { err: number; text?: string } | Promise<{ err: number; text?: string }>;
}

/** What mconsole needs from the machine. */
export interface MachineControl {
  /** "<sysname> <nodename> <release> <version> <machine>" from the guest's utsname. */
  version(): string;
  /** Called after the empty reply has been queued. */
  halt(): void;
  reboot(): void;
  /** The registered devices, in lookup order. */
  devices(): readonly McDevice[];
  /** Run SysRq `key` ('' when none was given) and return the console output it printed. */
  sysrq(key: string): Promise<string>;
  /** Ctrl-Alt-Del: signal init as Linux's ctrl_alt_del() does. */
  cad(): void;
  /** Freeze every guest task; mconsole keeps answering. */
  stop(): void;
  go(): void;
  /** printk(KERN_WARNING "%s", text). */
  log(text: string): void;
  /** Read /proc/<path> of the guest. */
  proc(path: string): Promise<McProcResult>;
  /** show_stack() output for a guest pid, or null when there is no such task. */
  stack(pid: number): Promise<string | null>;
}

/** One request being served: its command text and a way to reply to its sender. */
export interface McRequest {
  /** The request's data as a C string (after data[len] = 0). */
  readonly data: string;
  /** The persistent 512-byte data buffer, stale bytes past the NUL included (UML reads them). */
  readonly raw: Buffer;
  reply(text: string, err: number, more: boolean): void;
}

/** State shared by the handlers of one console. */
export interface McContext {
  readonly ctl: MachineControl;
  stopped: boolean;
}

export interface McCommand {
  readonly name: string;
  readonly handler: (req: McRequest, ctx: McContext) => void | Promise<void>;
}

/** UML_MCONSOLE_HELPTEXT, byte for byte. */
export const HELP_TEXT =
  'Commands: \n' +
  '    version - Get kernel version \n' +
  '    help - Print this message \n' +
  '    halt - Halt UML \n' +
  '    reboot - Reboot UML \n' +
  '    config <dev>=<config> - Add a new device to UML;  \n' +
  '\tsame syntax as command line \n' +
  '    config <dev> - Query the configuration of a device \n' +
  '    remove <dev> - Remove a device from UML \n' +
  '    sysrq <letter> - Performs the SysRq action controlled by the letter \n' +
  '    cad - invoke the Ctrl-Alt-Del handler \n' +
  "    stop - pause the UML; it will do nothing until it receives a 'go' \n" +
  "    go - continue the UML after a 'stop' \n" +
  '    log <string> - make UML enter <string> into the kernel log\n' +
  "    proc <file> - returns the contents of the UML's /proc/<file>\n" +
  '    stack <pid> - returns the stack of the specified pid\n';

/** The kernel's skip_spaces(): isspace() is " \t\n\v\f\r". */
function skipSpaces(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+/, '');
}

function findDevice(ctl: MachineControl, arg: string): McDevice | undefined {
  return ctl.devices().find((d) => arg.startsWith(d.name));
}

/** Console output goes back as more=1 packets, then a final empty reply (with_console()). */
function streamConsole(req: McRequest, text: string): void {
  if (text.length > 0) req.reply(text, 0, true);
  req.reply('', 0, false);
}

/** PAGE_SIZE - 1: mconsole_proc() reads the file in chunks of this size. */
const PROC_CHUNK = 4095;

export const COMMANDS: readonly McCommand[] = [
  {
    name: 'version',
    handler: (req, { ctl }) => req.reply(ctl.version(), 0, false),
  },
  {
    name: 'halt',
    handler: (req, { ctl }) => { req.reply('', 0, false); ctl.halt(); },
  },
  {
    name: 'reboot',
    handler: (req, { ctl }) => { req.reply('', 0, false); ctl.reboot(); },
  },
  {
    name: 'config',
    handler: async (req, { ctl }) => {
      const arg = skipSpaces(req.data.slice('config'.length));
      const dev = findDevice(ctl, arg);
      if (!dev) { req.reply('Bad configuration option', 1, false); return; }
      const rest = arg.slice(dev.name.length);
      if (rest.includes('=')) {
        const r = await dev.config(rest);
        req.reply(r.text, r.err, false);
        return;
      }
      if (!dev.getConfig) { req.reply('No get_config routine defined', 1, false); return; }
      const q = await dev.getConfig(rest);
      if ('error' in q) req.reply(q.error, 1, false);
      else req.reply(q.text, 0, false);
    },
  },
  {
    name: 'remove',
    handler: async (req, { ctl }) => {
      const arg = skipSpaces(req.data.slice('remove'.length));
      const dev = findDevice(ctl, arg);
      if (!dev) { req.reply('Bad remove option', 1, false); return; }
      const { n, start, end } = dev.id(arg.slice(dev.name.length));
      if (n < 0) { req.reply("Couldn't parse device number", 1, false); return; }
      if (n < start || n > end) {
        req.reply(`Invalid device number - must be between ${start} and ${end}`, 1, false);
        return;
      }
      const r = await dev.remove(n);
      let text = r.text;
      if (r.err === 0) text = '';
      else if (r.err === -ENODEV) text ??= "Device doesn't exist";
      else if (r.err === -EBUSY) text ??= 'Device is currently open';
      req.reply(text ?? '', r.err, false);
    },
  },
  {
    name: 'sysrq',
    handler: async (req, { ctl }) => {
      const key = skipSpaces(req.data.slice('sysrq'.length)).slice(0, 1);
      // 'b' reboots before it could answer, so UML answers first.
      if (key === 'b') req.reply('', 0, false);
      streamConsole(req, await ctl.sysrq(key));
    },
  },
  {
    name: 'help',
    handler: (req) => req.reply(HELP_TEXT, 0, false),
  },
  {
    name: 'cad',
    handler: (req, { ctl }) => { req.reply('', 0, false); ctl.cad(); },
  },
  {
    name: 'stop',
    handler: (req, ctx) => {
      if (ctx.stopped) { req.reply('Already stopped', 1, false); return; }
      ctx.ctl.stop();
      ctx.stopped = true;
      req.reply('stopped', 0, false);
    },
  },
  {
    name: 'go',
    handler: (req, ctx) => {
      if (!ctx.stopped) { req.reply('Not stopped', 1, false); return; }
      ctx.stopped = false;
      ctx.ctl.go();
      req.reply('', 0, false);
    },
  },
  {
    name: 'log',
    handler: (req, { ctl }) => {
      // UML skips strlen("log ") bytes blindly and prints up to the next NUL.
      const tail = req.raw.subarray(4);
      const nul = tail.indexOf(0);
      ctl.log(tail.subarray(0, nul < 0 ? tail.length : nul).toString('utf8'));
      req.reply('', 0, false);
    },
  },
  {
    name: 'proc',
    handler: async (req, { ctl }) => {
      const path = skipSpaces(req.data.slice('proc'.length));
      const r = await ctl.proc(path);
      if ('fail' in r) { req.reply(r.fail, 1, false); return; }
      // The file begins on its own line, then one reply per read, then the empty last read.
      req.reply('\n', 0, true);
      const bytes = Buffer.from(r.text, 'utf8');
      for (let off = 0; off < bytes.length; off += PROC_CHUNK) {
        req.reply(bytes.subarray(off, off + PROC_CHUNK).toString('utf8'), 0, true);
      }
      req.reply('', 0, false);
    },
  },
  {
    name: 'stack',
    handler: async (req, { ctl }) => {
      const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(req.data.slice('stack'.length));
      if (!m) { req.reply('Please specify a pid', 1, false); return; }
      const pid = parseInt(m[1], 10);
      const out = pid === 0 ? null : await ctl.stack(pid);
      if (out === null) { req.reply("Couldn't find that pid", 1, false); return; }
      streamConsole(req, out);
    },
  },
];

/** UML's prefix match: the first command whose name begins the request. */
export function findCommand(data: string, table: readonly McCommand[] = COMMANDS): McCommand | undefined {
  return table.find((c) => data.startsWith(c.name));
}

// ---- helpers for device drivers -------------------------------------------------------------

/** ubd's id(): parse_unit() takes a number or a letter (a = 0); units 0..max-1. */
export function ubdId(unit: string, max = 16): { n: number; start: number; end: number } {
  let n = -1;
  const num = /^\d+/.exec(unit);
  if (num) n = parseCNumber(unit).value;
  else if (/^[a-z]/.test(unit)) n = unit.charCodeAt(0) - 97;
  return { n, start: 0, end: max - 1 };
}

/** line_id() (con, ssl): a whole-string number; units 0..count-1. */
export function lineId(unit: string, count: number): { n: number; start: number; end: number } {
  const r = parseCNumber(unit);
  return { n: r.end === 0 || r.end !== unit.length ? -1 : r.value, start: 0, end: count - 1 };
}

/** simple_strtoul(s, &end, 0): decimal, 0x hex or 0 octal; `end` is the characters used. */
export function parseCNumber(s: string): { value: number; end: number } {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(s);
  if (!m) return { value: 0, end: 0 };
  const t = m[1];
  const value = /^0[xX]/.test(t) ? parseInt(t.slice(2), 16) : t.length > 1 && t[0] === '0' ? parseInt(t, 8) : parseInt(t, 10);
  return { value, end: t.length };
}

/** memparse(): a number with an optional K/M/G/T/P/E suffix; `end` is the characters used. */
export function memparse(s: string): { value: number; end: number } {
  const r = parseCNumber(s);
  let value = r.value;
  let end = r.end;
  const suffix = s[end]?.toUpperCase();
  const shift: Record<string, number> = { K: 10, M: 20, G: 30, T: 40, P: 50, E: 60 };
  if (end > 0 && suffix !== undefined && suffix in shift) {
    value *= 2 ** shift[suffix];
    end++;
  }
  return { value, end };
}

/** What the `mem` device needs from the memory manager. */
export interface MemoryPlug {
  /** uml_physmem in bytes, as `config mem` prints it. */
  physmem(): number;
  /** Plug (+) or unplug (-) up to `pages` pages; UML stops quietly when it runs out. */
  plug(pages: number, add: boolean): void | Promise<void>;
}

/** UML's `mem` mconsole device (mem_config, mem_get_config, mem_id, mem_remove). */
export function memDevice(mem: MemoryPlug, pageSize = 4096): McDevice {
  return {
    name: 'mem',
    async config(spec) {
      if (spec[0] !== '=') return { err: -EINVAL, text: "Expected '=' after 'mem'" };
      const sign = spec[1];
      if (sign !== '-' && sign !== '+') return { err: -EINVAL, text: "Expected increment to start with '-' or '+'" };
      const { value, end } = memparse(spec.slice(2));
      if (end !== spec.length - 2) return { err: -EINVAL, text: 'Failed to parse memory increment' };
      await mem.plug(Math.floor(value / pageSize), sign === '+');
      return { err: 0, text: '' };
    },
    getConfig: () => ({ text: String(mem.physmem()) }),
    id: () => ({ n: 0, start: 0, end: 0 }),
    remove: () => ({ err: -EBUSY, text: "Memory doesn't support the remove operation" }),
  };
}
