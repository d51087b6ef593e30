// The wall clock for inode timestamps (current_time()): host CLOCK_REALTIME in nanoseconds,
// the clock guests read natively through the vDSO, so `touch f; date` agree.
import type { Timespec } from '../inode.js';

const baseNs = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();

export function currentTime(): Timespec {
  const ns = baseNs + process.hrtime.bigint();
  return { sec: Number(ns / 1000000000n), nsec: Number(ns % 1000000000n) };
}

export function cmpTime(a: Timespec, b: Timespec): number {
  return a.sec - b.sec || a.nsec - b.nsec;
}
