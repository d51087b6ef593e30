// The kernel log (printk): a ring buffer that dmesg and /dev/kmsg read, echoed to the host
// console unless the command line says `quiet`.
import { performance } from 'node:perf_hooks';

export interface LogRecord { level: number; usec: number; text: string; seq: number }

export const KERN_ERR = 3, KERN_WARNING = 4, KERN_NOTICE = 5, KERN_INFO = 6, KERN_DEBUG = 7;

export class KernelLog {
  private readonly records: LogRecord[] = [];
  private seq = 0;
  private readonly once = new Set<string>();
  quiet = false;
  /** Where echoed lines go (the host console). */
  sink: (line: string) => void = () => {};
  private readonly bootTime = performance.now();

  printk(level: number, text: string): void {
    const usec = Math.round((performance.now() - this.bootTime) * 1000);
    this.records.push({ level, usec, text, seq: this.seq++ });
    if (this.records.length > 4096) this.records.shift();
    const loud = level <= KERN_WARNING;
    if (!this.quiet || loud) this.sink(`${formatStamp(usec)} ${text}\n`);
  }
  info(text: string): void { this.printk(KERN_INFO, text); }
  warn(text: string): void { this.printk(KERN_WARNING, text); }
  /** Logs a message only the first time its key is seen. */
  warnOnce(key: string, text: string): void {
    if (this.once.has(key)) return;
    this.once.add(key);
    this.printk(KERN_WARNING, text);
  }
  noticeOnce(key: string, text: string): void {
    if (this.once.has(key)) return;
    this.once.add(key);
    this.printk(KERN_NOTICE, text);
  }
  all(): readonly LogRecord[] {
    return this.records;
  }
  clear(): void {
    this.records.length = 0;
  }
  /** dmesg's plain format: "[    0.000000] text". */
  text(): string {
    return this.records.map((r) => `${formatStamp(r.usec)} ${r.text}\n`).join('');
  }
}

export function formatStamp(usec: number): string {
  const s = Math.floor(usec / 1e6);
  const us = usec % 1e6;
  return `[${String(s).padStart(5, ' ')}.${String(us).padStart(6, '0')}]`;
}
