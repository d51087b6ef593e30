// The network stack's socket families join the family table when the syscall table loads:
// socket(2), bind(2) … reach them through sys_socket.ts. No new system calls of its own.
import type { HandlerMap } from './handler.js';
import { AF_INET, AF_NETLINK } from '../abi/socket.js';
import { registerFamily } from '../net/families.js';
import { inetFamily } from '../net/inet/family.js';
import { netlinkFamily } from '../net/netlink/netlink-socket.js';
import { procFsInitHooks } from '../fs/proc/proc-fs.js';
import { registerProcNet } from '../net/proc-net.js';

registerFamily(AF_INET, inetFamily);
registerFamily(AF_NETLINK, netlinkFamily);
procFsInitHooks.push(registerProcNet);

export const inetCalls: HandlerMap = {};
