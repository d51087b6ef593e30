// The one error convention of the kernel: subsystems throw an Errno; the syscall
// dispatcher catches it once and returns -errno to the guest. Anything else thrown is a
// kernel bug, which the dispatcher logs and turns into -EIO for the guest (never a crash).
import { EFAULT } from './abi/errno.js';

export class Errno extends Error {
  constructor(readonly errno: number, why?: string) {
    super(why ?? `errno ${errno}`);
  }
}

/** Throw an Errno; usable in expression position. */
export function fail(errno: number, why?: string): never {
  throw new Errno(errno, why);
}

export function efault(why?: string): never {
  throw new Errno(EFAULT, why);
}
