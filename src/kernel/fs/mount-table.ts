// The mount name space: which mount sits on which dentry, and the list /proc/mounts shows.
import { Mount, type Dentry, type MountFlags, type Path } from './path.js';
import type { FileSystem } from './inode.js';
import { Errno } from '../errno.js';
import { EBUSY, EINVAL } from '../abi/errno.js';

export const DEFAULT_MOUNT_FLAGS: MountFlags = { readOnly: false, nosuid: false, nodev: false, noexec: false };

export class MountTable {
  readonly root: Mount;
  private readonly onDentry = new Map<Dentry, Mount[]>();

  constructor(rootFs: FileSystem, source: string, flags: MountFlags = DEFAULT_MOUNT_FLAGS) {
    this.root = new Mount(rootFs, source, null, null, flags);
  }

  get rootPath(): Path {
    return { mount: this.root, dentry: this.root.root };
  }

  /** The mount stacked on (mount, dentry), topmost first, if any. */
  mountedOn(mount: Mount, dentry: Dentry): Mount | undefined {
    const list = this.onDentry.get(dentry);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.parent === mount) return list[i];
    return undefined;
  }

  /** Follows mounts stacked on a path down to the topmost one. */
  crossDown(p: Path): Path {
    let cur = p;
    for (;;) {
      const m = this.mountedOn(cur.mount, cur.dentry);
      if (!m) return cur;
      cur = { mount: m, dentry: m.root };
    }
  }

  /** `root` makes a bind mount: a subtree of `fs` (default: its root). */
  mount(fs: FileSystem, source: string, at: Path, flags: MountFlags, root?: Dentry): Mount {
    const m = new Mount(fs, source, at.mount, at.dentry, flags, root);
    at.mount.children.push(m);
    const list = this.onDentry.get(at.dentry) ?? [];
    list.push(m);
    this.onDentry.set(at.dentry, list);
    return m;
  }

  /** Detaches a mount; `at` must be the root of a mount. */
  umount(at: Path, force = false): void {
    const m = at.mount;
    if (at.dentry !== m.root || !m.parent || !m.mountpoint) throw new Errno(EINVAL);
    if (m.children.length && !force) throw new Errno(EBUSY);
    const parent = m.parent;
    parent.children.splice(parent.children.indexOf(m), 1);
    const list = this.onDentry.get(m.mountpoint)!;
    list.splice(list.indexOf(m), 1);
    if (list.length === 0) this.onDentry.delete(m.mountpoint);
  }

  /** All mounts in mount order (parents before children), as /proc/mounts lists them. */
  all(): Mount[] {
    const out: Mount[] = [];
    const visit = (m: Mount) => {
      out.push(m);
      m.children.forEach(visit);
    };
    visit(this.root);
    return out;
  }

  /** The absolute path string of a Path, relative to `root` (for getcwd, /proc). */
  pathString(p: Path, root: Path): string {
    const parts: string[] = [];
    let { mount, dentry } = p;
    for (;;) {
      if (mount === root.mount && dentry === root.dentry) break;
      if (dentry === mount.root) {
        if (!mount.parent || !mount.mountpoint) break;
        dentry = mount.mountpoint;
        mount = mount.parent;
        continue;
      }
      parts.push(dentry.name);
      if (!dentry.parent) break;
      dentry = dentry.parent;
    }
    return '/' + parts.reverse().join('/');
  }
}
