// The AF_INET entry of the family table: socket(2) picks TCP, UDP, ping or raw sockets by
// type and protocol, as inetsw does.
import { Errno } from '../../errno.js';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../abi/errno.js';
import { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW } from '../../abi/socket.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_IP } from '../../abi/inet.js';
import type { Task } from '../../task/task.js';
import type { SocketFamily, Socket } from '../socket.js';
import { netStackOf } from './netns.js';
import { TcpSocket } from './tcp.js';
import { UdpSocket } from './udp.js';
import { createPingSocket, createRawSocket } from './raw.js';

export const inetFamily: SocketFamily = {
  create(t: Task, type: number, protocol: number, flags: number): Socket {
    const stack = netStackOf(t.kernel);
    switch (type) {
      case SOCK_STREAM:
        if (protocol !== IPPROTO_IP && protocol !== IPPROTO_TCP) throw new Errno(EPROTONOSUPPORT);
        return new TcpSocket(stack, flags, t.cred.fsuid, t.cred.fsgid);
      case SOCK_DGRAM:
        if (protocol === IPPROTO_ICMP) return createPingSocket(stack, t, flags);
        if (protocol !== IPPROTO_IP && protocol !== IPPROTO_UDP) throw new Errno(EPROTONOSUPPORT);
        return new UdpSocket(stack, flags, t.cred.fsuid, t.cred.fsgid);
      case SOCK_RAW:
        return createRawSocket(stack, t, protocol, flags);
      default:
        throw new Errno(ESOCKTNOSUPPORT);
    }
  },
};
