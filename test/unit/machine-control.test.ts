// The main-thread half of machine management without a kernel: ctl requests and replies,
// MachineControl over them, and startMachineControl's umid directory, socket, boot line,
// notify packet and cleanup — answered by a fake kernel thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ToKernel } from '../../src/kernel/interrupts.js';
import { KernelControl, kernelMachineControl, startMachineControl, type CtlResult } from '../../src/cli/machine-control.js';
import { parseCmdline } from '../../src/cli/cmdline.js';
import { mconsoleInitMessage } from '../../src/drivers/mconsole/server.js';
import { UnixDgramSocket, sockaddrUn } from '../../src/host/unix-dgram.js';
import { decodeNotify, MCONSOLE_SOCKET } from '../../src/drivers/mconsole/protocol.js';
import { recvWithin, run } from './mconsole-fake.js';

type Ctl = Extract<ToKernel, { type: 'ctl' }>;

/** A kernel thread that answers each ctl with `answer(op, arg)`, asynchronously as the real one. */
function fakeKernel(answer: (op: string, arg: string) => CtlResult) {
  const seen: Ctl[] = [];
  let kc: Pick<KernelControl, 'onReply'> | null = null;
  const send = (m: ToKernel) => {
    if (m.type !== 'ctl') return;
    seen.push(m);
    const r = answer(m.op, m.arg);
    setImmediate(() => kc?.onReply({ type: 'ctl-reply', id: m.id, err: r.err, text: r.text }));
  };
  return { seen, send, attach: (c: Pick<KernelControl, 'onReply'>) => { kc = c; } };
}

test('KernelControl matches replies to requests by id; cancelAll fails what waits', async () => {
  const sent: Ctl[] = [];
  const kc = new KernelControl((m) => { if (m.type === 'ctl') sent.push(m); });
  const a = kc.request('version');
  const b = kc.request('proc', 'meminfo');
  assert.deepEqual(sent.map((m) => [m.op, m.arg]), [['version', ''], ['proc', 'meminfo']]);
  assert.notEqual(sent[0]!.id, sent[1]!.id);
  kc.onReply({ type: 'ctl-reply', id: sent[1]!.id, err: 0, text: 'MemTotal' });
  assert.deepEqual(await b, { err: 0, text: 'MemTotal' });
  kc.cancelAll();
  assert.deepEqual(await a, { err: 1, text: '' });
  assert.deepEqual(await kc.request('version'), { err: 1, text: '' });
  assert.equal(sent.length, 2);
});

test('MachineControl over ctl: proc failures, stack, mem plug, version', async () => {
  let mem = 256 << 20;
  const k = fakeKernel((op, arg) => {
    switch (op) {
      case 'proc': return arg === 'loadavg' ? { err: 0, text: '0.00 0.00 0.00 1/1 1\n' } : { err: 1, text: 'Failed to open file' };
      case 'stack': return arg === '1' ? { err: 0, text: 'task:sh\n' } : { err: 1, text: "Couldn't find that pid" };
      case 'mem': mem += (arg[0] === '+' ? 1 : -1) * Number(arg.slice(1)) * 4096; return { err: 0, text: String(mem) };
      case 'version': return { err: 0, text: 'Linux box 6.12.0-tuml #1 SMP PREEMPT tuml x86_64' };
      default: return { err: 0, text: '' };
    }
  });
  const kc = new KernelControl(k.send);
  k.attach(kc);
  const ctl = kernelMachineControl(kc, mem);
  assert.deepEqual(await ctl.proc('loadavg'), { text: '0.00 0.00 0.00 1/1 1\n' });
  assert.deepEqual(await ctl.proc('nope'), { fail: 'Failed to open file' });
  assert.equal(await ctl.stack(1), 'task:sh\n');
  assert.equal(await ctl.stack(99), null);
  const memDev = ctl.devices().find((d) => d.name === 'mem')!;
  assert.deepEqual(await memDev.config('=+64M'), { err: 0, text: '' });
  assert.deepEqual(await memDev.getConfig!(''), { text: String(320 << 20) });
  assert.match(ctl.version(), /^Linux tuml /);
  assert.equal(await ctl.versionNow(), 'Linux box 6.12.0-tuml #1 SMP PREEMPT tuml x86_64');
  assert.equal(ctl.version(), 'Linux box 6.12.0-tuml #1 SMP PREEMPT tuml x86_64');
  ctl.stop(); ctl.go(); ctl.cad(); ctl.log('hi'); ctl.halt();
  assert.deepEqual(k.seen.slice(-5).map((m) => [m.op, m.arg]), [['stop', ''], ['go', ''], ['cad', ''], ['log', 'hi'], ['halt', '']]);
});

test('startMachineControl: umid dir, pid, socket answering uml_mconsole, boot line, notify, cleanup', async (t) => {
  const dir = mkdtempSync(`${tmpdir()}/tuml-mctl-`);
  const notify = UnixDgramSocket.open(4096);
  notify.bind(sockaddrUn(`${dir}/notify`));
  try {
    const k = fakeKernel((op) => (op === 'version' ? { err: 0, text: 'Linux fake 6.12.0-tuml #1 x86_64' } : { err: 0, text: '' }));
    const cfg = parseCmdline(['umid=u1', `uml_dir=${dir}`, `mconsole=notify:${dir}/notify`]);
    const lines: string[] = [];
    const m = startMachineControl(cfg, k.send, (l) => lines.push(l));
    k.attach(m);
    const sock = `${dir}/u1/mconsole`;
    assert.deepEqual(lines, []);
    assert.deepEqual(readdirSync(`${dir}/u1`).sort(), ['mconsole', 'pid']);
    assert.equal(readFileSync(`${dir}/u1/pid`, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(k.seen.map((c) => [c.op, c.arg]), [['printk', mconsoleInitMessage(sock)]]);
    const n = decodeNotify((await recvWithin(notify, 2000))!)!;
    assert.deepEqual([n.type, n.data.toString()], [MCONSOLE_SOCKET, `${sock}\0`]);
    if (spawnable()) {
      const r = await run('uml_mconsole', [sock, 'version']);
      assert.deepEqual([r.stdout, r.code], ['OK Linux fake 6.12.0-tuml #1 x86_64\n', 0]);
    } else t.diagnostic('uml_mconsole not installed: socket round trip not checked');
    m.close();
    m.close();
    assert.equal(existsSync(`${dir}/u1`), false);
  } finally {
    notify.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('startMachineControl: a bad mconsole= option is reported as UML reports it', () => {
  const dir = mkdtempSync(`${tmpdir()}/tuml-mctl-`);
  try {
    const lines: string[] = [];
    const m = startMachineControl(parseCmdline(['umid=u2', `uml_dir=${dir}`, 'mconsole=bogus']), () => {}, (l) => lines.push(l));
    assert.deepEqual(lines, ["mconsole_setup : Unknown option - 'bogus'\n"]);
    m.close();
    assert.equal(existsSync(`${dir}/u2`), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function spawnable(): boolean {
  try {
    return existsSync('/usr/bin/uml_mconsole');
  } catch {
    return false;
  }
}
