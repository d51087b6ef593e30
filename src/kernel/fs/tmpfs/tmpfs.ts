// tmpfs: a file system in memory (mm/shmem.c). Directories, symlinks and special files are
// JavaScript objects; each regular file's bytes live in a host memfd, which is also what a
// mapping of the file maps, so MAP_SHARED pages and read/write see the same data.
import { S_IFDIR } from '../../abi/fcntl.js';
import type { FileSystem, Inode, StatFs } from '../inode.js';
import type { File } from '../file.js';
import type { Task } from '../../task/task.js';
import { allocDev } from '../devnums.js';
import { parseOptions, showOptions, PAGE_SIZE, type TmpfsOptions } from './options.js';
import { TmpInode } from './inode.js';

export const TMPFS_MAGIC = 0x01021994;
const ST_VALID = 0x20, ST_RDONLY = 1;

/** Opens a character or block device node by its number (the integrator's device registry).
 *  `type` is S_IFCHR or S_IFBLK. */
export type DeviceOpener = (rdev: number, flags: number, task: Task | null, type: number) => File;
/** Opens a FIFO node (the integrator's pipe code); one pipe per inode. */
export type FifoOpener = (inode: Inode, flags: number, task: Task | null) => File;

export interface TmpFsParams {
  /** Mount data, e.g. "size=10M,mode=755". */
  options?: string;
  /** The machine's RAM, for the default size (half) and size=N%. Default 256 MiB. */
  ramBytes?: number;
  deviceOpener?: DeviceOpener;
  fifoOpener?: FifoOpener;
  readOnly?: boolean;
  /** As /proc/filesystems names it (devtmpfs is a tmpfs too). */
  name?: string;
}

export class TmpFs implements FileSystem {
  readonly name: string;
  readonly dev = allocDev();
  readonly root: TmpInode;
  readOnly: boolean;
  readonly options: TmpfsOptions;
  readonly ramBytes: number;
  readonly deviceOpener: DeviceOpener | undefined;
  readonly fifoOpener: FifoOpener | undefined;
  /** Pages held by file data, against options.maxBlocks. */
  usedBlocks = 0;
  /** Live inodes, against options.maxInodes. */
  usedInodes = 0;
  private nextIno = 1;

  constructor(p: TmpFsParams = {}) {
    this.name = p.name ?? 'tmpfs';
    this.ramBytes = p.ramBytes ?? 256 * 1024 * 1024;
    this.options = parseOptions(p.options ?? '', this.ramBytes);
    this.readOnly = p.readOnly ?? false;
    this.deviceOpener = p.deviceOpener;
    this.fifoOpener = p.fifoOpener;
    this.root = TmpInode.make(this, S_IFDIR | this.options.mode, 0, this.options.uid, this.options.gid, null);
  }

  allocIno(): number {
    return this.nextIno++;
  }

  statfs(): StatFs {
    const o = this.options;
    const flags = ST_VALID | (this.readOnly ? ST_RDONLY : 0);
    const free = o.maxBlocks ? Math.max(0, o.maxBlocks - this.usedBlocks) : 0;
    const ffree = o.maxInodes ? Math.max(0, o.maxInodes - this.usedInodes) : 0;
    return {
      type: TMPFS_MAGIC, bsize: PAGE_SIZE, blocks: o.maxBlocks, bfree: free, bavail: free,
      files: o.maxInodes, ffree, namelen: 255, frsize: PAGE_SIZE, flags,
    };
  }

  mountOptions(): string {
    return (this.readOnly ? 'ro' : 'rw') + showOptions(this.options, this.ramBytes);
  }
}
