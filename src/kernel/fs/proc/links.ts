// How the path walk and readlink(2) read a procfs link for a given task. procfs links need
// the reader (/proc/self) and some jump straight to an object (/proc/<pid>/fd/N of a pipe);
// the Inode interface's plain readlink() cannot say either.
import type { Inode } from '../inode.js';
import type { Path } from '../path.js';
import type { Task } from '../../task/task.js';

export interface TaskAwareLink {
  readlinkFor?(reader: Task | null): string;
  followFor?(reader: Task | null): Path | null;
}

/** readlink(2) of `inode` as `reader` sees it. */
export function readlinkAs(inode: Inode, reader: Task | null): string {
  const l = inode as Inode & TaskAwareLink;
  if (l.readlinkFor) return l.readlinkFor(reader);
  return inode.readlink!();
}

/** For the path walk: a magic link's object, or null to resolve the link's text. */
export function followAs(inode: Inode, reader: Task | null): Path | null {
  const l = inode as Inode & TaskAwareLink;
  return l.followFor ? l.followFor(reader) : null;
}
