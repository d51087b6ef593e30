// Dentries, mounts and paths: the name space the path walk moves through.
import type { FileSystem, Inode } from './inode.js';

/** A name in a directory, bound to an inode. Cached; the tree of them is the dcache. */
export class Dentry {
  readonly children = new Map<string, Dentry>();
  constructor(public name: string, public parent: Dentry | null, public inode: Inode) {}

  child(name: string): Dentry | null {
    const cached = this.children.get(name);
    if (cached) return cached;
    const inode = this.inode.lookup?.(name) ?? null;
    if (!inode) return null;
    const d = new Dentry(name, this, inode);
    this.children.set(name, d);
    return d;
  }

  /** Binds a freshly created inode under this directory. */
  add(name: string, inode: Inode): Dentry {
    const d = new Dentry(name, this, inode);
    this.children.set(name, d);
    return d;
  }

  drop(name: string): void {
    this.children.delete(name);
  }
}

export interface MountFlags { readOnly: boolean; nosuid: boolean; nodev: boolean; noexec: boolean }

export class Mount {
  readonly children: Mount[] = [];
  readonly root: Dentry;
  constructor(
    readonly fs: FileSystem,
    /** The device column of /proc/mounts. */
    readonly source: string,
    public parent: Mount | null,
    public mountpoint: Dentry | null,
    public flags: MountFlags,
    root?: Dentry,
  ) {
    this.root = root ?? new Dentry('/', null, fs.root);
  }
  get readOnly(): boolean {
    return this.flags.readOnly || this.fs.readOnly;
  }
}

export interface Path { readonly mount: Mount; readonly dentry: Dentry }

export function samePath(a: Path, b: Path): boolean {
  return a.mount === b.mount && a.dentry === b.dentry;
}
