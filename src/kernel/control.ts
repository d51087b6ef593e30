// Machine control, kernel side: the requests mconsole (on the main thread) sends as
// `{type:'ctl', id, op, arg}` interrupts, each answered with one `ctl-reply`. The ops are the
// kernel halves of UML's mconsole handlers (arch/um/drivers/mconsole_kern.c).
import type { Kernel } from './kernel.js';
import type { ToKernel } from './interrupts.js';
import { Errno } from './errno.js';
import { EINVAL } from './abi/errno.js';
import { KERN_WARNING } from './log.js';
import { SIGINT, SI_KERNEL } from './abi/signals.js';
import { O_RDONLY } from './abi/fcntl.js';
import { UTS_RELEASE, UTS_VERSION } from './syscalls/sys_info.js';
import { sendToGroup } from './signal/deliver.js';
import { Freezer } from './task/freezer.js';
import { handleSysrq, showStack } from './sysrq.js';
import { Mount, type Path } from './fs/path.js';
import { walk } from './fs/namei.js';
import { Cred } from './task/cred.js';
import { ProcFs } from './fs/proc/proc-fs.js';
import { DEFAULT_MOUNT_FLAGS } from './fs/mount-table.js';
import { DEVICE_OPS } from './device-control.js';

export interface ControlOptions {
  /** `noreboot` on the command line: reboot exits instead (UML's os-Linux/skas/process.c). */
  noreboot: boolean;
}

/** Exit status of a machine that asked to reboot, until reboot restarts init in place
 * (systemd-nspawn's convention: a wrapper may start the machine again). */
export const REBOOT_EXIT_STATUS = 133;

interface Reply { err: number; text: string }
type Op = (k: Kernel, arg: string) => Reply;

const OK = (text = ''): Reply => ({ err: 0, text });
const FAIL = (text: string): Reply => ({ err: 1, text });
/** The smallest machine mem= allows; `config mem=-N` stops there, as UML stops when out of pages. */
const MIN_MEM = 16 << 20;

/** printk output produced while `fn` runs (UML's with_console(): the "mc" console). */
export function captureLog(k: Kernel, fn: () => void): string {
  const all = k.log.all();
  const before = all.length > 0 ? all[all.length - 1]!.seq : -1;
  fn();
  return k.log.all().filter((r) => r.seq > before).map((r) => r.text + '\n').join('');
}

const procMounts = new WeakMap<Kernel, Path>();

/** A private mount of procfs (UML's kern_mount of proc): the guest's own, or a fresh one. */
function procRoot(k: Kernel): Path {
  let p = procMounts.get(k);
  if (!p) {
    const fs = k.mounts.all().find((m) => m.fs instanceof ProcFs)?.fs ?? new ProcFs(k);
    const m = new Mount(fs, 'proc', null, null, { ...DEFAULT_MOUNT_FLAGS, readOnly: true });
    p = { mount: m, dentry: m.root };
    procMounts.set(k, p);
  }
  return p;
}

/** PAGE_SIZE - 1, as mconsole_proc() reads. */
const READ_CHUNK = 4095;

/** mconsole_proc(): the whole of /proc/<path>, read as the kernel. */
export function readProc(k: Kernel, path: string): Reply {
  const reader = k.init?.leader;
  if (!reader || !k.mounts) return FAIL('Proc not available');
  const root = procRoot(k);
  let file;
  try {
    const p = path === '' ? root : walk({ mounts: k.mounts, root, cred: new Cred() }, root, path, { follow: true });
    file = p.dentry.inode.open(O_RDONLY, null);
    file.path = p;
  } catch {
    return FAIL('Failed to open file');
  }
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const b = file.read(reader, READ_CHUNK);
      if (b.length === 0) break;
      parts.push(b);
    }
    return OK(Buffer.concat(parts).toString('utf8'));
  } catch {
    return FAIL('Read of file failed');
  } finally {
    file.unref();
  }
}

/** memory plug/unplug by `+pages` or `-pages`; replies with the new size in bytes. */
function plugMemory(k: Kernel, arg: string): Reply {
  const m = /^([+-])(\d+)$/.exec(arg);
  if (!m) throw new Errno(EINVAL);
  const bytes = Number(m[2]) * 4096;
  k.memBytes = m[1] === '+' ? k.memBytes + bytes : Math.max(MIN_MEM, k.memBytes - bytes);
  return OK(String(k.memBytes));
}

function ctrlAltDel(k: Kernel): Reply {
  if (k.cadEnabled) {
    k.shutdown('reboot');
    return OK();
  }
  // kill_cad_pid(SIGINT): init ignores signals it has no handler for (SIGNAL_UNKILLABLE).
  const init = k.init;
  if (init && init.alive && init.sigactions.hasHandler(SIGINT)) sendToGroup(k, init, SIGINT, { pid: 0, uid: 0, code: SI_KERNEL });
  return OK();
}

function syncAll(k: Kernel): void {
  for (const m of k.mounts?.all() ?? []) {
    try { m.fs.sync?.(); } catch (e) { k.log.warn(`tuml: sync of ${m.source} failed: ${(e as Error).message}`); }
  }
}

const OPS: Record<string, Op> = {
  version: (k) => OK(`Linux ${k.hostname} ${UTS_RELEASE} ${UTS_VERSION} x86_64`),
  halt: (k) => {
    syncAll(k);
    k.log.info('reboot: System halted');
    k.shutdown('halt');
    return OK();
  },
  reboot: (k) => {
    syncAll(k);
    k.log.info('reboot: Restarting system');
    k.shutdown('reboot');
    return OK();
  },
  cad: (k) => ctrlAltDel(k),
  stop: (k) => (Freezer.of(k).freeze() ? OK('stopped') : FAIL('Already stopped')),
  go: (k) => (Freezer.of(k).thaw() ? OK() : FAIL('Not stopped')),
  log: (k, text) => {
    // The client sends a lone "\n" after a line without one; printk folds it into the line.
    const line = text.replace(/\n+$/, '');
    if (line !== '') k.log.printk(KERN_WARNING, line);
    return OK();
  },
  /** A boot message from the main thread's drivers (mconsole's "initialized on"). */
  printk: (k, text) => { k.log.info(text.replace(/\n+$/, '')); return OK(); },
  sysrq: (k, key) => OK(captureLog(k, () => handleSysrq(k, key))),
  proc: (k, path) => readProc(k, path),
  stack: (k, arg) => {
    const t = k.byTid.get(Number(arg));
    if (!t || !/^\d+$/.test(arg)) return FAIL("Couldn't find that pid");
    return OK(captureLog(k, () => showStack(k, t)));
  },
  mem: (k, arg) => plugMemory(k, arg),
  ...DEVICE_OPS,
};

/** Registers the `ctl` interrupt handler; call once, before boot. */
export function installControl(k: Kernel, opts: ControlOptions): void {
  k.onReboot = () => k.halt(opts.noreboot ? 0 : REBOOT_EXIT_STATUS);
  k.onMessage('ctl', (m: ToKernel) => {
    if (m.type !== 'ctl') return;
    let r: Reply;
    const op = OPS[m.op];
    try {
      r = op ? op(k, m.arg) : { err: -EINVAL, text: `unknown control request '${m.op}'` };
    } catch (e) {
      r = e instanceof Errno ? { err: -e.errno, text: '' } : { err: 1, text: `kernel error: ${(e as Error).message}` };
      if (!(e instanceof Errno)) k.log.warn(`tuml: kernel bug in control request ${m.op}: ${(e as Error).stack ?? e}`);
    }
    k.post({ type: 'ctl-reply', id: m.id, err: r.err, text: r.text });
  });
}
