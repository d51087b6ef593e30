// signalfd(2): pending signals as a file. Reading dequeues one (the kernel runs
// rt_sigtimedwait with a zero timeout inside the reading task, since the host holds the
// pending sets); readiness comes from the host's pending sets; the kernel's signal sending
// wakes readers (every signal a guest can receive is sent by the kernel).
import { Errno } from '../errno.js';
import { EAGAIN, EINVAL } from '../abi/errno.js';
import { File, POLLIN, POLLRDNORM } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import type { ThreadGroup } from '../task/thread-group.js';
import { SIGKILL, SIGSTOP, sigbit } from '../abi/signals.js';
import { SYS } from '../abi/syscalls.js';
import { scratchAddress, injectCall } from '../mm/inject.js';
import { hostStatus } from '../../host/proc-stat.js';
import { anonStat } from './eventfd.js';
import { notify } from './notify.js';
import { signalArrivals, takeSigInfoFix } from '../signal/deliver.js';

const SIGINFO_SIZE = 128;

export class SignalFd extends File {
  readonly anonName = 'anon_inode:[signalfd]';
  private readonly unsubscribe: () => void;
  constructor(public mask: bigint, flags: number, readonly owner: ThreadGroup) {
    super(flags);
    this.unsubscribe = signalArrivals(owner).add(() => notify(this, POLLIN | POLLRDNORM));
  }

  /** The mask as Linux keeps it: SIGKILL and SIGSTOP can never be read. */
  static sanitize(mask: bigint): bigint {
    return mask & ~(sigbit(SIGKILL) | sigbit(SIGSTOP));
  }

  stat(): Stat {
    return anonStat();
  }

  override read(t: Task, len: number): Buffer {
    if (len < SIGINFO_SIZE) throw new Errno(EINVAL);
    const out: Buffer[] = [];
    while ((out.length + 1) * SIGINFO_SIZE <= len) {
      const one = this.dequeue(t);
      if (!one) break;
      out.push(one);
    }
    if (out.length === 0) throw new Errno(EAGAIN);
    return Buffer.concat(out);
  }

  /** One pending signal of the mask, as a signalfd_siginfo, or null. */
  private dequeue(t: Task): Buffer | null {
    const at = scratchAddress(t) - 512;
    const maskAddr = at, infoAddr = at + 16, tsAddr = at + 16 + SIGINFO_SIZE;
    const m = Buffer.alloc(8);
    m.writeBigUInt64LE(this.mask);
    t.mem.write(maskAddr, m);
    t.mem.write(tsAddr, Buffer.alloc(16));
    const sig = injectCall(t.kernel, t, SYS.rt_sigtimedwait, [maskAddr, infoAddr, tsAddr, 8]);
    if (sig <= 0) return null;
    const si = t.mem.read(infoAddr, SIGINFO_SIZE);
    const fix = takeSigInfoFix(t, sig);
    const ssi = Buffer.alloc(SIGINFO_SIZE);
    ssi.writeUInt32LE(sig, 0);
    ssi.writeInt32LE(si.readInt32LE(4), 4);
    const fromKernel = si.readInt32LE(16) === process.pid;
    ssi.writeInt32LE(fix && fromKernel ? fix.code : si.readInt32LE(8), 8);
    ssi.writeUInt32LE(fix && fromKernel ? fix.pid : fromKernel ? 0 : si.readUInt32LE(16), 12);
    ssi.writeUInt32LE(fix && fromKernel ? fix.uid : si.readUInt32LE(20), 16);
    if (fix?.status !== undefined) ssi.writeInt32LE(fix.status, 40);
    if (fix?.fill) fix.fill(si);
    ssi.writeInt32LE(si.readInt32LE(24), 44); // ssi_int (sigval)
    ssi.writeBigUInt64LE(si.readBigUInt64LE(24), 48); // ssi_ptr
    return ssi;
  }

  override poll(): number {
    const g = this.owner;
    let pending = 0n;
    const st = hostStatus(g.hostPid);
    if (st) pending |= BigInt('0x' + (st.get('ShdPnd') ?? '0'));
    for (const th of g.threads) {
      const ts = hostStatus(g.hostPid, th.hostTid);
      if (ts) pending |= BigInt('0x' + (ts.get('SigPnd') ?? '0'));
    }
    return pending & this.mask ? POLLIN | POLLRDNORM : 0;
  }

  protected override release(): void {
    this.unsubscribe();
  }
}
