// The VFS's view of a file-system object. Each file system implements Inode; the VFS
// (path walk, dentries, mounts, open files) is built on nothing else.
import type { Cred } from '../task/cred.js';
import type { File } from './file.js';
import type { Task } from '../task/task.js';
import type { Path } from './path.js';

export interface Timespec { sec: number; nsec: number }

export interface Stat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime?: Timespec;
}

export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
}

export interface DirEntry { name: string; ino: number; type: number }

export interface StatFs {
  type: number; bsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; namelen: number; frsize: number; flags: number;
}

export interface FileSystem {
  readonly name: string; // as in /proc/filesystems and /proc/mounts
  readonly dev: number;
  readonly root: Inode;
  readonly readOnly: boolean;
  statfs(): StatFs;
  /** Text for the options column of /proc/mounts. */
  mountOptions(): string;
  sync?(): void;
}

/**
 * A file-system object. Directory operations exist only on directories, readlink only on
 * symlinks; a missing operation means the object does not support it (the VFS returns the
 * errno Linux would). All operations throw Errno on failure.
 */
export interface Inode {
  readonly fs: FileSystem;
  readonly ino: number;
  getattr(): Stat;
  setattr(attr: SetAttr): void;
  // directories
  lookup?(name: string): Inode | null;
  readdir?(): DirEntry[];
  create?(name: string, mode: number, cred: Cred): Inode;
  mkdir?(name: string, mode: number, cred: Cred): Inode;
  mknod?(name: string, mode: number, rdev: number, cred: Cred): Inode;
  symlink?(name: string, target: string, cred: Cred): Inode;
  link?(name: string, target: Inode): void;
  unlink?(name: string): void;
  rmdir?(name: string): void;
  /** flags: RENAME_NOREPLACE | RENAME_EXCHANGE. */
  rename?(oldName: string, newDir: Inode, newName: string, flags: number): void;
  // symlinks
  readlink?(): string;
  /** A link whose text depends on who reads it (/proc/self). */
  readlinkFor?(reader: Task | null): string;
  /** A magic link that resolves straight to an object (/proc/<pid>/fd/N), or null. */
  followFor?(reader: Task | null): Path | null;
  /** Opens the object; `flags` are the open(2) flags. Called after permission checks. */
  open(flags: number, task: Task | null): File;
  // extended attributes
  getxattr?(name: string): Buffer | null;
  setxattr?(name: string, value: Buffer, flags: number): void;
  listxattr?(): string[];
  removexattr?(name: string): void;
}
