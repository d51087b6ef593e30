// Messages between the main thread (host I/O, the Node event loop) and the kernel thread.
// Main → kernel messages are interrupts: the main thread posts one, then rings the doorbell.
import type { LineSpec } from './tty/line-spec.js';

export type ToKernel =
  | { type: 'input'; chan: number; data: Uint8Array }
  | { type: 'eof'; chan: number }
  | { type: 'timer' }
  | { type: 'winch'; rows: number; cols: number; chan?: number }
  // Host channels (src/drivers/chan): output written, a client (re)connected, a log line.
  | { type: 'output-ack'; chan: number; n: number }
  | { type: 'chan-connect'; chan: number }
  | { type: 'chan-log'; text: string }
  | { type: 'host-signal'; sig: number }
  | { type: 'ctl'; id: number; op: string; arg: string }
  /** An Ethernet frame arrived on the host transport of ethN. */
  | { type: 'net-rx'; eth: number; frame: Uint8Array }
  /** ethN exists, with this MAC (sent once at start, before any frame). */
  | { type: 'net-attach'; eth: number; mac: Uint8Array }
  /** The transport of ethN connected or went away. */
  | { type: 'net-carrier'; eth: number; up: boolean };

export type FromKernel =
  | { type: 'doorbell'; pid: number }
  | { type: 'arm-timer'; at: number }
  | { type: 'want-input'; chan: number }
  | { type: 'output'; chan: number; data: Uint8Array }
  | { type: 'tty-log'; file: string | null; data: Uint8Array }
  | { type: 'chan-open'; spec: LineSpec }
  | { type: 'chan-close'; chan: number }
  | { type: 'halt'; code: number }
  | { type: 'mconsole-notify'; data: Uint8Array }
  | { type: 'ctl-reply'; id: number; err: number; text: string }
  /** A frame for the host transport of ethN. */
  | { type: 'net-tx'; eth: number; frame: Uint8Array };
