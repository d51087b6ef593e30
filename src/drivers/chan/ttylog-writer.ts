// Writes the kernel's tty log records (src/kernel/tty/tty-log.ts) to `tty_log_fd=` or to
// one file per tty session under `tty_log_dir=`, in order, synchronously (records are small).
import * as fs from 'node:fs';

export class TtyLogWriter {
  private readonly files = new Map<string, number>();
  private failed = false;
  constructor(private readonly fd: number | null) {}

  write(file: string | null, data: Uint8Array): void {
    try {
      let fd = this.fd;
      if (file !== null) {
        fd = this.files.get(file) ?? null;
        if (fd === null) {
          fd = fs.openSync(file, 'a', 0o600);
          this.files.set(file, fd);
        }
      }
      if (fd === null) return;
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if (!this.failed) process.stderr.write(`tuml: tty log: ${(e as Error).message}\n`);
      this.failed = true;
    }
  }

  close(): void {
    for (const fd of this.files.values()) { try { fs.closeSync(fd); } catch { /* gone */ } }
    this.files.clear();
  }
}
