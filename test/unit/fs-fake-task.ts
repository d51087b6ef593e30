// A minimal stand-in for a Task, enough for the VFS functions (no tracee): the mount table,
// an fs context, credentials and an fd table. Shared by the tmpfs and overlay tests.
import { MountTable } from '../../src/kernel/fs/mount-table.js';
import { FsContext } from '../../src/kernel/fs/fs-context.js';
import { FdTable } from '../../src/kernel/fs/fd-table.js';
import { Cred } from '../../src/kernel/task/cred.js';
import { Errno } from '../../src/kernel/errno.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import { AT_FDCWD, O_CREAT, O_RDONLY, O_WRONLY, O_TRUNC } from '../../src/kernel/abi/fcntl.js';
import type { FileSystem, Stat } from '../../src/kernel/fs/inode.js';
import type { Task } from '../../src/kernel/task/task.js';

export interface FakeTask {
  kernel: { mounts: MountTable };
  fs: FsContext;
  cred: Cred;
  fds: FdTable;
}

export function fakeTask(rootFs: FileSystem, cred = new Cred()): Task {
  const mounts = new MountTable(rootFs, rootFs.name);
  const fake: FakeTask = { kernel: { mounts }, fs: new FsContext(mounts.rootPath, mounts.rootPath), cred, fds: new FdTable() };
  return fake as unknown as Task;
}

/** The errno a call throws, or 0. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof Errno) return e.errno;
    throw e;
  }
}

export function writeFile(t: Task, path: string, data: string | Buffer, mode = 0o644): void {
  const f = vfs.openAt(t, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  try {
    f.write(t, Buffer.from(data));
  } finally {
    f.unref();
  }
}

export function readFile(t: Task, path: string): Buffer {
  const f = vfs.openAt(t, AT_FDCWD, path, O_RDONLY, 0);
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const b = f.read(t, 65536);
      if (b.length === 0) break;
      parts.push(b);
    }
    return Buffer.concat(parts);
  } finally {
    f.unref();
  }
}

export function lstat(t: Task, path: string): Stat {
  return vfs.stat(vfs.lookupAt(t, AT_FDCWD, path, false));
}

export function names(t: Task, path: string): string[] {
  const f = vfs.openAt(t, AT_FDCWD, path, O_RDONLY, 0);
  try {
    return f.readdir().map((e) => e.name).sort();
  } finally {
    f.unref();
  }
}
