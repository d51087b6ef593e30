// Handler maps contributed by subsystems that are wired in as they land.
import type { HandlerMap } from './handler.js';
import { pipeCalls } from './sys_pipe.js';
import { socketCalls } from './sys_socket.js';
import { pollCalls } from './sys_poll.js';
import { epollCalls } from './sys_epoll.js';
import { eventfdCalls } from './sys_eventfd.js';
import { mountCalls } from './sys_mount.js';
import { inetCalls } from './sys_inet.js';
import { sysvipcCalls } from './sys_sysvipc.js';

export const extraCalls: HandlerMap[] = [pipeCalls, socketCalls, pollCalls, epollCalls, eventfdCalls, mountCalls, inetCalls, sysvipcCalls];
