// The notification socket (`mconsole=notify:<path>`, Linux mconsole_kern.c / mconsole_user.c
// mconsole_notify()): an unbound datagram socket that sends struct mconsole_notify to a
// listener — the mconsole socket path at boot, the panic message, and whatever the guest
// writes to /proc/mconsole (which exists only when notify is configured).
import { UnixDgramSocket, sockaddrUn } from '../../host/unix-dgram.js';
import { MCONSOLE_PANIC, MCONSOLE_SOCKET, MCONSOLE_USER_NOTIFY, encodeNotify } from './protocol.js';

/** The path of `mconsole=notify:<path>`, or null when the option is something else. */
export function parseNotifyOption(value: string): string | null {
  return value.startsWith('notify:') ? value.slice('notify:'.length) : null;
}

export class MconsoleNotifier {
  private sock: UnixDgramSocket | null = null;

  constructor(readonly target: string) {}

  /** MCONSOLE_SOCKET: the mconsole socket's path, NUL included (sent once the console is up). */
  socket(mconsolePath: string): number {
    return this.send(MCONSOLE_SOCKET, Buffer.from(mconsolePath + '\0', 'utf8'));
  }

  /** MCONSOLE_PANIC: the panic message, NUL included. */
  panic(message: string): number {
    return this.send(MCONSOLE_PANIC, Buffer.from(message + '\0', 'utf8'));
  }

  /** MCONSOLE_USER_NOTIFY: the bytes of one write() to /proc/mconsole, as written. */
  user(data: Buffer): number {
    return this.send(MCONSOLE_USER_NOTIFY, data);
  }

  /** Send one notification; 0 or the errno (UML only logs a failure, so callers may ignore it). */
  send(type: number, data: Buffer): number {
    this.sock ??= UnixDgramSocket.open(1);
    return this.sock.sendTo(encodeNotify(type, data), sockaddrUn(this.target));
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}
