// Shared by the mconsole tests: a fake machine that answers as the Debian UML 6.1 booted by
// test/unit/mconsole-uml.test.ts does, and small socket helpers.
import { spawn } from 'node:child_process';
import { EBUSY, EINVAL, ENODEV } from '../../src/kernel/abi/errno.js';
import { lineId, memDevice, ubdId, type MachineControl, type McDevice } from '../../src/drivers/mconsole/commands.js';
import { UnixDgramSocket } from '../../src/host/unix-dgram.js';

export const UML_VERSION = 'Linux (none) 6.1.176 #1 Sat Jul  4 15:38:16 UTC 2026 x86_64';

export interface FakeMachine extends MachineControl {
  calls: string[];
  logs: string[];
  ubd: Map<number, { spec: string; open: boolean }>;
}

export function fakeMachine(): FakeMachine {
  const calls: string[] = [];
  const logs: string[] = [];
  const ubd = new Map<number, { spec: string; open: boolean }>([[0, { spec: 'root_fs', open: true }]]);
  let physmem = 1610612736;
  const ubdDev: McDevice = {
    name: 'ubd',
    config(spec) {
      const m = /^(\d+)=(.*)$/.exec(spec);
      if (!m) return { err: -EINVAL, text: 'ubd_config failed to parse device number' };
      const n = Number(m[1]);
      if (ubd.has(n)) return { err: -EBUSY, text: 'Device is already configured' };
      ubd.set(n, { spec: m[2], open: false });
      return { err: 0, text: '' };
    },
    getConfig(unit) {
      const { n } = ubdId(unit);
      if (n < 0 || n > 15) return { error: 'ubd_get_config : device number out of range' };
      return { text: ubd.get(n)?.spec ?? '' };
    },
    id: (unit) => ubdId(unit),
    remove(n) {
      const d = ubd.get(n);
      if (!d) return { err: -ENODEV };
      if (d.open) return { err: -EBUSY };
      ubd.delete(n);
      return { err: 0 };
    },
  };
  const con: McDevice = {
    name: 'con',
    config: () => ({ err: -EINVAL, text: 'not supported' }),
    getConfig: (unit) => (lineId(unit, 8).n < 0 ? { error: 'line_get_config failed to parse device number' } : { text: unit === '0' ? 'null' : '' }),
    id: (unit) => lineId(unit, 8),
    remove: () => ({ err: 0 }),
  };
  const ssl: McDevice = { ...con, name: 'ssl', getConfig: (unit) => ({ text: unit === '0' ? 'pty' : '' }) };
  const eth: McDevice = { name: 'eth', config: () => ({ err: 0, text: '' }), id: (u) => lineId(u, 1 << 30), remove: () => ({ err: -ENODEV }) };
  const mem = memDevice({ physmem: () => physmem, plug: (pages, add) => { physmem += (add ? 1 : -1) * pages * 4096; } });
  const devices = [ubdDev, con, ssl, eth, mem];
  return {
    calls, logs, ubd,
    version: () => UML_VERSION,
    halt: () => { calls.push('halt'); },
    reboot: () => { calls.push('reboot'); },
    devices: () => devices,
    sysrq: async (key) => { calls.push(`sysrq ${key}`); return key === 'h' || key === '' ? 'sysrq: HELP : loglevel(0-9) reboot(b)\n' : ''; },
    cad: () => { calls.push('cad'); },
    stop: () => { calls.push('stop'); },
    go: () => { calls.push('go'); },
    log: (t) => { logs.push(t); },
    proc: async (path) => {
      if (path === 'loadavg') return { text: '0.00 0.00 0.00 1/31 449\n' };
      if (path === 'big') return { text: 'x'.repeat(9000) + '\n' };
      if (path === '') return { fail: 'Read of file failed' };
      return { fail: 'Failed to open file' };
    },
    stack: async (pid) => (pid === 1 ? 'Call Trace:\n [<0>] schedule\n' : null),
  };
}

/** Run a program; resolves to its exit status and output. */
export function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

/** Send a datagram, waiting (without sleeping) while the receiver's queue is full. */
export async function sendWaiting(sock: UnixDgramSocket, data: Buffer, to: Buffer): Promise<void> {
  for (;;) {
    const e = sock.sendTo(data, to);
    if (e === 0) return;
    if (e !== 11) throw new Error(`sendto: errno ${e}`);
    const h = UnixDgramSocket.open(1);
    if (h.connect(to) === 0) await new Promise<void>((r) => h.whenWritable(r));
    h.close();
  }
}

/** The next datagram on `sock`, or null after `ms` milliseconds. */
export function recvWithin(sock: UnixDgramSocket, ms: number): Promise<Buffer | null> {
  const d = sock.recvFrom();
  if (d) return Promise.resolve(d.data);
  return new Promise((resolve) => {
    const t = setTimeout(() => { sock.whenReadable(null); resolve(null); }, ms);
    sock.whenReadable(() => {
      const d2 = sock.recvFrom();
      if (!d2) return;
      clearTimeout(t);
      sock.whenReadable(null);
      resolve(d2.data);
    });
  });
}
