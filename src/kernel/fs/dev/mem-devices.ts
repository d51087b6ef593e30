// The memory devices of major 1 (drivers/char/mem.c and random.c): null, zero, full,
// random, urandom.
import { randomFillSync } from 'node:crypto';
import { Errno } from '../../errno.js';
import { ENOSPC } from '../../abi/errno.js';
import type { Task } from '../../task/task.js';
import { DeviceFile } from './device-file.js';

/** Reads of the infinite devices are served in chunks of at most this (Linux loops likewise). */
const MAX_CHUNK = 64 * 1024 * 1024;

/** /dev/null: reads end of file, writes vanish. */
export class NullFile extends DeviceFile {
  override read(): Buffer { return Buffer.alloc(0); }
  override pread(): Buffer { return Buffer.alloc(0); }
  override write(_t: Task, data: Buffer): number { return data.length; }
  override pwrite(_t: Task, data: Buffer): number { return data.length; }
}

/** /dev/zero: zeros forever; a mapping of it is anonymous memory. */
export class ZeroFile extends DeviceFile {
  /** The mmap handler maps this file as anonymous memory (MAP_SHARED stays shared). */
  readonly mmapAsAnonymous = true;
  override read(_t: Task, len: number): Buffer { return Buffer.alloc(Math.min(len, MAX_CHUNK)); }
  override pread(_t: Task, len: number): Buffer { return Buffer.alloc(Math.min(len, MAX_CHUNK)); }
  override write(_t: Task, data: Buffer): number { return data.length; }
  override pwrite(_t: Task, data: Buffer): number { return data.length; }
}

/** /dev/full: zeros to read, no space to write. */
export class FullFile extends DeviceFile {
  override read(_t: Task, len: number): Buffer { return Buffer.alloc(Math.min(len, MAX_CHUNK)); }
  override pread(_t: Task, len: number): Buffer { return Buffer.alloc(Math.min(len, MAX_CHUNK)); }
  override write(_t: Task, data: Buffer): number {
    if (data.length === 0) return 0;
    throw new Errno(ENOSPC);
  }
  override pwrite(t: Task, data: Buffer): number { return this.write(t, data); }
}

/** /dev/random and /dev/urandom: the host's CSPRNG (since Linux 5.6 neither blocks once seeded).
 *  Writes are accepted and mixed in, as Linux does, without crediting entropy. */
export class RandomFile extends DeviceFile {
  override read(_t: Task, len: number): Buffer {
    return randomFillSync(Buffer.allocUnsafe(Math.min(len, MAX_CHUNK)));
  }
  override pread(t: Task, len: number): Buffer { return this.read(t, len); }
  override write(_t: Task, data: Buffer): number { return data.length; }
  override pwrite(_t: Task, data: Buffer): number { return data.length; }
}
