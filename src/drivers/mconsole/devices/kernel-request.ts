// How the main thread's mconsole devices reach the kernel thread: one `ctl` op with a text
// argument, answered with UML's err value and text (src/kernel/device-control.ts).
export type KernelRequest = (op: string, arg: string) => Promise<{ err: number; text: string }>;
