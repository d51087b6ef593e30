// overlay: a copy-on-write union of a read-only lower file system and a writable upper one
// (fs/overlayfs). The default machine runs on it: the host's / through read-only hostfs
// below, a tmpfs (or a host directory through read-write hostfs) above.
import type { FileSystem, Inode, StatFs } from '../inode.js';
import { allocDev } from '../devnums.js';
import type { DeviceOpener, FifoOpener } from '../tmpfs/tmpfs.js';
import { whiteoutStyle, type WhiteoutKind, type WhiteoutStyle } from './whiteout.js';
import { OverlayInode } from './inode.js';

export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
/** Inode numbers of upper-only objects are moved above the lower layer's (like xino). */
const UPPER_INO_BASE = 2 ** 52;

export interface OverlayParams {
  lower: FileSystem;
  upper: FileSystem;
  /** How deletions are recorded in the upper layer; default 'chardev' (see whiteout.ts). */
  whiteout?: WhiteoutKind;
  /** For /proc/mounts: what the layers are (e.g. "/" and "tmpfs"). */
  lowerDesc?: string;
  upperDesc?: string;
  /** Device and FIFO nodes open through these when given (else through the layer below). */
  deviceOpener?: DeviceOpener;
  fifoOpener?: FifoOpener;
}

export class OverlayFs implements FileSystem {
  readonly name = 'overlay';
  readonly dev = allocDev();
  readonly root: OverlayInode;
  readonly readOnly: boolean;
  readonly lower: FileSystem;
  readonly upper: FileSystem;
  readonly style: WhiteoutStyle;
  readonly deviceOpener: DeviceOpener | undefined;
  readonly fifoOpener: FifoOpener | undefined;
  /** Upper inode number → the lower inode number it was copied up from (overlay's "origin"),
   *  so an object keeps its st_ino when it moves to the upper layer. In memory only. */
  private readonly origin = new Map<number, number>();

  constructor(private readonly p: OverlayParams) {
    this.lower = p.lower;
    this.upper = p.upper;
    this.readOnly = p.upper.readOnly;
    this.style = whiteoutStyle(p.whiteout ?? 'chardev');
    this.deviceOpener = p.deviceOpener;
    this.fifoOpener = p.fifoOpener;
    this.root = new OverlayInode(this, null, '', p.upper.root, p.lower.root, p.lower.root.ino);
    this.initUpperRoot();
  }

  /** A fresh (empty) upper root takes the lower root's mode, owner and times, as if copied
   *  up: the union's "/" must look like the host's, not like an empty tmpfs (1777). */
  private initUpperRoot(): void {
    const up = this.upper.root;
    if (this.upper.readOnly || (up.readdir?.() ?? []).length > 0) return;
    const st = this.lower.root.getattr();
    try {
      up.setattr({ uid: st.uid, gid: st.gid });
    } catch { /* a host-directory upper may not allow chown */ }
    up.setattr({ mode: st.mode & 0o7777, atime: st.atime, mtime: st.mtime });
  }

  /** The st_ino of an upper object: its origin's if it was copied up, else its own, shifted. */
  upperIno(upper: Inode): number {
    return this.origin.get(upper.ino) ?? UPPER_INO_BASE + (upper.ino % UPPER_INO_BASE);
  }
  recordOrigin(upper: Inode, ino: number): void {
    this.origin.set(upper.ino, ino);
  }
  forgetOrigin(upper: Inode): void {
    this.origin.delete(upper.ino);
  }

  statfs(): StatFs {
    return { ...this.upper.statfs(), type: OVERLAYFS_SUPER_MAGIC };
  }

  mountOptions(): string {
    const lower = this.p.lowerDesc ?? this.lower.name;
    const upper = this.p.upperDesc ?? this.upper.name;
    return `${this.readOnly ? 'ro' : 'rw'},lowerdir=${lower},upperdir=${upper}`;
  }

  sync(): void {
    this.upper.sync?.();
  }
}
