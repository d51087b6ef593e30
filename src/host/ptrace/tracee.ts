// One traced host thread: its registers, its memory, and the ptrace requests that move it.
import * as fs from 'node:fs';
import * as libc from '../libc.js';
import {
  PTRACE_CONT, PTRACE_GETEVENTMSG, PTRACE_GETREGS, PTRACE_GETSIGINFO, PTRACE_GETSIGMASK,
  PTRACE_INTERRUPT, PTRACE_LISTEN, PTRACE_SETREGS, PTRACE_SETSIGINFO, PTRACE_SETSIGMASK,
  PTRACE_SYSCALL, REG, USER_REGS_SIZE,
} from './constants.js';

export class HostError extends Error {
  constructor(readonly what: string, readonly errno: number) {
    super(`${what}: host errno ${errno}`);
  }
}

/** Thrown when a tracee vanished (killed, exited) in the middle of an operation. */
export class TraceeGone extends Error {
  constructor(readonly tid: number) {
    super(`tracee ${tid} is gone`);
  }
}

const ESRCH = 3;

export class Tracee {
  readonly regs = Buffer.alloc(USER_REGS_SIZE);
  /** GETREGS/SETREGS pass the buffer as a plain address: koffi marshals that faster. */
  private readonly regsAddr = Number(libc.addressOf(this.regs));
  private regsValid = false;
  private regsDirty = false;
  private readonly localIov = Buffer.alloc(16);
  private readonly remoteIov = Buffer.alloc(16);
  private readonly u64 = Buffer.alloc(8);
  private readonly sigmaskBuf = Buffer.alloc(8);
  readonly siginfo = Buffer.alloc(128);

  constructor(public tid: number) {}

  private check(r: number, what: string): number {
    if (r < 0) {
      const e = libc.errno();
      if (e === ESRCH) throw new TraceeGone(this.tid);
      throw new HostError(what, e);
    }
    return r;
  }

  // ---- registers: fetched lazily once per stop, written back before resuming ----
  loadRegs(): void {
    if (this.regsValid) return;
    this.check(libc.ptraceNum(PTRACE_GETREGS, this.tid, 0, this.regsAddr), 'PTRACE_GETREGS');
    this.regsValid = true;
  }
  /** Must be called whenever the tracee has run since the registers were read. */
  invalidateRegs(): void {
    this.regsValid = false;
    this.regsDirty = false;
  }
  getReg(slot: number): bigint {
    this.loadRegs();
    return this.regs.readBigUInt64LE(slot * 8);
  }
  /** A register as a JS number (exact below 2^53: addresses, sizes, small ints). */
  getRegNum(slot: number): number {
    this.loadRegs();
    return this.regs.readUInt32LE(slot * 8 + 4) * 0x100000000 + this.regs.readUInt32LE(slot * 8);
  }
  /** A register's low 32 bits as a signed int (fds, flags, pids). */
  getRegInt(slot: number): number {
    this.loadRegs();
    return this.regs.readInt32LE(slot * 8);
  }
  setReg(slot: number, v: bigint | number): void {
    this.loadRegs();
    const off = slot * 8;
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      // Two's-complement halves without BigInt: the common case (results, addresses, -1).
      const hi = Math.floor(v / 0x100000000);
      this.regs.writeUInt32LE(v - hi * 0x100000000, off);
      this.regs.writeInt32LE(hi, off + 4);
    } else {
      this.regs.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), off);
    }
    this.regsDirty = true;
  }
  flushRegs(): void {
    if (this.regsDirty) {
      this.check(libc.ptraceNum(PTRACE_SETREGS, this.tid, 0, this.regsAddr), 'PTRACE_SETREGS');
      this.regsDirty = false;
    }
  }
  saveRegs(): Buffer {
    this.loadRegs();
    return Buffer.from(this.regs);
  }
  restoreRegs(saved: Buffer): void {
    saved.copy(this.regs);
    this.regsValid = true;
    this.regsDirty = true;
  }

  // ---- resuming ----
  cont(sig = 0): void {
    this.flushRegs();
    this.check(libc.ptraceNum(PTRACE_CONT, this.tid, 0, sig), 'PTRACE_CONT');
    this.invalidateRegs();
  }
  /** Resume until the next syscall-exit (or entry) stop. */
  resumeToSyscallStop(sig = 0): void {
    this.flushRegs();
    this.check(libc.ptraceNum(PTRACE_SYSCALL, this.tid, 0, sig), 'PTRACE_SYSCALL');
    this.invalidateRegs();
  }
  interrupt(): void {
    this.check(libc.ptraceNum(PTRACE_INTERRUPT, this.tid, 0, 0), 'PTRACE_INTERRUPT');
  }
  listen(): void {
    this.check(libc.ptraceNum(PTRACE_LISTEN, this.tid, 0, 0), 'PTRACE_LISTEN');
    this.invalidateRegs();
  }
  eventMsg(): number {
    this.check(libc.ptraceBuf(PTRACE_GETEVENTMSG, this.tid, 0, this.u64), 'PTRACE_GETEVENTMSG');
    return Number(this.u64.readBigUInt64LE(0));
  }
  loadSiginfo(): Buffer {
    this.check(libc.ptraceBuf(PTRACE_GETSIGINFO, this.tid, 0, this.siginfo), 'PTRACE_GETSIGINFO');
    return this.siginfo;
  }
  storeSiginfo(): void {
    this.check(libc.ptraceBuf(PTRACE_SETSIGINFO, this.tid, 0, this.siginfo), 'PTRACE_SETSIGINFO');
  }
  sigmask(): bigint {
    this.check(libc.ptraceBuf(PTRACE_GETSIGMASK, this.tid, 8, this.sigmaskBuf), 'PTRACE_GETSIGMASK');
    return this.sigmaskBuf.readBigUInt64LE(0);
  }
  setSigmask(mask: bigint): void {
    this.sigmaskBuf.writeBigUInt64LE(mask, 0);
    this.check(libc.ptraceBuf(PTRACE_SETSIGMASK, this.tid, 8, this.sigmaskBuf), 'PTRACE_SETSIGMASK');
  }

  // ---- memory ----
  /** Reads up to len bytes; returns how many were readable (short at the first unmapped page). */
  readInto(addr: number, buf: Buffer, len = buf.length): number {
    if (len === 0) return 0;
    this.localIov.writeBigUInt64LE(libc.addressOf(buf), 0);
    this.localIov.writeBigUInt64LE(BigInt(len), 8);
    this.remoteIov.writeBigUInt64LE(BigInt(addr), 0);
    this.remoteIov.writeBigUInt64LE(BigInt(len), 8);
    const n = libc.processVmReadv(this.tid, this.localIov, 1, this.remoteIov, 1, 0);
    return n < 0 ? 0 : n;
  }
  /** Writes; returns how many bytes reached the tracee. */
  writeFrom(addr: number, buf: Buffer, len = buf.length): number {
    if (len === 0) return 0;
    this.localIov.writeBigUInt64LE(libc.addressOf(buf), 0);
    this.localIov.writeBigUInt64LE(BigInt(len), 8);
    this.remoteIov.writeBigUInt64LE(BigInt(addr), 0);
    this.remoteIov.writeBigUInt64LE(BigInt(len), 8);
    const n = libc.processVmWritev(this.tid, this.localIov, 1, this.remoteIov, 1, 0);
    return n < 0 ? 0 : n;
  }

  /** Which file one of this thread's own host fds refers to (null: not open). */
  hostFdIdentity(fd: number): { dev: number; ino: number } | null {
    try {
      const st = fs.statSync(`/proc/${this.tid}/fd/${fd}`, { throwIfNoEntry: false });
      return st ? { dev: st.dev, ino: st.ino } : null;
    } catch {
      return null;
    }
  }
}

export { REG };
