// The same file-system operations two ways: on a host directory through node:fs and the host
// layer (the reference: the host's tmpfs or overlayfs), and through tuml's VFS with a fake
// task. Scripts run on both and their recorded results are compared.
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as hostFiles from '../../src/host/files.js';
import * as vfs from '../../src/kernel/fs/vfs.js';
import type { File } from '../../src/kernel/fs/file.js';
import { AT_FDCWD, O_CREAT, O_RDWR, O_WRONLY } from '../../src/kernel/abi/fcntl.js';
import type { Stat } from '../../src/kernel/fs/inode.js';
import type { Task } from '../../src/kernel/task/task.js';
import { lstat, names, readFile } from './fs-fake-task.js';

export type ShortStat = Pick<Stat, 'mode' | 'nlink' | 'size' | 'blocks'>;

export interface Backend {
  mkdir(p: string): void;
  mknod(p: string, mode: number, rdev: number): void;
  write(p: string, data: Buffer, off: number): void;
  append(p: string, data: Buffer): void;
  link(a: string, b: string): void;
  symlink(target: string, p: string): void;
  readlink(p: string): string;
  rename(a: string, b: string, flags: number): void;
  unlink(p: string): void;
  rmdir(p: string): void;
  truncate(p: string, size: number): void;
  chmod(p: string, mode: number): void;
  fallocate(p: string, mode: number, off: number, len: number): void;
  stat(p: string): ShortStat;
  fullStat(p: string): Stat;
  list(p: string): string[];
  read(p: string): string;
  setxattr(p: string, name: string, value: string): void;
  getxattr(p: string, name: string): string | null;
}

export function hostBackend(base: string): Backend {
  const P = (p: string) => join(base, p);
  const pick = (s: Stat): ShortStat => ({ mode: s.mode, nlink: s.nlink, size: s.size, blocks: s.blocks });
  const withFd = (p: string, flags: number, fn: (fd: number) => void) => {
    const fd = hostFiles.open(P(p), flags, 0o644);
    try { fn(fd); } finally { hostFiles.close(fd); }
  };
  return {
    mkdir: (p) => hostFiles.mkdir(P(p), 0o755),
    mknod: (p, m, r) => hostFiles.mknod(P(p), m, r),
    write: (p, d, off) => withFd(p, fs.constants.O_WRONLY | fs.constants.O_CREAT, (fd) => hostFiles.pwrite(fd, d, off)),
    append: (p, d) => withFd(p, fs.constants.O_WRONLY | fs.constants.O_APPEND, (fd) => fs.writeSync(fd, d)),
    link: (a, b) => hostFiles.link(P(a), P(b)),
    symlink: (t, p) => hostFiles.symlink(t, P(p)),
    readlink: (p) => hostFiles.readlink(P(p)),
    rename: (a, b, f) => hostFiles.rename(P(a), P(b), f),
    unlink: (p) => hostFiles.unlink(P(p)),
    rmdir: (p) => hostFiles.rmdir(P(p)),
    truncate: (p, n) => hostFiles.truncate(P(p), n),
    chmod: (p, m) => hostFiles.chmod(P(p), m),
    fallocate: (p, m, o, l) => withFd(p, fs.constants.O_RDWR | fs.constants.O_CREAT, (fd) => hostFiles.fallocate(fd, m, o, l)),
    stat: (p) => pick(hostFiles.lstat(P(p))),
    fullStat: (p) => hostFiles.lstat(P(p)),
    list: (p) => hostFiles.readdir(P(p)).map((e) => e.name).sort(),
    read: (p) => fs.readFileSync(P(p), 'latin1'),
    setxattr: (p, n, v) => hostFiles.setxattr(P(p), n, Buffer.from(v), 0),
    getxattr: (p, n) => hostFiles.getxattr(P(p), n)?.toString() ?? null,
  };
}

export function tumlBackend(t: Task): Backend {
  const open = (p: string, flags: number) => vfs.openAt(t, AT_FDCWD, p, flags, 0o644);
  const withFile = (f: File, fn: (f: File) => void) => { try { fn(f); } finally { f.unref(); } };
  const inode = (p: string, follow = true) => vfs.lookupAt(t, AT_FDCWD, p, follow).dentry.inode;
  return {
    mkdir: (p) => vfs.mkdirAt(t, AT_FDCWD, p, 0o755),
    mknod: (p, m, r) => vfs.mknodAt(t, AT_FDCWD, p, m, r),
    write: (p, d, off) => withFile(open(p, O_WRONLY | O_CREAT), (f) => f.pwrite(t, d, off)),
    append: (p, d) => withFile(open(p, O_WRONLY | 0o2000 /* O_APPEND */), (f) => f.write(t, d)),
    link: (a, b) => vfs.linkAt(t, AT_FDCWD, a, AT_FDCWD, b, 0),
    symlink: (target, p) => vfs.symlinkAt(t, target, AT_FDCWD, p),
    readlink: (p) => vfs.readlinkAt(t, AT_FDCWD, p),
    rename: (a, b, f) => vfs.renameAt(t, AT_FDCWD, a, AT_FDCWD, b, f),
    unlink: (p) => vfs.unlinkAt(t, AT_FDCWD, p, false),
    rmdir: (p) => vfs.unlinkAt(t, AT_FDCWD, p, true),
    truncate: (p, n) => inode(p).setattr({ size: n }),
    chmod: (p, m) => inode(p).setattr({ mode: m }),
    fallocate: (p, m, o, l) => withFile(open(p, O_RDWR | O_CREAT), (f) => f.fallocate(m, o, l)),
    stat: (p) => { const s = lstat(t, p); return { mode: s.mode, nlink: s.nlink, size: s.size, blocks: s.blocks }; },
    fullStat: (p) => lstat(t, p),
    list: (p) => names(t, p),
    read: (p) => readFile(t, p).toString('latin1'),
    setxattr: (p, n, v) => inode(p, false).setxattr!(n, Buffer.from(v), 0),
    getxattr: (p, n) => inode(p, false).getxattr!(n)?.toString() ?? null,
  };
}

/** Records each step's result, or its errno. */
export class Recorder {
  readonly out: unknown[] = [];
  run(what: string, fn: () => unknown): void {
    try {
      this.out.push([what, fn() ?? 'ok']);
    } catch (e) {
      const n = (e as { errno?: number }).errno;
      if (typeof n !== 'number') throw e;
      this.out.push([what, 'errno', Math.abs(n)]);
    }
  }
}
