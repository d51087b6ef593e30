// User memory, reached only through the task: every access can fail with EFAULT, and a
// failure is an answer for the guest, never a kernel exception.
import type { Tracee } from '../../host/ptrace/tracee.js';
import { Errno } from '../errno.js';
import { E2BIG, EFAULT, ENAMETOOLONG } from '../abi/errno.js';

const TASK_SIZE = 0x7ffffffff000;
const scratch = Buffer.alloc(4096);

export class GuestMemory {
  constructor(private readonly tracee: Tracee) {}

  private check(addr: number, len: number): void {
    if (!Number.isSafeInteger(addr) || addr < 0 || len < 0 || addr + len > TASK_SIZE) throw new Errno(EFAULT);
  }

  read(addr: number, len: number): Buffer {
    this.check(addr, len);
    const buf = Buffer.allocUnsafe(len);
    if (this.tracee.readInto(addr, buf, len) !== len) throw new Errno(EFAULT);
    return buf;
  }
  /** Reads as much as is mapped, up to len. */
  readPartial(addr: number, len: number): Buffer {
    this.check(addr, 0);
    const buf = Buffer.allocUnsafe(len);
    const n = this.tracee.readInto(addr, buf, len);
    return buf.subarray(0, n);
  }
  write(addr: number, data: Buffer): void {
    this.check(addr, data.length);
    if (this.tracee.writeFrom(addr, data) !== data.length) throw new Errno(EFAULT);
  }
  /** A NUL-terminated string shorter than max bytes (ENAMETOOLONG otherwise): paths. */
  readCString(addr: number, max = 4096): string {
    return this.bytesUntilNul(addr, max - 1, ENAMETOOLONG).toString('utf8');
  }
  /** The raw bytes of a NUL-terminated string of at most max bytes (E2BIG past it): argv, envp. */
  readCStringBytes(addr: number, max: number): Buffer {
    return this.bytesUntilNul(addr, max, E2BIG);
  }
  /** Reads page by page up to the NUL; more than `limit` bytes before it is `tooLong`. */
  private bytesUntilNul(addr: number, limit: number, tooLong: number): Buffer {
    this.check(addr, 0);
    if (addr === 0) throw new Errno(EFAULT);
    const parts: Buffer[] = [];
    let total = 0;
    let a = addr;
    for (;;) {
      const n = this.tracee.readInto(a, scratch, 4096 - (a % 4096));
      if (n === 0) throw new Errno(EFAULT);
      const z = scratch.subarray(0, n).indexOf(0);
      const end = z >= 0 ? z : n;
      parts.push(Buffer.from(scratch.subarray(0, end)));
      total += end;
      if (total > limit) throw new Errno(tooLong);
      if (end < n) break;
      a += n;
    }
    return Buffer.concat(parts, total);
  }
  u32(addr: number): number { return this.read(addr, 4).readUInt32LE(0); }
  i32(addr: number): number { return this.read(addr, 4).readInt32LE(0); }
  u64(addr: number): number { return Number(this.read(addr, 8).readBigUInt64LE(0)); }
  i64(addr: number): number { return Number(this.read(addr, 8).readBigInt64LE(0)); }
  writeU32(addr: number, v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.write(addr, b); }
  writeI32(addr: number, v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v | 0); this.write(addr, b); }
  writeU64(addr: number, v: number | bigint): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v))); this.write(addr, b); }
  writeI64(addr: number, v: number | bigint): void { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v)); this.write(addr, b); }
  /** A NULL-terminated array of pointers (argv, envp). */
  readPointerArray(addr: number, max: number): number[] {
    const out: number[] = [];
    if (addr === 0) return out;
    for (let i = 0; ; i++) {
      if (i >= max) throw new Errno(E2BIG);
      const p = this.u64(addr + i * 8);
      if (p === 0) return out;
      out.push(p);
    }
  }
}
