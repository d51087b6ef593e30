// The ubd I/O thread (UML's io_thread / AIO): performs large pwrites for WriteBehindStore
// off the kernel thread. Requests arrive in order and are done in order; after each one the
// shared completion counter advances and waiters are woken (Atomics.notify).
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface IoRequest {
  id: number;
  fd: number;
  pos: number;
  /** The bytes, in shared memory the kernel thread keeps for reads until completion. */
  data: SharedArrayBuffer;
}

/** ctl[CTL_DONE]: requests completed so far; ctl[CTL_ERRNO]: the first error's errno (sticky). */
export const CTL_DONE = 0;
export const CTL_ERRNO = 1;

if (parentPort) {
  const ctl = new Int32Array((workerData as { ctl: SharedArrayBuffer }).ctl);
  parentPort.on('message', (r: IoRequest) => {
    const buf = Buffer.from(r.data);
    try {
      let done = 0;
      while (done < buf.length) done += fs.writeSync(r.fd, buf, done, buf.length - done, r.pos + done);
    } catch (e) {
      const errno = Math.abs((e as NodeJS.ErrnoException).errno ?? 5) || 5;
      Atomics.compareExchange(ctl, CTL_ERRNO, 0, errno);
    }
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  });
}
