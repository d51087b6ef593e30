// The synchronous block interface the filesystem runs over. Structurally identical to
// src/drivers/ubd/block-backend.ts's BlockBackend, so either can be passed in; the small
// file-backed implementation here exists for tests and the mkfs tool.
import { openSync, readSync, writeSync, fstatSync, fsyncSync, closeSync } from 'node:fs';

export interface BlockBackend {
  size: number;
  readOnly: boolean;
  read(off: number, len: number): Buffer;
  write(off: number, data: Buffer): void;
  flush(): void;
  close(): void;
}

/** A host image file opened with node:fs (reads past the end return zeros). */
export class FileBlockBackend implements BlockBackend {
  readonly size: number;
  private fd: number;

  constructor(path: string, readonly readOnly = false) {
    this.fd = openSync(path, readOnly ? 'r' : 'r+');
    this.size = fstatSync(this.fd).size;
  }

  read(off: number, len: number): Buffer {
    const buf = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, off + done);
      if (n === 0) break;
      done += n;
    }
    return buf;
  }

  write(off: number, data: Buffer): void {
    if (this.readOnly) throw new Error('write to read-only block backend');
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, off + done);
  }

  flush(): void {
    if (!this.readOnly) fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
