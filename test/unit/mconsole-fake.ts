// Shared by the mconsole tests: a fake machine that answers as the Debian UML 6.1 booted by
// test/unit/mconsole-uml.test.ts does, and small socket helpers.
import { spawn } from 'node:child_process';
import { EBUSY, EINVAL, ENODEV } from '../../src/kernel/abi/errno.js';
import { HELP_TEXT, lineId, memDevice, ubdId, type MachineControl, type McDevice } from '../../src/drivers/mconsole/commands.js';
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
    p.stdin.on('error', () => { /* one-shot programs need not read their input */ });
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

const LOCAL_HELP =
  'Additional local mconsole commands:\n    quit - Quit mconsole\n    switch <socket-name> - Switch control to the given machine\n' +
  '    log -f <filename> - use contents of <filename> as UML log messages\n    mconsole-version - version of this mconsole program\n' +
  '    int  - Interrupt UML session\n';

/** [command, stdout, exit status] as Debian's UML 6.1 answered uml_mconsole. */
export const RECORDED: [string, string, number][] = [
  ['version', `OK ${UML_VERSION}\n`, 0],
  ['versionXYZ', `OK ${UML_VERSION}\n`, 0],
  ['help', `OK ${HELP_TEXT}\n${LOCAL_HELP}`, 0],
  ['foo', 'ERR Unknown command\n', 1],
  ['hel', 'ERR Unknown command\n', 1],
  ['config', 'ERR Bad configuration option\n', 1],
  ['config xyz', 'ERR Bad configuration option\n', 1],
  ['config ubd0', 'OK root_fs\n', 0],
  ['config ubd1', 'OK \n', 0],
  ['config con0', 'OK null\n', 0],
  ['config con', 'ERR line_get_config failed to parse device number\n', 1],
  ['config ssl0', 'OK pty\n', 0],
  ['config eth0', 'ERR No get_config routine defined\n', 1],
  ['config mem', 'OK 1610612736\n', 0],
  ['config mem=', "ERR Expected increment to start with '-' or '+'\n", 234],
  ['config mem=5', "ERR Expected increment to start with '-' or '+'\n", 234],
  ['config mem=+abc', 'ERR Failed to parse memory increment\n', 234],
  ['config ubd0=/tmp/x.img', 'ERR Device is already configured\n', 240],
  ['remove', 'ERR Bad remove option\n', 1],
  ['remove xyz', 'ERR Bad remove option\n', 1],
  ['remove ubd', "ERR Couldn't parse device number\n", 1],
  ['remove ubdx', 'ERR Invalid device number - must be between 0 and 15\n', 1],
  ['remove ubd99', 'ERR Invalid device number - must be between 0 and 15\n', 1],
  ['remove ubd5', "ERR Device doesn't exist\n", 237],
  ['remove con', "ERR Couldn't parse device number\n", 1],
  ['remove mem', "ERR Memory doesn't support the remove operation\n", 240],
  ['go', 'ERR Not stopped\n', 1],
  ['stack', 'ERR Please specify a pid\n', 1],
  ['stack abc', 'ERR Please specify a pid\n', 1],
  ['stack 0', "ERR Couldn't find that pid\n", 1],
  ['stack 99999', "ERR Couldn't find that pid\n", 1],
  ['proc', 'ERR Read of file failed\n', 1],
  ['proc nonexist', 'ERR Failed to open file\n', 1],
  ['log hello', 'OK \nOK \n', 0],
  ['mconsole-version', 'uml_mconsole client version 2\n', 0],
];

