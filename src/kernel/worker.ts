// The kernel thread's entry point (a worker_threads Worker): boot, then run the loop.
import { workerData, type MessagePort } from 'node:worker_threads';
import { Kernel } from './kernel.js';
import { boot, BootError, type BootOptions } from './boot.js';
import * as hostFiles from '../host/files.js';
import { installNetDriver } from './net/dev/eth-driver.js';
import { installControl } from './control.js';
import { installMconsoleProc } from './mconsole-proc.js';

interface WorkerInput extends BootOptions { port: MessagePort }

const input = workerData as WorkerInput;
if (process.env.TUML_DEBUG) hostFiles.writeAll(2, Buffer.from("kernel thread up\n"));
const port = input.port;
const k = new Kernel({ post: (m) => port.postMessage(m), port });
// A host terminal is in raw mode while the machine runs: the log needs its own CRs there.
const crlf = input.stdio.stderrTty;
k.log.sink = (line) => {
  try { hostFiles.writeAll(2, Buffer.from(crlf ? line.replace(/\n/g, '\r\n') : line)); } catch { /* host stderr gone */ }
};
k.onMessage('host-signal', (m) => {
  if (m.type === 'host-signal') {
    k.log.info(`tuml: received host signal ${m.sig}, halting`);
    k.halt(128 + m.sig);
  }
});
installControl(k, { noreboot: input.cfg.devices.has('noreboot') });
installMconsoleProc(k, (input.cfg.devices.get('mconsole') ?? '').startsWith('notify:'));
try {
  installNetDriver(k, input.cfg);
  boot(k, input);
  k.run();
} catch (e) {
  if (e instanceof BootError) {
    hostFiles.writeAll(2, Buffer.from(`tuml: ${e.prog}: ${e.errno === 2 ? 'No such file or directory' : e.errno === 13 ? 'Permission denied' : e.errno === 8 ? 'Exec format error' : 'cannot execute (errno ' + e.errno + ')'}\n`));
    k.halt(e.errno === 2 ? 127 : 126);
  } else {
    hostFiles.writeAll(2, Buffer.from(`tuml: kernel panic: ${(e as Error).stack ?? e}\n`));
    k.halt(1);
  }
}
