// Local port allocation (inet_csk_get_port / udp_lib_get_port): ephemeral ports come from
// ip_local_port_range, starting at a random offset as Linux does.
import { Errno } from '../../errno.js';
import { EADDRINUSE, EAGAIN } from '../../abi/errno.js';
import { EPHEMERAL_LOW, EPHEMERAL_HIGH } from '../../abi/inet.js';

/** Picks a free ephemeral port; EAGAIN when the range is exhausted (as connect reports). */
export function pickEphemeral(free: (port: number) => boolean, forConnect = false): number {
  const n = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  const start = Math.floor(Math.random() * n);
  for (let i = 0; i < n; i++) {
    const p = EPHEMERAL_LOW + ((start + i) % n);
    if (free(p)) return p;
  }
  throw new Errno(forConnect ? EAGAIN : EADDRINUSE);
}

/** Whether two local addresses overlap (either is the wildcard, or they are equal). */
export function addrsOverlap(a: number, b: number): boolean {
  return a === 0 || b === 0 || a === b;
}
