// The main thread of a running machine: host I/O for the console, timers and signals,
// and the doorbell that interrupts the kernel thread.
import { Worker, MessageChannel } from 'node:worker_threads';
import * as fs from 'node:fs';
import type { MachineConfig } from './cmdline.js';
import type { FromKernel, ToKernel } from '../kernel/interrupts.js';
import { isTerminal, makeRaw, windowSize } from '../host/terminal.js';
import { startMachineNet } from '../drivers/net/machine-net.js';
import { ChannelHost } from '../drivers/chan/host.js';
import { startMachineControl } from './machine-control.js';

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function runMachine(cfg: MachineConfig): Promise<number> {
  const stdio = { stdinTty: isTerminal(0), stdoutTty: isTerminal(1), stderrTty: isTerminal(2) };
  const restoreTerminal = stdio.stdinTty ? makeRaw(0) : () => {};
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('../kernel/worker.js', import.meta.url), {
    workerData: { cfg, stdio, term: process.env.TERM ?? null, port: port2 },
    transferList: [port2],
    stdout: false,
    stderr: false,
  });
  let doorbell = 0;
  let timer: NodeJS.Timeout | null = null;
  const pending: ToKernel[] = [];
  const ring = () => {
    if (doorbell) {
      try { process.kill(doorbell, 'SIGUSR1'); } catch { /* machine gone */ }
    }
  };
  const send = (m: ToKernel) => {
    if (!doorbell) { pending.push(m); return; }
    port1.postMessage(m);
    ring();
  };
  const chans = new ChannelHost(cfg, send);
  const machine = startMachineControl(cfg, send);
  const net = startMachineNet(cfg, send);

  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      chans.closeAll();
      machine.close();
      net.close();
      restoreTerminal();
      resolve(code);
    };
    port1.on('message', (m: FromKernel) => {
      switch (m.type) {
        case 'doorbell':
          doorbell = m.pid;
          for (const p of pending.splice(0)) port1.postMessage(p);
          if (stdio.stdinTty) {
            const ws = windowSize(0);
            if (ws) port1.postMessage({ type: 'winch', rows: ws.rows, cols: ws.cols });
          }
          ring();
          break;
        case 'arm-timer': {
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => { timer = null; send({ type: 'timer' }); }, Math.max(0, m.at - monotonicMs()));
          break;
        }
        case 'halt': finish(m.code); break;
        case 'ctl-reply': machine.onReply(m); break;
        case 'mconsole-notify': machine.userNotify(m.data); break;
        case 'net-tx': net.transmit(m.eth, m.frame); break;
        default: chans.handle(m); break;
      }
    });
    worker.on('error', (e) => {
      fs.writeSync(2, `tuml: kernel thread died: ${e.stack ?? e}\n`);
      machine.panic(`Kernel panic - kernel thread died: ${e.message}`);
      finish(1);
    });
    worker.on('exit', () => finish(1));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        const n = sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1;
        send({ type: 'host-signal', sig: n });
        // If the kernel thread cannot answer, leave anyway: EXITKILL takes the guest down with us.
        setTimeout(() => finish(128 + n), 2000).unref();
      });
    }
    process.on('SIGWINCH', () => {
      const ws = windowSize(0);
      if (ws) send({ type: 'winch', rows: ws.rows, cols: ws.cols });
    });
  });
}
