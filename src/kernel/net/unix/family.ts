// The AF_UNIX entry of the family table: socket(2) and socketpair(2) for local sockets.
import { Errno } from '../../errno.js';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../abi/errno.js';
import { AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW } from '../../abi/socket.js';
import type { Task } from '../../task/task.js';
import type { SocketFamily } from '../socket.js';
import { UnixSocket } from './unix-socket.js';

function checkType(type: number, protocol: number): number {
  if (protocol !== 0 && protocol !== AF_UNIX) throw new Errno(EPROTONOSUPPORT);
  switch (type) {
    case SOCK_STREAM: case SOCK_DGRAM: case SOCK_SEQPACKET: return type;
    case SOCK_RAW: return SOCK_DGRAM; // BSD has it; Linux maps it to datagrams
    default: throw new Errno(ESOCKTNOSUPPORT);
  }
}

export const unixFamily: SocketFamily = {
  create: (t: Task, type, protocol, flags) => UnixSocket.create(t, checkType(type, protocol), flags),
  pair: (t: Task, type, protocol, flags) => UnixSocket.pair(t, checkType(type, protocol), flags),
};
