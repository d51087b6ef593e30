// An overlay inode: one name in the union, bound to its upper object, its lower object, or
// both (a merged directory). Nodes are kept per parent so that copy-up, which fills in
// `upper` in place, is seen by every dentry and open file that holds the node.
import { Errno } from '../../errno.js';
import { EEXIST, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EXDEV, ENOTSUP, EROFS, EPERM } from '../../abi/errno.js';
import {
  O_ACCMODE, O_PATH, O_RDONLY, O_TRUNC, S_IFMT, S_IFDIR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG,
  RENAME_EXCHANGE, RENAME_NOREPLACE, DT_DIR,
} from '../../abi/fcntl.js';
import type { DirEntry, Inode, SetAttr, Stat } from '../inode.js';
import type { File } from '../file.js';
import type { Cred } from '../../task/cred.js';
import type { Task } from '../../task/task.js';
import type { OverlayFs } from './overlayfs.js';
import { copyUp } from './copy-up.js';
import { OverlayFile, OverlayDirFile } from './file.js';

function typeOf(i: Inode): number {
  return i.getattr().mode & S_IFMT;
}

/** Layers may rename path-based inodes (hostfs); tell them where they went. */
interface Movable { moved(newParent: Inode, newName: string): void }
function moved(i: Inode, newParent: Inode, newName: string): void {
  const m = i as Partial<Movable>;
  if (typeof m.moved === 'function') m.moved(newParent, newName);
}

export class OverlayInode implements Inode {
  private readonly children = new Map<string, OverlayInode>();

  constructor(
    readonly fs: OverlayFs,
    public parent: OverlayInode | null,
    public name: string,
    /** The upper object, once it exists (copy-up fills it in). */
    public upper: Inode | null,
    /** The lower object: for a directory, set only while merged (not opaque). */
    public lower: Inode | null,
    readonly ino: number,
  ) {}

  private real(): Inode {
    return (this.upper ?? this.lower)!;
  }
  get type(): number {
    return typeOf(this.real());
  }
  private get isDir(): boolean {
    return this.type === S_IFDIR;
  }
  /** A directory made of an upper and a lower directory. */
  get merged(): boolean {
    return this.upper !== null && this.lower !== null && this.isDir;
  }
  private writable(): void {
    if (this.fs.readOnly) throw new Errno(EROFS);
  }

  getattr(): Stat {
    const st = this.real().getattr();
    st.dev = this.fs.dev;
    st.ino = this.ino;
    // As overlayfs: a merged directory's link count cannot be known cheaply; 1 tells find(1).
    if (this.merged) st.nlink = 1;
    return st;
  }

  setattr(a: SetAttr): void {
    this.writable();
    copyUp(this, a.size !== 0).setattr(a);
  }

  // ---- directories ----

  private dirCheck(): void {
    if (!this.isDir) throw new Errno(ENOTDIR);
  }

  /** What the lower layer has under `name` that this directory lets through. */
  private lowerVisible(name: string): Inode | null {
    return this.lower ? this.lower.lookup!(name) : null;
  }

  lookup(name: string): Inode | null {
    return this.child(name);
  }

  child(name: string): OverlayInode | null {
    this.dirCheck();
    if (this.fs.style.isPrivateName(name)) return null;
    const cached = this.children.get(name);
    if (cached) return cached;
    const node = this.resolve(name);
    if (node) this.children.set(name, node);
    return node;
  }

  private resolve(name: string): OverlayInode | null {
    const style = this.fs.style;
    let up: Inode | null = null;
    if (this.upper) {
      up = this.upper.lookup!(name);
      if (up && style.isWhiteoutInode(up)) return null;
      if (!up && style.hasMarker(this.upper, name)) return null;
    }
    const low = this.lowerVisible(name);
    if (up) {
      const upIsDir = typeOf(up) === S_IFDIR;
      const mergeWith = upIsDir && low && typeOf(low) === S_IFDIR && !style.isOpaque(up) ? low : null;
      return new OverlayInode(this.fs, this, name, up, mergeWith, mergeWith ? mergeWith.ino : this.fs.upperIno(up));
    }
    if (low) return new OverlayInode(this.fs, this, name, null, low, low.ino);
    return null;
  }

  readdir(): DirEntry[] {
    this.dirCheck();
    const style = this.fs.style;
    if (!this.upper) return this.lower!.readdir!();
    const out: DirEntry[] = [];
    const hidden = new Set<string>();
    const lowerEntries = this.lower ? this.lower.readdir!() : [];
    const lowerByName = new Map(lowerEntries.map((e) => [e.name, e]));
    for (const e of this.upper.readdir!()) {
      if (style.isPrivateName(e.name)) {
        if (e.name.startsWith('.wh.')) hidden.add(e.name.slice(4));
        continue;
      }
      hidden.add(e.name);
      let ino: number;
      const cached = this.children.get(e.name);
      if (cached) ino = cached.ino;
      else {
        const up = this.upper.lookup!(e.name);
        if (!up) continue; // gone meanwhile
        if (style.isWhiteoutInode(up)) continue;
        const low = lowerByName.get(e.name);
        ino = low && low.type === DT_DIR && e.type === DT_DIR ? (this.child(e.name)?.ino ?? e.ino) : this.fs.upperIno(up);
      }
      out.push({ name: e.name, ino, type: e.type });
    }
    for (const e of lowerEntries) if (!hidden.has(e.name)) out.push(e);
    return out;
  }

  /** The upper directory, ready for a new entry `name` (copied up, whiteout cleared). */
  private prepareCreate(name: string): { dir: Inode; hadLower: boolean } {
    this.writable();
    this.dirCheck();
    if (this.fs.style.isPrivateName(name)) throw new Errno(EINVAL);
    if (this.child(name)) throw new Errno(EEXIST);
    const dir = copyUp(this);
    const hadLower = this.lowerVisible(name) !== null;
    this.fs.style.clear(dir, name);
    return { dir, hadLower };
  }

  private adopt(name: string, up: Inode): OverlayInode {
    const node = new OverlayInode(this.fs, this, name, up, null, this.fs.upperIno(up));
    this.children.set(name, node);
    return node;
  }

  create(name: string, mode: number, cred: Cred): Inode {
    const { dir } = this.prepareCreate(name);
    return this.adopt(name, dir.create!(name, mode, cred));
  }

  mkdir(name: string, mode: number, cred: Cred): Inode {
    const { dir, hadLower } = this.prepareCreate(name);
    const up = dir.mkdir!(name, mode, cred);
    // A directory made where a deleted lower one was must not show the old contents.
    if (hadLower) this.fs.style.setOpaque(up);
    return this.adopt(name, up);
  }

  mknod(name: string, mode: number, rdev: number, cred: Cred): Inode {
    // A 0:0 character device is what a whiteout is; overlayfs refuses to make one.
    if ((mode & S_IFMT) === S_IFCHR && rdev === 0) throw new Errno(EPERM);
    const { dir } = this.prepareCreate(name);
    return this.adopt(name, dir.mknod!(name, mode, rdev, cred));
  }

  symlink(name: string, target: string, cred: Cred): Inode {
    const { dir } = this.prepareCreate(name);
    return this.adopt(name, dir.symlink!(name, target, cred));
  }

  link(name: string, target: Inode): void {
    if (!(target instanceof OverlayInode) || target.fs !== this.fs) throw new Errno(EXDEV);
    if (target.isDir) throw new Errno(EINVAL);
    const up = copyUp(target);
    const { dir } = this.prepareCreate(name);
    dir.link!(name, up);
    // Another name of the same (now upper) object.
    this.children.set(name, target);
  }

  /** Removes `name` (node `c`) from the union: the upper entry goes, a whiteout hides the lower. */
  private remove(name: string, c: OverlayInode): void {
    const dir = copyUp(this);
    const hadLower = this.lowerVisible(name) !== null;
    if (c.upper) {
      if (c.isDir) {
        this.fs.style.cleanDir(c.upper);
        dir.rmdir!(name);
        this.fs.forgetOrigin(c.upper);
      } else {
        if (c.upper.getattr().nlink <= 1) this.fs.forgetOrigin(c.upper);
        dir.unlink!(name);
      }
    }
    if (hadLower) this.fs.style.make(dir, name);
    this.children.delete(name);
  }

  unlink(name: string): void {
    this.writable();
    const c = this.child(name);
    if (!c) throw new Errno(ENOENT);
    if (c.isDir) throw new Errno(EISDIR);
    this.remove(name, c);
  }

  rmdir(name: string): void {
    this.writable();
    const c = this.child(name);
    if (!c) throw new Errno(ENOENT);
    if (!c.isDir) throw new Errno(ENOTDIR);
    if (c.readdir().length) throw new Errno(ENOTEMPTY);
    this.remove(name, c);
  }

  /** A directory that has lower contents cannot be renamed without redirects: EXDEV, as
   *  overlayfs without redirect_dir (mv then copies). */
  private get hasLowerDir(): boolean {
    return this.isDir && (this.lower !== null || this.upper === null);
  }

  rename(oldName: string, newDir: Inode, newName: string, flags: number): void {
    this.writable();
    if (!(newDir instanceof OverlayInode) || newDir.fs !== this.fs) throw new Errno(EXDEV);
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new Errno(EINVAL);
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    if (this.fs.style.isPrivateName(newName)) throw new Errno(EINVAL);
    const src = this.child(oldName);
    if (!src) throw new Errno(ENOENT);
    const dst = newDir.child(newName);
    if (src === dst) return;
    if (src.hasLowerDir) throw new Errno(EXDEV);
    if (exchange) {
      if (!dst) throw new Errno(ENOENT);
      if (dst.hasLowerDir) throw new Errno(EXDEV);
    } else if (dst) {
      if (flags & RENAME_NOREPLACE) throw new Errno(EEXIST);
      if (src.isDir && !dst.isDir) throw new Errno(ENOTDIR);
      if (!src.isDir && dst.isDir) throw new Errno(EISDIR);
      if (dst.isDir && dst.readdir().length) throw new Errno(ENOTEMPTY);
    }
    const srcUp = copyUp(src);
    const fromDir = copyUp(this);
    const toDir = copyUp(newDir);
    const srcLower = this.lowerVisible(oldName) !== null;
    const dstLower = newDir.lowerVisible(newName) !== null;
    const style = this.fs.style;
    // Path-based layers (hostfs) cannot stat the object between the rename and moved().
    const srcIsDir = src.isDir;
    if (exchange) {
      const dstUp = copyUp(dst!);
      const dstIsDir = dst!.isDir;
      fromDir.rename!(oldName, toDir, newName, RENAME_EXCHANGE);
      moved(srcUp, toDir, newName);
      moved(dstUp, fromDir, oldName);
      if (srcIsDir && dstLower) style.setOpaque(srcUp);
      if (dstIsDir && srcLower) style.setOpaque(dstUp);
    } else {
      if (dst?.upper) {
        if (dst.isDir) style.cleanDir(dst.upper);
        if (dst.isDir || dst.upper.getattr().nlink <= 1) this.fs.forgetOrigin(dst.upper);
      } else style.clear(toDir, newName);
      fromDir.rename!(oldName, toDir, newName, 0);
      moved(srcUp, toDir, newName);
      if (srcIsDir && dstLower) style.setOpaque(srcUp);
      if (srcLower) style.make(fromDir, oldName);
    }
    this.children.delete(oldName);
    newDir.children.delete(newName);
    newDir.children.set(newName, src);
    src.parent = newDir;
    src.name = newName;
    if (exchange) {
      this.children.set(oldName, dst!);
      dst!.parent = this;
      dst!.name = oldName;
    }
  }

  // ---- symlinks ----

  readlink(): string {
    const r = this.real();
    if (!r.readlink) throw new Errno(EINVAL);
    return r.readlink();
  }

  // ---- open ----

  open(flags: number, task: Task | null): File {
    const type = this.type;
    if (!(flags & O_PATH)) {
      if ((type === S_IFCHR || type === S_IFBLK) && this.fs.deviceOpener) {
        return this.fs.deviceOpener(this.real().getattr().rdev, flags, task, type);
      }
      if (type === S_IFIFO && this.fs.fifoOpener) return this.fs.fifoOpener(this, flags, task);
      const acc = flags & O_ACCMODE;
      if (type === S_IFREG && (acc !== O_RDONLY || (flags & O_TRUNC))) {
        this.writable();
        // Opened for writing: copy up first; with O_TRUNC the old data is not needed.
        copyUp(this, !(flags & O_TRUNC));
      }
    }
    if (type === S_IFDIR) return new OverlayDirFile(this, flags);
    return new OverlayFile(this, this.real().open(flags, task), flags, this.upper === null);
  }

  // ---- extended attributes ----

  getxattr(name: string): Buffer | null {
    if (this.fs.style.isPrivateXattr(name)) return null;
    const r = this.real();
    if (!r.getxattr) throw new Errno(ENOTSUP);
    return r.getxattr(name);
  }
  listxattr(): string[] {
    const r = this.real();
    return (r.listxattr?.() ?? []).filter((n) => !this.fs.style.isPrivateXattr(n));
  }
  setxattr(name: string, value: Buffer, flags: number): void {
    this.writable();
    if (this.fs.style.isPrivateXattr(name)) throw new Errno(ENOTSUP);
    const up = copyUp(this);
    if (!up.setxattr) throw new Errno(ENOTSUP);
    up.setxattr(name, value, flags);
  }
  removexattr(name: string): void {
    this.writable();
    if (this.fs.style.isPrivateXattr(name)) throw new Errno(ENOTSUP);
    const up = copyUp(this);
    if (!up.removexattr) throw new Errno(ENOTSUP);
    up.removexattr(name);
  }
}
