// `tuml ls [--json] [uml_dir=<dir>]`: the running machines in the uml dir (UML's and tuml's
// alike): umid, pid, uptime, and what their mconsole tells (version, memory, configured devices).
import { readdirSync, readFileSync } from 'node:fs';
import { MconsoleClient, type CliIo } from './mconsole.js';
import { pidAlive, readPidFile, resolveUmlDir } from '../drivers/umid.js';
import { invokedDirectly } from './invoked-directly.js';

export interface MachineInfo {
  umid: string;
  pid: number;
  /** Seconds since the machine's process started. */
  uptime: number | null;
  socket: string;
  version: string | null;
  /** `config mem`: physical memory in bytes. */
  memory: number | null;
  /** Devices whose `config <dev>` query answered with a non-empty configuration. */
  devices: Record<string, string>;
}

/** Units asked about; an empty answer means "not configured". */
const QUERIED_DEVICES = [
  ...Array.from({ length: 8 }, (_, i) => `ubd${i}`),
  ...Array.from({ length: 4 }, (_, i) => `eth${i}`),
  'con0', 'ssl0',
];
const QUERY_TIMEOUT_MS = 1000;

/** Seconds since `pid` started, from /proc/<pid>/stat's starttime and /proc/uptime. */
function processUptime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const now = parseFloat(readFileSync('/proc/uptime', 'latin1'));
    return Math.max(0, Math.round(now - startTicks / 100));
  } catch {
    return null;
  }
}

const silentIo: CliIo = {
  stdin: process.stdin,
  stdout: { write: () => true } as unknown as CliIo['stdout'],
  stderr: { write: () => true } as unknown as CliIo['stderr'],
  isTTY: false,
};

async function ask(c: MconsoleClient, cmd: string): Promise<{ err: number; output: string | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), QUERY_TIMEOUT_MS); });
  try {
    return await Promise.race([c.send(cmd), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Query one machine; a machine that stops answering yields what was learned so far. */
async function describe(umlDir: string, umid: string, pid: number): Promise<MachineInfo> {
  const socket = `${umlDir}${umid}/mconsole`;
  const info: MachineInfo = { umid, pid, uptime: processUptime(pid), socket, version: null, memory: null, devices: {} };
  const c = new MconsoleClient(silentIo);
  try {
    c.socketPath = socket;
    const v = await ask(c, 'version');
    if (!v || v.output === null) return info;
    if (v.err === 0) info.version = v.output;
    const mem = await ask(c, 'config mem');
    if (!mem) return info;
    if (mem.err === 0 && /^\d+$/.test(mem.output ?? '')) info.memory = Number(mem.output);
    for (const dev of QUERIED_DEVICES) {
      const r = await ask(c, `config ${dev}`);
      if (!r) return info;
      if (r.err === 0 && r.output) info.devices[dev] = r.output;
    }
    return info;
  } finally {
    c.close();
  }
}

/** Running machines under `umlDir` (dead machines' leftover directories are skipped). */
export async function listMachines(umlDir: string): Promise<MachineInfo[]> {
  let names: string[];
  try { names = readdirSync(umlDir).sort(); } catch { return []; }
  const out: MachineInfo[] = [];
  for (const umid of names) {
    const pid = readPidFile(umlDir + umid);
    if (pid === null || !pidAlive(pid)) continue;
    out.push(await describe(umlDir, umid, pid));
  }
  return out;
}

function formatUptime(s: number | null): string {
  if (s === null) return '-';
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

function formatBytes(n: number | null): string {
  if (n === null) return '-';
  return n >= 1 << 30 && n % (1 << 30) === 0 ? `${n / (1 << 30)}G` : `${Math.round(n / (1 << 20))}M`;
}

export async function main(argv: string[]): Promise<number> {
  let json = false;
  let dir: string | undefined;
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a.startsWith('uml_dir=')) dir = a.slice('uml_dir='.length);
    else if (a.startsWith('--uml-dir=')) dir = a.slice('--uml-dir='.length);
    else {
      process.stderr.write(`tuml ls: unknown argument '${a}'\nUsage: tuml ls [--json] [uml_dir=<dir>]\n`);
      return 2;
    }
  }
  const umlDir = resolveUmlDir(dir, process.env.HOME);
  const machines = await listMachines(umlDir);
  if (json) {
    process.stdout.write(JSON.stringify(machines, null, 2) + '\n');
    return 0;
  }
  const rows = [['UMID', 'PID', 'UPTIME', 'MEMORY', 'DEVICES']];
  for (const m of machines) {
    const devs = Object.entries(m.devices).map(([k, v]) => `${k}=${v}`).join(' ');
    rows.push([m.umid, String(m.pid), formatUptime(m.uptime), formatBytes(m.memory), devs || '-']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
  return 0;
}

if (invokedDirectly(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`tuml ls: ${String(e)}\n`); process.exitCode = 1; });
}
