// The x86-64 system call table: number → handler. Handlers live in sys_<area>.ts files,
// grouped as the man pages group them; a missing entry means -ENOSYS (logged once by name).
import { SYS } from '../abi/syscalls.js';
import type { Handler, HandlerMap } from './handler.js';
import { taskCalls } from './sys_task.js';
import { signalCalls } from './sys_signal.js';
import { infoCalls } from './sys_info.js';
import { fileCalls } from './sys_file.js';
import { mmCalls } from './sys_mm.js';
import { timerCalls } from './sys_timer.js';
import { memfdCalls } from './sys_memfd.js';
import { signalfdCalls } from './sys_signalfd.js';
import { extraCalls } from './extra.js';

const maps: HandlerMap[] = [taskCalls, signalCalls, infoCalls, fileCalls, mmCalls, timerCalls, memfdCalls, signalfdCalls, ...extraCalls];

export const syscallTable: (Handler | undefined)[] = (() => {
  const table: (Handler | undefined)[] = [];
  for (const m of maps) {
    for (const [name, h] of Object.entries(m)) {
      const nr = SYS[name as keyof typeof SYS];
      if (nr === undefined) throw new Error(`syscall table: unknown syscall name ${name}`);
      table[nr] = h;
    }
  }
  return table;
})();
