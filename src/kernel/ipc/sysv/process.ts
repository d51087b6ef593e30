// What a process's life does to its System V IPC state: fork copies its shm attaches
// (not its SEM_UNDO adjustments), exec drops its attaches, exit drops them and applies
// its semaphore adjustments.
import type { ThreadGroup } from '../../task/thread-group.js';
import { shmDetachAll, shmFork } from './shm.js';
import { semExit } from './sem.js';
import { CLONE_VM } from '../../abi/clone.js';

/** A new process from clone without CLONE_THREAD. With CLONE_VM (vfork) it has no address space of its own. */
export function sysvIpcFork(parent: ThreadGroup, child: ThreadGroup, cloneFlags: number): void {
  if (!(cloneFlags & CLONE_VM)) shmFork(parent, child);
}

export function sysvIpcExec(kernel: object, g: ThreadGroup): void {
  shmDetachAll(kernel, g);
}

export function sysvIpcExit(kernel: object, g: ThreadGroup): void {
  shmDetachAll(kernel, g);
  semExit(kernel, g);
}
