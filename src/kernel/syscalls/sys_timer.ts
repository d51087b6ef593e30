// POSIX timers and clocks. A timer only ever signals its own process, so the host keeps
// them (timer_settime & co. are allowed by the seccomp filter); the kernel translates a SIGEV_THREAD_ID target from the guest's tid to the host's.
import type { HandlerMap } from './handler.js';
import { Native } from '../task/task.js';
import { Errno } from '../errno.js';
import { EINVAL, EPERM } from '../abi/errno.js';

const SIGEV_THREAD_ID = 4;

export const timerCalls: HandlerMap = {
  timer_create: (t, a) => {
    const sevp = a[1]!;
    if (!sevp) return new Native();
    const notify = t.mem.i32(sevp + 12);
    if (!(notify & SIGEV_THREAD_ID)) return new Native();
    const tidAddr = sevp + 16;
    const vtid = t.mem.i32(tidAddr);
    const target = t.kernel.byTid.get(vtid);
    if (!target || target.group !== t.group) throw new Errno(EINVAL);
    t.mem.writeI32(tidAddr, target.hostTid);
    return new Native((r) => {
      try { t.mem.writeI32(tidAddr, vtid); } catch { /* the guest unmapped it meanwhile */ }
      return r;
    });
  },
  clock_settime: () => -EPERM,
  settimeofday: () => -EPERM,
  clock_adjtime: () => -EPERM,
};
