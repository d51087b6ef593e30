// What procfs reads of the kernel: a narrow view, so tests can hand it a plain object.
import type { Kernel } from '../../kernel.js';

export type ProcKernel = Pick<Kernel,
  'groups' | 'byTid' | 'mounts' | 'log' | 'memBytes' | 'hostname' | 'domainname' | 'uptimeMs' |
  'cmdline' | 'bootMs' | 'console' | 'pids'> & {
  /** Whether a task is parked in an emulated blocking call (shown as state S). */
  isParked?(task: import('../../task/task.js').Task): boolean;
};
