// Messages between the main thread (host I/O, the Node event loop) and the kernel thread.
// Main → kernel messages are interrupts: the main thread posts one, then rings the doorbell.

export type ToKernel =
  | { type: 'input'; chan: number; data: Uint8Array }
  | { type: 'eof'; chan: number }
  | { type: 'timer' }
  | { type: 'winch'; rows: number; cols: number }
  | { type: 'host-signal'; sig: number }
  | { type: 'ctl'; id: number; op: string; arg: string };

export type FromKernel =
  | { type: 'doorbell'; pid: number }
  | { type: 'arm-timer'; at: number }
  | { type: 'want-input'; chan: number }
  | { type: 'halt'; code: number }
  | { type: 'ctl-reply'; id: number; err: number; text: string };
