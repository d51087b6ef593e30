// The VFS operations the syscall layer calls: resolve a (dirfd, path) pair, open with
// open(2)'s flag semantics, and the namespace operations with Linux's checks and errnos.
import { Errno } from '../errno.js';
import {
  EACCES, EBADF, EEXIST, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EROFS, EXDEV, EINVAL, EBUSY, ENOTSUP,
} from '../abi/errno.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY,
  O_TRUNC, O_WRONLY, O_RDWR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, RENAME_EXCHANGE, RENAME_NOREPLACE,
  S_ISVTX, O_TMPFILE,
} from '../abi/fcntl.js';
import type { Task } from '../task/task.js';
import { Dentry, type Path } from './path.js';
import type { File } from './file.js';
import type { Inode, Stat } from './inode.js';
import { walk, walkParent, isDir, type WalkContext } from './namei.js';
import { permits, checkPermission, MAY_EXEC, MAY_READ, MAY_WRITE } from './permission.js';
import { HostInode } from './hostfs/hostfs.js';
import { readlinkAs } from './proc/links.js';

export function walkContext(t: Task): WalkContext {
  return { mounts: t.kernel.mounts, root: t.fs.root, cred: t.cred, task: t };
}

/** The starting directory for a *at call. */
export function startDir(t: Task, dirfd: number, path: string): Path {
  if (path.startsWith('/')) return t.fs.root;
  if (dirfd === AT_FDCWD) return t.fs.cwd;
  const f = t.fds.get(dirfd);
  if (!f.path) throw new Errno(ENOTDIR);
  if (path !== '' && !isDir(f.path)) throw new Errno(ENOTDIR);
  return f.path;
}

/** Resolves (dirfd, path) with AT_EMPTY_PATH support. */
export function lookupAt(t: Task, dirfd: number, path: string, follow: boolean, flags = 0): Path {
  if (path === '') {
    if (!(flags & AT_EMPTY_PATH)) throw new Errno(ENOENT);
    if (dirfd === AT_FDCWD) return t.fs.cwd;
    const f = t.fds.get(dirfd);
    if (!f.path) throw new Errno(EBADF);
    return f.path;
  }
  return walk(walkContext(t), startDir(t, dirfd, path), path, { follow });
}

export function stat(p: Path): Stat {
  return p.dentry.inode.getattr();
}

function mustWrite(p: Path): void {
  if (p.mount.readOnly) throw new Errno(EROFS);
}

function dirWritable(t: Task, dir: Path): void {
  mustWrite(dir);
  checkPermission(stat(dir), t.cred, MAY_WRITE | MAY_EXEC);
}

/** Sticky-directory rule for unlink/rename (may_delete). */
function mayDelete(t: Task, dir: Path, victim: Inode): void {
  const ds = stat(dir);
  if (!(ds.mode & S_ISVTX) || t.cred.fsRoot) return;
  const vs = victim.getattr();
  if (vs.uid !== t.cred.fsuid && ds.uid !== t.cred.fsuid) throw new Errno(EPERM);
}

export function openPath(t: Task, p: Path, flags: number): File {
  const st = stat(p);
  const type = st.mode & S_IFMT;
  if (!(flags & O_PATH)) {
    if (type === S_IFLNK) throw new Errno(ELOOP);
    if ((flags & O_DIRECTORY) && type !== S_IFDIR) throw new Errno(ENOTDIR);
    const acc = flags & O_ACCMODE;
    if (type === S_IFDIR && (acc !== O_RDONLY || (flags & O_TRUNC))) throw new Errno(EISDIR);
    const mask = (acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE);
    checkPermission(st, t.cred, mask);
    if (acc !== O_RDONLY && type === S_IFREG && p.mount.readOnly) throw new Errno(EROFS);
  } else if ((flags & O_DIRECTORY) && type !== S_IFDIR) throw new Errno(ENOTDIR);
  const f = p.dentry.inode.open(flags, t);
  f.path = p;
  if ((flags & O_TRUNC) && !(flags & O_PATH) && type === S_IFREG && (flags & O_ACCMODE) !== O_RDONLY) {
    p.dentry.inode.setattr({ size: 0 });
  }
  return f;
}

/** open(2)/openat(2) semantics. */
export function openAt(t: Task, dirfd: number, path: string, flags: number, mode: number): File {
  if ((flags & O_TMPFILE) === O_TMPFILE) return openTmpfile(t, dirfd, path, flags, mode);
  const ctx = walkContext(t);
  const start = startDir(t, dirfd, path);
  if (!(flags & O_CREAT)) {
    if (path === '') throw new Errno(ENOENT);
    const p = walk(ctx, start, path, { follow: !(flags & O_NOFOLLOW) || !!(flags & O_PATH) && false });
    if ((flags & O_NOFOLLOW) && !(flags & O_PATH) && (stat(p).mode & S_IFMT) === S_IFLNK) throw new Errno(ELOOP);
    return openPath(t, p, flags);
  }
  const { parent, name, trailingSlash } = walkParent(ctx, start, path);
  if (name === '' || name === '.' || name === '..') throw new Errno(EISDIR);
  let existing = parent.dentry.child(name);
  if (existing) {
    if (flags & O_EXCL) throw new Errno(EEXIST);
    let p: Path = ctx.mounts.crossDown({ mount: parent.mount, dentry: existing });
    if ((stat(p).mode & S_IFMT) === S_IFLNK) {
      if (flags & O_NOFOLLOW) throw new Errno(ELOOP);
      try {
        p = walk(ctx, parent, name, { follow: true });
      } catch (e) {
        // A dangling symlink: O_CREAT creates its target.
        if (!(e instanceof Errno) || e.errno !== ENOENT) throw e;
        const target = readlinkAs(existing.inode, t);
        return openAt(t, AT_FDCWD, target.startsWith('/') ? target : mountRelative(t, parent) + '/' + target, flags, mode);
      }
    }
    if ((stat(p).mode & S_IFMT) === S_IFDIR) throw new Errno(EISDIR);
    return openPath(t, p, flags);
  }
  if (trailingSlash) throw new Errno(EISDIR);
  dirWritable(t, parent);
  const inode = parent.dentry.inode.create?.(name, (mode & ~t.fs.umask & 0o7777) | S_IFREG, t.cred);
  if (!inode) throw new Errno(EPERM);
  const d = parent.dentry.add(name, inode);
  const f = inode.open(flags & ~O_TRUNC, t);
  f.path = { mount: parent.mount, dentry: d };
  return f;
}

let tmpfileSeq = 0;

/** O_TMPFILE: an unnamed regular file in the directory's file system, gone when closed.
 *  Made by creating a file there and unlinking it at once, while it is open. */
function openTmpfile(t: Task, dirfd: number, path: string, flags: number, mode: number): File {
  const acc = flags & O_ACCMODE;
  if (acc !== O_WRONLY && acc !== O_RDWR) throw new Errno(EINVAL);
  const dir = walk(walkContext(t), startDir(t, dirfd, path), path, { follow: true });
  if (!isDir(dir)) throw new Errno(ENOTDIR);
  const inode = dir.dentry.inode;
  if (!inode.create || !inode.unlink) throw new Errno(ENOTSUP);
  dirWritable(t, dir);
  let name: string;
  do name = `.tuml-tmpfile-${++tmpfileSeq}`; while (dir.dentry.child(name));
  const ino = inode.create(name, (mode & ~t.fs.umask & 0o7777) | S_IFREG, t.cred);
  try {
    const f = ino.open(flags & ~(O_TMPFILE | O_CREAT | O_EXCL | O_TRUNC), t);
    // Named as Linux names it ("#<ino>"), and never in the dcache: /proc shows it deleted.
    f.path = { mount: dir.mount, dentry: new Dentry(`#${ino.getattr().ino}`, dir.dentry, ino) };
    return f;
  } finally {
    inode.unlink(name);
  }
}

function mountRelative(t: Task, p: Path): string {
  return t.kernel.mounts.pathString(p, t.fs.root);
}

export function mkdirAt(t: Task, dirfd: number, path: string, mode: number): void {
  const ctx = walkContext(t);
  const { parent, name } = walkParent(ctx, startDir(t, dirfd, path), path);
  if (name === '' || name === '.' || name === '..') throw new Errno(EEXIST);
  if (parent.dentry.child(name)) throw new Errno(EEXIST);
  dirWritable(t, parent);
  const ino = parent.dentry.inode.mkdir?.(name, (mode & ~t.fs.umask & 0o7777) | S_IFDIR, t.cred);
  if (!ino) throw new Errno(EPERM);
  parent.dentry.add(name, ino);
}

export function mknodAt(t: Task, dirfd: number, path: string, mode: number, rdev: number): void {
  const ctx = walkContext(t);
  const { parent, name } = walkParent(ctx, startDir(t, dirfd, path), path);
  if (name === '' || name === '.' || name === '..') throw new Errno(EEXIST);
  if (parent.dentry.child(name)) throw new Errno(EEXIST);
  dirWritable(t, parent);
  const type = mode & S_IFMT;
  const perm = mode & ~t.fs.umask & 0o7777;
  let ino: Inode | undefined;
  if (type === S_IFREG || type === 0) ino = parent.dentry.inode.create?.(name, perm | S_IFREG, t.cred);
  else if (type === S_IFDIR) throw new Errno(EINVAL);
  else ino = parent.dentry.inode.mknod?.(name, perm | type, rdev, t.cred);
  if (!ino) throw new Errno(EPERM);
  parent.dentry.add(name, ino);
}

export function symlinkAt(t: Task, target: string, dirfd: number, path: string): void {
  const ctx = walkContext(t);
  const { parent, name } = walkParent(ctx, startDir(t, dirfd, path), path);
  if (name === '' || name === '.' || name === '..') throw new Errno(EEXIST);
  if (parent.dentry.child(name)) throw new Errno(EEXIST);
  if (target === '') throw new Errno(ENOENT);
  dirWritable(t, parent);
  const ino = parent.dentry.inode.symlink?.(name, target, t.cred);
  if (!ino) throw new Errno(EPERM);
  parent.dentry.add(name, ino);
}

export function linkAt(t: Task, olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void {
  const src = lookupAt(t, olddirfd, oldpath, (flags & 0x400) !== 0 /* AT_SYMLINK_FOLLOW */, flags);
  if (isDir(src)) throw new Errno(EPERM);
  const ctx = walkContext(t);
  const { parent, name, trailingSlash } = walkParent(ctx, startDir(t, newdirfd, newpath), newpath);
  if (trailingSlash || name === '' || name === '.' || name === '..') throw new Errno(ENOENT);
  if (parent.dentry.child(name)) throw new Errno(EEXIST);
  if (parent.mount !== src.mount) throw new Errno(EXDEV);
  dirWritable(t, parent);
  if (!parent.dentry.inode.link) throw new Errno(EPERM);
  parent.dentry.inode.link(name, src.dentry.inode);
  const ino = parent.dentry.inode.lookup?.(name) ?? src.dentry.inode;
  parent.dentry.add(name, ino);
}

export function unlinkAt(t: Task, dirfd: number, path: string, removeDir: boolean): void {
  const ctx = walkContext(t);
  const { parent, name, trailingSlash } = walkParent(ctx, startDir(t, dirfd, path), path);
  if (name === '.' ) throw new Errno(removeDir ? EINVAL : EISDIR);
  if (name === '..') throw new Errno(removeDir ? ENOTEMPTY : EISDIR);
  if (name === '') throw new Errno(removeDir ? EBUSY : EISDIR);
  const d = parent.dentry.child(name);
  if (!d) throw new Errno(ENOENT);
  const type = d.inode.getattr().mode & S_IFMT;
  if (ctx.mounts.mountedOn(parent.mount, d)) throw new Errno(EBUSY);
  if (removeDir) {
    if (type !== S_IFDIR) throw new Errno(ENOTDIR);
  } else {
    if (type === S_IFDIR) throw new Errno(EISDIR);
    if (trailingSlash) throw new Errno(ENOTDIR);
  }
  dirWritable(t, parent);
  mayDelete(t, parent, d.inode);
  if (removeDir) parent.dentry.inode.rmdir!(name);
  else parent.dentry.inode.unlink!(name);
  parent.dentry.drop(name);
}

export function renameAt(t: Task, olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | 4)) throw new Errno(EINVAL);
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) throw new Errno(EINVAL);
  const ctx = walkContext(t);
  const a = walkParent(ctx, startDir(t, olddirfd, oldpath), oldpath);
  const b = walkParent(ctx, startDir(t, newdirfd, newpath), newpath);
  for (const n of [a.name, b.name]) if (n === '' || n === '.' || n === '..') throw new Errno(n === '' ? EBUSY : EINVAL);
  const src = a.parent.dentry.child(a.name);
  if (!src) throw new Errno(ENOENT);
  if (a.parent.mount !== b.parent.mount) throw new Errno(EXDEV);
  const srcDir = (src.inode.getattr().mode & S_IFMT) === S_IFDIR;
  if ((a.trailingSlash || b.trailingSlash) && !srcDir) throw new Errno(ENOTDIR);
  const dst = b.parent.dentry.child(b.name);
  if (src === dst) return;
  if (flags & RENAME_EXCHANGE) { if (!dst) throw new Errno(ENOENT); }
  else if (dst) {
    if (flags & RENAME_NOREPLACE) throw new Errno(EEXIST);
    const dstDir = (dst.inode.getattr().mode & S_IFMT) === S_IFDIR;
    if (srcDir && !dstDir) throw new Errno(ENOTDIR);
    if (!srcDir && dstDir) throw new Errno(EISDIR);
  }
  // A directory cannot move under itself.
  if (srcDir) for (let d = b.parent.dentry as typeof src | null; d; d = d.parent) if (d === src) throw new Errno(EINVAL);
  if (ctx.mounts.mountedOn(a.parent.mount, src) || (dst && ctx.mounts.mountedOn(b.parent.mount, dst))) throw new Errno(EBUSY);
  dirWritable(t, a.parent);
  dirWritable(t, b.parent);
  mayDelete(t, a.parent, src.inode);
  if (dst) mayDelete(t, b.parent, dst.inode);
  a.parent.dentry.inode.rename!(a.name, b.parent.dentry.inode, b.name, flags);
  // Keep the dcache in step.
  a.parent.dentry.drop(a.name);
  b.parent.dentry.drop(b.name);
  if (flags & RENAME_EXCHANGE && dst) {
    dst.name = a.name; dst.parent = a.parent.dentry; a.parent.dentry.children.set(a.name, dst);
    if (dst.inode instanceof HostInode && a.parent.dentry.inode instanceof HostInode) dst.inode.moved(a.parent.dentry.inode, a.name);
  }
  src.name = b.name;
  src.parent = b.parent.dentry;
  b.parent.dentry.children.set(b.name, src);
  if (src.inode instanceof HostInode && b.parent.dentry.inode instanceof HostInode) src.inode.moved(b.parent.dentry.inode, b.name);
}

export function readlinkAt(t: Task, dirfd: number, path: string): string {
  const p = lookupAt(t, dirfd, path, false, AT_EMPTY_PATH);
  const ino = p.dentry.inode;
  if ((ino.getattr().mode & S_IFMT) !== S_IFLNK || !ino.readlink) throw new Errno(EINVAL);
  return readlinkAs(ino, t);
}

export function accessCheck(t: Task, p: Path, mode: number, useReal: boolean): void {
  const st = stat(p);
  if (mode === 0) return;
  const cred = useReal ? Object.assign(t.cred.clone(), { fsuid: t.cred.uid, fsgid: t.cred.gid }) : t.cred;
  if ((mode & 2) && p.mount.readOnly && (st.mode & S_IFMT) !== S_IFDIR && ((st.mode & S_IFMT) === S_IFREG)) throw new Errno(EROFS);
  if ((mode & 2) && p.mount.readOnly && (st.mode & S_IFMT) === S_IFDIR) throw new Errno(EROFS);
  if (!permits(st, cred, mode & 7)) throw new Errno(EACCES);
}

export function mayExec(t: Task, p: Path): void {
  const st = stat(p);
  if ((st.mode & S_IFMT) !== S_IFREG) throw new Errno(EACCES);
  if (p.mount.flags.noexec) throw new Errno(EACCES);
  if (!permits(st, t.cred, MAY_EXEC)) throw new Errno(EACCES);
}

export { O_RDWR };
