// What a ubd device reads and writes: a plain image (RawImage) or a COW file over a backing
// file (CowFile). The ubd driver and the filesystems see only this interface.
import * as fs from 'node:fs';
import { COW_HEADER_MAX_SIZE, CowError, EINVAL, parseCowHeader } from './cow-header.js';
import { CowFile } from './cow-file.js';
import { RawImage } from './raw-image.js';
import { errnoOf, preadFull, type HostFileLock } from './host-file.js';

export interface BlockBackend {
  /** Device size in bytes: the file's size rounded up to 512 (UML's ROUND_BLOCK). */
  readonly size: number;
  readonly readOnly: boolean;
  /** `length` bytes at `offset` (byte granularity); must lie within `size`. */
  read(offset: number, length: number): Buffer;
  /** Writes all of `data` at `offset`; throws on a read-only device or beyond `size`. */
  write(offset: number, data: Uint8Array): void;
  /** Makes everything written so far durable on the host (fsync). */
  flush(): void;
  /** Releases the host files; further calls throw. Idempotent. */
  close(): void;
}

/** The ubd flags (`ubd<N>[rscdt]=`) and hooks that decide how a backend is opened. */
export interface BlockBackendOptions {
  /** 'r': open read-only. A file that can't be opened for writing also ends up read-only. */
  readOnly?: boolean;
  /** 's': O_SYNC. */
  sync?: boolean;
  /** 'c': shared between machines, no host lock ("Not locking ... on the host"). */
  shared?: boolean;
  /** Host fcntl lock, unless shared. Without it, no lock is taken. */
  lock?: HostFileLock;
  /** UML's printk lines (Creating..., Switching backing file..., Not locking...). */
  log?: (line: string) => void;
}

export interface UbdFileSpec extends BlockBackendOptions {
  /** `ubdN=cow,backing`: the backing file named on the command line. */
  backingFile?: string;
  /** 'd': never look for a COW header, use the file as a plain image. */
  noCow?: boolean;
}

/**
 * Opens what `ubdN[flags]=file[,backing]` names: a COW file when a backing file is given or
 * when the file starts with a COW header (unless 'd'), else a plain image. Unlike UML, a
 * file that starts with the COW magic but has a broken header is an error, not a plain
 * image the guest could then overwrite.
 */
export function openBlockBackend(file: string, spec: UbdFileSpec = {}): BlockBackend {
  if (spec.backingFile !== undefined && spec.noCow)
    throw new CowError(EINVAL, "Can't specify both 'd' and a cow file");
  if (spec.backingFile !== undefined) return CowFile.open(file, spec);
  if (spec.noCow) return RawImage.open(file, spec);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (e) {
    throw new CowError(errnoOf(e), `Failed to open '${file}', errno = ${errnoOf(e)}`);
  }
  const head = Buffer.alloc(COW_HEADER_MAX_SIZE);
  let n: number;
  try {
    n = preadFull(fd, head, 0);
  } finally {
    fs.closeSync(fd);
  }
  let isCow: boolean;
  try {
    isCow = parseCowHeader(head.subarray(0, n)) !== null;
  } catch (e) {
    if (!(e instanceof CowError)) throw e;
    throw new CowError(e.errno, `"${file}" starts with a COW header that can't be used (${e.message}); ` +
      `use the 'd' flag (ubdNd=) to open it as a plain image`);
  }
  return isCow ? CowFile.open(file, spec) : RawImage.open(file, spec);
}
