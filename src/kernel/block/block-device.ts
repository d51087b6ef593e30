// A block device (struct block_device): a whole disk or one of its partitions, as a byte
// range of a store (a ubd backend, a loop-mounted file). File systems and /dev nodes both
// reach the disk through here.
import { Errno } from '../errno.js';
import { EBUSY, EINVAL, EIO, EOPNOTSUPP, EROFS } from '../abi/errno.js';
import { makedev } from '../fs/devnums.js';

export const SECTOR_SIZE = 512;

/** What a device stores its bytes in; drivers/ubd's BlockBackend fits as it is. */
export interface BlockStore {
  readonly size: number;
  readonly readOnly: boolean;
  read(offset: number, length: number): Buffer;
  write(offset: number, data: Uint8Array): void;
  flush(): void;
  close(): void;
  /** Optional: deallocate a byte range (it then reads as zeros). */
  discard?(offset: number, length: number): void;
}

export interface BlockDeviceInfo {
  name: string;
  major: number;
  minor: number;
  /** First byte and length of the range of `store` this device covers. */
  start: number;
  size: number;
  readOnly: boolean;
  /** 't': the device refuses discards (UML's no_trim). */
  noTrim?: boolean;
  serial?: string | null;
}

const ZERO_CHUNK = 1 << 20;

/** A host failure under a device is an I/O error for the guest (logged by the caller). */
function hostIo<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Errno) throw e;
    throw new Errno(EIO, `block I/O error: ${(e as Error).message}`);
  }
}

export class BlockDevice {
  readonly name: string;
  readonly major: number;
  readonly minor: number;
  readonly start: number;
  readonly size: number;
  readOnly: boolean;
  readonly noTrim: boolean;
  readonly serial: string | null;
  /** Partitions of a whole disk (empty for a partition). */
  partitions: BlockDevice[] = [];
  /** Who has it claimed exclusively (a mounted file system), for EBUSY, and how many
   *  claims that holder has open (a remount takes the new one before closing the old). */
  holder: string | null = null;
  private claims = 0;
  /** Open /dev nodes on it. */
  openCount = 0;
  /** Called when a file system releases its claim (a loop device may then clear itself). */
  onRelease: (() => void) | null = null;

  constructor(readonly store: BlockStore, info: BlockDeviceInfo, readonly disk: BlockDevice | null = null) {
    this.name = info.name;
    this.major = info.major;
    this.minor = info.minor;
    this.start = info.start;
    this.size = info.size;
    this.readOnly = info.readOnly || store.readOnly;
    this.noTrim = !!info.noTrim;
    this.serial = info.serial ?? null;
  }

  get rdev(): number {
    return makedev(this.major, this.minor);
  }
  get sectors(): number {
    return Math.floor(this.size / SECTOR_SIZE);
  }
  get isPartition(): boolean {
    return this.disk !== null;
  }
  /** Index of this partition (ubda1 → 1), 0 for a whole disk. */
  get partno(): number {
    return this.disk ? this.minor - this.disk.minor : 0;
  }

  private check(off: number, len: number): void {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > this.size) throw new Errno(EINVAL);
  }

  read(off: number, len: number): Buffer {
    this.check(off, len);
    if (len === 0) return Buffer.alloc(0);
    return hostIo(() => this.store.read(this.start + off, len));
  }

  write(off: number, data: Uint8Array): void {
    if (this.readOnly) throw new Errno(EROFS);
    this.check(off, data.length);
    if (data.length) hostIo(() => this.store.write(this.start + off, data));
  }

  flush(): void {
    if (!this.readOnly) hostIo(() => this.store.flush());
  }

  /** BLKDISCARD: the range reads as zeros afterwards (ubd punches or zero-fills). */
  discard(off: number, len: number): void {
    if (this.noTrim) throw new Errno(EOPNOTSUPP);
    this.zeroOut(off, len, true);
  }

  /** BLKZEROOUT. */
  zeroOut(off: number, len: number, mayDiscard = false): void {
    if (this.readOnly) throw new Errno(EROFS);
    this.check(off, len);
    if (mayDiscard && this.store.discard) {
      this.store.discard(this.start + off, len);
      return;
    }
    const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, len));
    for (let done = 0; done < len; done += zeros.length) {
      const n = Math.min(zeros.length, len - done);
      this.store.write(this.start + off + done, n === zeros.length ? zeros : zeros.subarray(0, n));
    }
  }

  /**
   * Claims the device for a file system and returns the store it should use (the range of
   * this device; close() releases the claim, never the disk). EBUSY when already claimed,
   * or when the disk or one of its partitions is.
   */
  claim(holder: string, readOnly: boolean): BlockStore {
    if ((this.holder && this.holder !== holder) || this.disk?.holder || this.partitions.some((p) => p.holder)) throw new Errno(EBUSY);
    if (!readOnly && this.readOnly) throw new Errno(EROFS);
    this.holder = holder;
    this.claims++;
    let released = false;
    return {
      size: this.size,
      readOnly: readOnly || this.readOnly,
      read: (o, l) => this.read(o, l),
      write: (o, d) => this.write(o, d),
      flush: () => this.flush(),
      close: () => {
        if (released) return;
        released = true;
        this.flush();
        if (--this.claims > 0) return;
        this.holder = null;
        this.onRelease?.();
      },
      discard: (o, l) => this.zeroOut(o, l, true),
    };
  }
}
