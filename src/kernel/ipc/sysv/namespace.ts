// The machine's one IPC namespace: the id tables of the three System V IPC kinds.
import { IpcIds } from './ids.js';
import type { ShmSegment } from './shm.js';
import type { SemSet } from './sem.js';
import type { MsgQueue } from './msg.js';

export const SHMMNI = 4096, SEMMNI = 32000, MSGMNI = 32000;

export class IpcNamespace {
  readonly shm = new IpcIds<ShmSegment>(SHMMNI);
  readonly sem = new IpcIds<SemSet>(SEMMNI);
  readonly msg = new IpcIds<MsgQueue>(MSGMNI);
}

const namespaces = new WeakMap<object, IpcNamespace>();

/** The namespace of a kernel (created on first use). */
export function ipcNamespace(kernel: object): IpcNamespace {
  let ns = namespaces.get(kernel);
  if (!ns) namespaces.set(kernel, (ns = new IpcNamespace()));
  return ns;
}
