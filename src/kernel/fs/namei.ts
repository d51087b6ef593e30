// The path walk: components, '.', '..', symlinks (ELOOP after 40), mount crossing, and the
// task's root as the top ('..' never climbs out of a chroot).
import { Errno } from '../errno.js';
import { ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES } from '../abi/errno.js';
import { S_IFDIR, S_IFLNK, S_IFMT } from '../abi/fcntl.js';
import type { Path } from './path.js';
import type { MountTable } from './mount-table.js';
import type { Cred } from '../task/cred.js';
import type { Task } from '../task/task.js';
import { readlinkAs, followAs } from './proc/links.js';
import { permits, MAY_EXEC } from './permission.js';

export const PATH_MAX = 4096, NAME_MAX = 255, MAX_SYMLINKS = 40;

export interface WalkContext {
  readonly mounts: MountTable;
  readonly root: Path;
  readonly cred: Cred;
  /** The task walking (for /proc/self and other task-relative links). */
  readonly task?: Task;
}

export interface WalkOptions {
  /** Follow a symlink in the last component. */
  follow: boolean;
}

export function isDir(p: Path): boolean {
  return (p.dentry.inode.getattr().mode & S_IFMT) === S_IFDIR;
}

function isSymlink(p: Path): boolean {
  return (p.dentry.inode.getattr().mode & S_IFMT) === S_IFLNK;
}

interface State { links: number }

function parent(ctx: WalkContext, p: Path): Path {
  let cur = p;
  for (;;) {
    if (cur.mount === ctx.root.mount && cur.dentry === ctx.root.dentry) return cur;
    if (cur.dentry === cur.mount.root) {
      if (!cur.mount.parent || !cur.mount.mountpoint) return cur;
      cur = { mount: cur.mount.parent, dentry: cur.mount.mountpoint };
      continue;
    }
    const d = cur.dentry.parent ?? cur.dentry;
    return ctx.mounts.crossDown({ mount: cur.mount, dentry: d });
  }
}

function step(ctx: WalkContext, dir: Path, name: string): Path | null {
  if (name === '.' || name === '') return dir;
  if (name === '..') return parent(ctx, dir);
  if (name.length > NAME_MAX) throw new Errno(ENAMETOOLONG);
  const d = dir.dentry.child(name);
  if (!d) return null;
  return ctx.mounts.crossDown({ mount: dir.mount, dentry: d });
}

function checkSearch(ctx: WalkContext, dir: Path): void {
  const st = dir.dentry.inode.getattr();
  if ((st.mode & S_IFMT) !== S_IFDIR) throw new Errno(ENOTDIR);
  if (!permits(st, ctx.cred, MAY_EXEC)) throw new Errno(EACCES);
}

function followLink(ctx: WalkContext, at: Path, link: Path, st: State): Path {
  if (++st.links > MAX_SYMLINKS) throw new Errno(ELOOP);
  const jump = followAs(link.dentry.inode, ctx.task ?? null);
  if (jump) return jump;
  const target = readlinkAs(link.dentry.inode, ctx.task ?? null);
  if (target === '') throw new Errno(ENOENT);
  return walkFrom(ctx, target.startsWith('/') ? ctx.root : at, target, { follow: true }, st);
}

function walkFrom(ctx: WalkContext, start: Path, path: string, opts: WalkOptions, st: State): Path {
  if (path.length >= PATH_MAX) throw new Errno(ENAMETOOLONG);
  let cur = path.startsWith('/') ? ctx.root : start;
  const parts = path.split('/');
  const trailingSlash = path.length > 1 && path.endsWith('/');
  const comps = parts.filter((c) => c !== '');
  for (let i = 0; i < comps.length; i++) {
    const last = i === comps.length - 1;
    checkSearch(ctx, cur);
    const next = step(ctx, cur, comps[i]!);
    if (!next) throw new Errno(ENOENT);
    if (isSymlink(next) && (!last || opts.follow || trailingSlash)) {
      cur = followLink(ctx, cur, next, st);
    } else {
      cur = next;
    }
  }
  if (trailingSlash && !isDir(cur)) throw new Errno(ENOTDIR);
  return cur;
}

/** Resolves a whole path. Throws ENOENT, ENOTDIR, ELOOP, EACCES, ENAMETOOLONG. */
export function walk(ctx: WalkContext, start: Path, path: string, opts: WalkOptions): Path {
  if (path === '') throw new Errno(ENOENT);
  return walkFrom(ctx, start, path, opts, { links: 0 });
}

export interface ParentAndName {
  parent: Path;
  /** The last component ('' when the path is '/', '.' or '..' are returned as is). */
  name: string;
  trailingSlash: boolean;
}

/** Resolves all but the last component (for create, unlink, rename, …). */
export function walkParent(ctx: WalkContext, start: Path, path: string): ParentAndName {
  if (path === '') throw new Errno(ENOENT);
  if (path.length >= PATH_MAX) throw new Errno(ENAMETOOLONG);
  const trailingSlash = path.length > 1 && path.endsWith('/');
  const trimmed = path.replace(/\/+$/, '');
  const idx = trimmed.lastIndexOf('/');
  const dirPart = idx < 0 ? '' : trimmed.slice(0, idx) || '/';
  const name = idx < 0 ? trimmed : trimmed.slice(idx + 1);
  if (name.length > NAME_MAX) throw new Errno(ENAMETOOLONG);
  const base = path.startsWith('/') ? ctx.root : start;
  const parentPath = dirPart === '' ? base : walkFrom(ctx, base, dirPart, { follow: true }, { links: 0 });
  checkSearch(ctx, parentPath);
  return { parent: parentPath, name, trailingSlash };
}
