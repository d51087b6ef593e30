// /dev/kmsg (1,11): the kernel log one record per read, in the format
// "<facility*8+level>,<seq>,<usec>,<flag>;<text>\n"; writes add a record (printk from user
// space, "<N>" prefix selects the level).
import { Errno } from '../../errno.js';
import { EAGAIN, EINVAL, EPIPE } from '../../abi/errno.js';
import { SEEK_SET, SEEK_END, SEEK_DATA } from '../../abi/fcntl.js';
import { POLLIN, POLLRDNORM } from '../file.js';
import type { Task } from '../../task/task.js';
import type { KernelLog, LogRecord } from '../../log.js';
import { DeviceFile } from './device-file.js';

export function kmsgRecord(r: LogRecord): string {
  // Linux escapes every byte below ' ', from 127 up, and '\\' as \xNN (msg_print_ext_body).
  let text = '';
  for (const c of Buffer.from(r.text, 'utf8')) {
    text += c < 0x20 || c >= 0x7f || c === 0x5c ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c);
  }
  return `${r.level},${r.seq},${r.usec},-;${text}\n`;
}

/** Open /dev/kmsg files, to wake readers sleeping for the next record. */
const openKmsg = new Set<KmsgFile>();

/** Call when the kernel log gains a record (the integrator hooks this to KernelLog.printk). */
export function wakeKmsgReaders(): void {
  for (const f of openKmsg) f.waitQueue.wake();
}

export class KmsgFile extends DeviceFile {
  /** The sequence number of the next record to read. */
  private next: number;

  constructor(flags: number, rdev: number, private readonly log: KernelLog) {
    super(flags, rdev);
    this.next = log.all()[0]?.seq ?? 0;
    openKmsg.add(this);
  }

  protected override release(): void {
    openKmsg.delete(this);
  }

  override read(_t: Task, len: number): Buffer {
    const all = this.log.all();
    const first = all[0]?.seq ?? 0;
    if (all.length && this.next < first) {
      // The ring overwrote what this reader had not seen: say so once, then go on.
      this.next = first;
      throw new Errno(EPIPE);
    }
    const r = all.find((x) => x.seq >= this.next);
    // Nothing new: EAGAIN, on which the syscall layer sleeps on waitQueue unless O_NONBLOCK
    // (woken when the log gains a record: see wakeKmsgReaders).
    if (!r) throw new Errno(EAGAIN);
    const b = Buffer.from(kmsgRecord(r), 'utf8');
    if (b.length > len) throw new Errno(EINVAL);
    this.next = r.seq + 1;
    return b;
  }

  override write(_t: Task, data: Buffer): number {
    let text = data.toString('utf8').replace(/\n$/, '');
    let level = 4; // default_message_loglevel; the facility (LOG_USER unless given) is not kept
    const m = /^<(\d+)>/.exec(text);
    if (m) {
      level = Number(m[1]) & 7;
      text = text.slice(m[0].length);
    }
    this.log.printk(level, text);
    return data.length;
  }

  override seek(off: number, whence: number): number {
    if (off !== 0) throw new Errno(EINVAL);
    const all = this.log.all();
    if (whence === SEEK_SET) this.next = all[0]?.seq ?? 0;
    else if (whence === SEEK_END || whence === SEEK_DATA) this.next = (all[all.length - 1]?.seq ?? -1) + 1;
    else throw new Errno(EINVAL);
    return 0;
  }

  override poll(): number {
    const all = this.log.all();
    const last = all[all.length - 1];
    return last && last.seq >= this.next ? POLLIN | POLLRDNORM : 0;
  }
}
