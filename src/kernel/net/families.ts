// The address-family table: socket(2) looks the family up here. Adding a family (AF_INET,
// AF_NETLINK, …) is one new entry; families not listed get EAFNOSUPPORT.
import { Errno } from '../errno.js';
import { EAFNOSUPPORT, EOPNOTSUPP } from '../abi/errno.js';
import { AF_UNIX } from '../abi/socket.js';
import type { Task } from '../task/task.js';
import type { Socket, SocketFamily } from './socket.js';
import { unixFamily } from './unix/family.js';

export const socketFamilies: Map<number, SocketFamily> = new Map([
  [AF_UNIX, unixFamily],
]);

/** Lets another subsystem add a family at start-up (the table stays the one place). */
export function registerFamily(af: number, fam: SocketFamily): void {
  socketFamilies.set(af, fam);
}

function family(af: number): SocketFamily {
  if (af < 0) throw new Errno(EAFNOSUPPORT);
  const f = socketFamilies.get(af);
  if (!f) throw new Errno(EAFNOSUPPORT);
  return f;
}

export function createSocket(t: Task, af: number, type: number, protocol: number, flags: number): Socket {
  return family(af).create(t, type, protocol, flags);
}

export function createSocketPair(t: Task, af: number, type: number, protocol: number, flags: number): [Socket, Socket] {
  const f = family(af);
  if (!f.pair) throw new Errno(EOPNOTSUPP);
  return f.pair(t, type, protocol, flags);
}
