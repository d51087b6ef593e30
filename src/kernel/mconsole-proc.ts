// /proc/mconsole: what the guest writes there reaches the mconsole notify socket as
// MCONSOLE_USER_NOTIFY (UML's mconsole_kern.c). It exists only when `mconsole=notify:` is set.
import type { Kernel } from './kernel.js';
import { procFsInitHooks } from './fs/proc/proc-fs.js';

export function installMconsoleProc(k: Kernel, notifyConfigured: boolean): void {
  if (!notifyConfigured) return;
  procFsInitHooks.push((fs) => {
    fs.registerFile('mconsole', () => '', (_writer, data) => {
      k.post({ type: 'mconsole-notify', data: new Uint8Array(data) });
    }, 0o200);
  });
}
