// A running machine's management, main-thread side: its identity on the host (the umid
// directory with `pid` and the mconsole socket), the mconsole server, the notify socket, and
// MachineControl carried to the kernel thread as `ctl` interrupts. Everything it creates is
// removed when the machine ends — halt, SIGTERM/SIGHUP, a dead init, or a dead kernel thread.
import type { MachineConfig } from './cmdline.js';
import type { FromKernel, ToKernel } from '../kernel/interrupts.js';
import { installUmidCleanup, setupUmid, type UmidDir } from '../drivers/umid.js';
import { MconsoleServer, mconsoleInitMessage } from '../drivers/mconsole/server.js';
import { MconsoleNotifier, parseNotifyOption } from '../drivers/mconsole/notify.js';
import {
  COMMANDS, memDevice, type MachineControl, type McCommand, type McDevice, type McProcResult,
} from '../drivers/mconsole/commands.js';
import { UTS_RELEASE, UTS_VERSION } from '../kernel/syscalls/sys_info.js';
import { hotplugDevices } from '../drivers/mconsole/devices/hotplug-devices.js';
import { runningMachineNet } from '../drivers/net/machine-net.js';

export type CtlReply = Extract<FromKernel, { type: 'ctl-reply' }>;
export interface CtlResult { err: number; text: string }

/** Requests to the kernel thread (`ctl`) matched with their replies (`ctl-reply`) by id. */
export class KernelControl {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: CtlResult) => void>();
  private gone = false;

  constructor(private readonly send: (m: ToKernel) => void) {}

  request(op: string, arg = ''): Promise<CtlResult> {
    if (this.gone) return Promise.resolve({ err: 1, text: '' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.send({ type: 'ctl', id, op, arg });
    });
  }

  onReply(m: CtlReply): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    w({ err: m.err, text: m.text });
  }

  /** The kernel is gone: whatever still waits gets an error, nothing new is sent. */
  cancelAll(): void {
    this.gone = true;
    for (const w of this.waiting.values()) w({ err: 1, text: '' });
    this.waiting.clear();
  }
}

const PROC_FAILURES = new Set(['Proc not available', 'Failed to open file', 'Failed to allocate buffer', 'Read of file failed']);

/** MachineControl over the kernel thread, and the mem device (`config mem=±N`). */
export function kernelMachineControl(kc: KernelControl, memBytes: number): MachineControl & { versionNow(): Promise<string> } {
  let version = `Linux tuml ${UTS_RELEASE} ${UTS_VERSION} x86_64`;
  let physmem = memBytes;
  const fire = (op: string, arg = '') => { void kc.request(op, arg); };
  const devices: McDevice[] = [memDevice({
    physmem: () => physmem,
    plug: async (pages, add) => {
      const r = await kc.request('mem', `${add ? '+' : '-'}${pages}`);
      if (r.err === 0) physmem = Number(r.text);
    },
  }), ...hotplugDevices((op, arg) => kc.request(op, arg), runningMachineNet)];
  return {
    version: () => version,
    async versionNow() {
      const r = await kc.request('version');
      if (r.err === 0) version = r.text;
      return version;
    },
    halt: () => fire('halt'),
    reboot: () => fire('reboot'),
    devices: () => devices,
    sysrq: async (key) => (await kc.request('sysrq', key)).text,
    cad: () => fire('cad'),
    stop: () => fire('stop'),
    go: () => fire('go'),
    log: (text) => fire('log', text),
    async proc(path): Promise<McProcResult> {
      const r = await kc.request('proc', path);
      if (r.err === 0) return { text: r.text };
      return { fail: (PROC_FAILURES.has(r.text) ? r.text : 'Read of file failed') as 'Read of file failed' };
    },
    async stack(pid) {
      const r = await kc.request('stack', String(pid));
      return r.err === 0 ? r.text : null;
    },
  };
}

/** The command table with `version` asking the kernel (the guest may have changed its hostname). */
function commandTable(ctl: { versionNow(): Promise<string> }): McCommand[] {
  return COMMANDS.map((c) => c.name !== 'version' ? c : {
    name: 'version',
    handler: async (req) => req.reply(await ctl.versionNow(), 0, false),
  });
}

export interface ManagedMachine {
  readonly umid: UmidDir | null;
  readonly server: MconsoleServer | null;
  /** Route a `ctl-reply` from the kernel thread. */
  onReply(m: CtlReply): void;
  /** The kernel died: MCONSOLE_PANIC to the notify listener. */
  panic(message: string): void;
  /** A guest write to /proc/mconsole: MCONSOLE_USER_NOTIFY to the notify listener. */
  userNotify(data: Uint8Array): void;
  /** Close the console and remove the umid directory (idempotent). */
  close(): void;
}

/**
 * Set up the umid directory, the pid file, the mconsole socket and the notify socket, as UML
 * does at boot. Problems are reported with UML's messages and leave the machine unmanaged,
 * never stopped. `send` posts an interrupt to the kernel thread and rings the doorbell.
 */
export function startMachineControl(
  cfg: MachineConfig,
  send: (m: ToKernel) => void,
  log: (line: string) => void = (l) => { process.stderr.write(l); },
): ManagedMachine {
  const kc = new KernelControl(send);
  const ctl = kernelMachineControl(kc, cfg.mem);
  let umid: UmidDir | null = null;
  let uninstall = (): void => {};
  try {
    umid = setupUmid({ umid: cfg.umid ?? undefined, umlDir: cfg.umlDir ?? undefined, log });
    // SIGTERM/SIGHUP: the directory goes at once; run-machine's own handlers halt the kernel.
    uninstall = installUmidCleanup(umid, { onSignal: () => {} });
  } catch (e) {
    log(`tuml: no machine directory, running without mconsole: ${(e as Error).message}\n`);
  }
  let server: MconsoleServer | null = null;
  if (umid) {
    const path = umid.file('mconsole');
    try {
      server = MconsoleServer.listen(path, ctl, commandTable(ctl));
      server.ref(false);
      server.onError = (e) => log(`mconsole: ${(e as Error).stack ?? String(e)}\n`);
      void kc.request('printk', mconsoleInitMessage(path));
    } catch (e) {
      log(`Failed to initialize management console (${(e as Error).message})\n`);
    }
  }
  let notifier: MconsoleNotifier | null = null;
  const opt = cfg.devices.get('mconsole');
  if (opt !== undefined) {
    const target = parseNotifyOption(opt);
    if (target === null) log(`mconsole_setup : Unknown option - '${opt}'\n`);
    else {
      notifier = new MconsoleNotifier(target);
      if (server) {
        const e = notifier.socket(server.path);
        if (e !== 0) log(`mconsole_notify - sendto failed, errno = ${e}\n`);
      }
    }
  }
  let closed = false;
  return {
    umid,
    server,
    onReply: (m) => kc.onReply(m),
    panic(message) {
      notifier?.panic(message);
    },
    userNotify(data) {
      notifier?.user(Buffer.from(data));
    },
    close() {
      if (closed) return;
      closed = true;
      kc.cancelAll();
      server?.close();
      notifier?.close();
      umid?.remove();
      uninstall();
    },
  };
}
