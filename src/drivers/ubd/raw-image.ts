// A plain image file (or host block device) as a ubd backend: `ubd0=root_fs`, `ubd0d=file`.
import * as fs from 'node:fs';
import type { BlockBackend, BlockBackendOptions } from './block-backend.js';
import { CowError, EINVAL, EROFS, SECTOR_SIZE } from './cow-header.js';
import { hostFileSize, lockHostFile, openHostFile, preadFull, pwriteFull } from './host-file.js';

export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new CowError(EINVAL, `I/O beyond end of device (offset ${offset}, length ${length}, size ${size})`);
}

export const roundBlock = (n: number): number => Math.ceil(n / SECTOR_SIZE) * SECTOR_SIZE;

export class RawImage implements BlockBackend {
  private fd: number;
  private closed = false;

  private constructor(readonly path: string, fd: number, readonly size: number, readonly readOnly: boolean) {
    this.fd = fd;
  }

  static open(path: string, opts: BlockBackendOptions = {}): RawImage {
    const { fd, writable } = openHostFile(path, !opts.readOnly, !!opts.sync);
    try {
      if (opts.shared) opts.log?.(`Not locking "${path}" on the host`);
      else lockHostFile(opts.lock, fd, writable, path);
      return new RawImage(path, fd, roundBlock(hostFileSize(fs.fstatSync(fd))), !writable);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  read(offset: number, length: number): Buffer {
    this.check();
    checkRange(this.size, offset, length);
    const buf = Buffer.allocUnsafe(length);
    preadFull(this.fd, buf, offset); // the tail past EOF of an odd-sized file reads as zeros
    return buf;
  }

  write(offset: number, data: Uint8Array): void {
    this.check();
    if (this.readOnly) throw new CowError(EROFS, `"${this.path}" is read-only`);
    checkRange(this.size, offset, data.length);
    pwriteFull(this.fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength), offset);
  }

  flush(): void {
    this.check();
    if (!this.readOnly) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private check(): void {
    if (this.closed) throw new CowError(EINVAL, `"${this.path}" is closed`);
  }
}
