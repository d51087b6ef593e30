// Files without a name in any mounted file system (pipes, sockets, eventfd, timerfd,
// epoll) still answer fstat: each pseudo file system has an anonymous device, and
// anon_inodefs has a single inode shared by all its files, as in Linux.
import type { Stat, Timespec } from '../fs/inode.js';
import { allocDev } from '../fs/devnums.js';

export interface PseudoFs { readonly name: string; readonly dev: number; nextIno: number }

function pseudoFs(name: string): PseudoFs {
  return { name, dev: allocDev(), nextIno: 1 };
}

export const pipefs = pseudoFs('pipefs');
export const sockfs = pseudoFs('sockfs');
export const anonInodeFs = pseudoFs('anon_inodefs');
/** The one inode of anon_inodefs. */
export const ANON_INODE_INO = anonInodeFs.nextIno++;

export function allocIno(fs: PseudoFs): number {
  return fs.nextIno++;
}

function nowTs(): Timespec {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

export interface PseudoStatInit { fs: PseudoFs; ino: number; mode: number; uid: number; gid: number; size?: number; time?: Timespec }

export function pseudoStat(s: PseudoStatInit): Stat {
  const t = s.time ?? nowTs();
  return {
    dev: s.fs.dev, ino: s.ino, mode: s.mode, nlink: 1, uid: s.uid, gid: s.gid, rdev: 0,
    size: s.size ?? 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t,
  };
}

export { nowTs };
