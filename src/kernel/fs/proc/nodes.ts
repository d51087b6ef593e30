// The building blocks of procfs: directories whose children are computed on demand, files
// whose text is generated when opened, and links whose target depends on the reader.
// Inodes are cheap and resolve what they show (a pid, an fd) each time they are used, so a
// cached dentry of a process that died just stops resolving (ENOENT), as Linux's
// revalidation does.
import { Errno } from '../../errno.js';
import { EACCES, EINVAL, ENOENT, EPERM } from '../../abi/errno.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, O_ACCMODE, O_RDONLY, dtypeOfMode } from '../../abi/fcntl.js';
import { File } from '../file.js';
import type { DirEntry, FileSystem, Inode, SetAttr, Stat, Timespec } from '../inode.js';
import type { Task } from '../../task/task.js';
import type { Path } from '../path.js';

/** The parts of a file system procfs-like nodes need: inode numbers and a fixed time stamp. */
export interface SynthFs extends FileSystem {
  inoFor(key: string): number;
  readonly mountTime: Timespec;
}

export interface Owner { uid: number; gid: number }
const ROOT: Owner = { uid: 0, gid: 0 };

export abstract class SynthNode implements Inode {
  readonly ino: number;
  constructor(
    readonly fs: SynthFs,
    readonly key: string,
    readonly mode: number,
    /** Owner, computed each time (a process's files follow its credentials). */
    protected readonly owner: () => Owner = () => ROOT,
  ) {
    this.ino = fs.inoFor(key);
  }
  /** Throws ENOENT when what this node shows is gone (an exited process). */
  protected check(): void {}
  getattr(): Stat {
    this.check();
    const o = this.owner();
    const t = this.fs.mountTime;
    return {
      dev: this.fs.dev, ino: this.ino, mode: this.mode, nlink: (this.mode & S_IFMT) === S_IFDIR ? 2 : 1,
      uid: o.uid, gid: o.gid, rdev: 0, size: 0, blksize: 1024, blocks: 0, atime: t, mtime: t, ctime: t,
    };
  }
  /** As proc_setattr: a mode change is refused; the truncate of `echo x > /proc/…` is a no-op. */
  setattr(a: SetAttr): void {
    if (a.mode !== undefined) throw new Errno(EPERM);
  }
  abstract open(flags: number, task: Task | null): File;
}

export type Children = [string, () => Inode][];

export class SynthDir extends SynthNode {
  constructor(
    fs: SynthFs, key: string, mode: number,
    private readonly kids: () => Children,
    /** Names that resolve without being listed (Linux's /proc/<tid> for threads). */
    private readonly hidden?: (name: string) => Inode | null,
    owner?: () => Owner,
    private readonly alive?: () => boolean,
  ) {
    super(fs, key, S_IFDIR | (mode & 0o7777), owner);
  }
  protected override check(): void {
    if (this.alive && !this.alive()) throw new Errno(ENOENT);
  }
  lookup(name: string): Inode | null {
    if (this.alive && !this.alive()) return null;
    for (const [n, make] of this.kids()) if (n === name) return make();
    return this.hidden?.(name) ?? null;
  }
  readdir(): DirEntry[] {
    this.check();
    const out: DirEntry[] = [];
    for (const [name, make] of this.kids()) {
      try {
        const i = make();
        out.push({ name, ino: i.ino, type: dtypeOfMode(i.getattr().mode) });
      } catch (e) {
        if (!(e instanceof Errno)) throw e; // raced with an exit: leave it out
      }
    }
    return out;
  }
  open(flags: number): File {
    this.check();
    return new SynthDirFile(this, flags);
  }
}

export class SynthDirFile extends File {
  constructor(readonly node: SynthDir, flags: number) {
    super(flags);
  }
  stat(): Stat {
    return this.node.getattr();
  }
  override readdir(): DirEntry[] {
    return this.node.readdir();
  }
}

export type Generator = (reader: Task | null) => string | Buffer;
export type Writer = (writer: Task | null, data: Buffer) => void;

/** A file whose contents are generated when it is opened (a snapshot, like a seq_file read). */
export class SynthFile extends SynthNode {
  constructor(
    fs: SynthFs, key: string, mode: number,
    readonly gen: Generator,
    readonly onWrite?: Writer,
    owner?: () => Owner,
    private readonly alive?: () => boolean,
  ) {
    super(fs, key, S_IFREG | (mode & 0o7777), owner);
  }
  protected override check(): void {
    if (this.alive && !this.alive()) throw new Errno(ENOENT);
  }
  open(flags: number, task: Task | null): File {
    this.check();
    if ((flags & O_ACCMODE) !== O_RDONLY && !this.onWrite) throw new Errno(EACCES);
    return new SynthFileHandle(this, flags, task);
  }
}

export class SynthFileHandle extends File {
  private data: Buffer | null = null;
  constructor(readonly node: SynthFile, flags: number, private readonly opener: Task | null) {
    super(flags);
    if (this.readable) this.data = this.generate();
  }
  private generate(): Buffer {
    const g = this.node.gen(this.opener);
    return typeof g === 'string' ? Buffer.from(g, 'utf8') : g;
  }
  private contents(): Buffer {
    return (this.data ??= this.generate());
  }
  stat(): Stat {
    return this.node.getattr();
  }
  override read(_t: Task, len: number): Buffer {
    const b = this.pread(_t, len, this.pos);
    this.pos += b.length;
    return b;
  }
  override pread(_t: Task, len: number, off: number): Buffer {
    if (off < 0) throw new Errno(EINVAL);
    const d = this.contents();
    return Buffer.from(d.subarray(Math.min(off, d.length), Math.min(off + len, d.length)));
  }
  override write(t: Task, data: Buffer): number {
    if (!this.node.onWrite) throw new Errno(EINVAL);
    this.node.onWrite(t, data);
    this.pos += data.length;
    return data.length;
  }
  override pwrite(t: Task, data: Buffer, _off: number): number {
    if (!this.node.onWrite) throw new Errno(EINVAL);
    this.node.onWrite(t, data);
    return data.length;
  }
  override seek(off: number, whence: number): number {
    // SEEK_END is relative to the generated text (the inode says size 0, as Linux's does).
    if (whence === 2) {
      const n = this.contents().length + off;
      if (n < 0) throw new Errno(EINVAL);
      return (this.pos = n);
    }
    return super.seek(off, whence);
  }
}

/**
 * A symbolic link whose target depends on who reads it (/proc/self) or that jumps straight
 * to an object (/proc/<pid>/exe, cwd, root, fd/N: Linux's "magic links").
 */
export class SynthLink extends SynthNode {
  constructor(
    fs: SynthFs, key: string,
    private readonly target: (reader: Task | null) => string,
    private readonly jump?: (reader: Task | null) => Path | null,
    owner?: () => Owner,
    private readonly alive?: () => boolean,
    mode = 0o777,
  ) {
    super(fs, key, S_IFLNK | mode, owner);
  }
  protected override check(): void {
    if (this.alive && !this.alive()) throw new Errno(ENOENT);
  }
  readlink(): string {
    this.check();
    return this.target(null);
  }
  /** The target as the given task sees it. The path walk and readlink(2) call this when present. */
  readlinkFor(reader: Task | null): string {
    this.check();
    return this.target(reader);
  }
  /** For magic links: the object itself, to continue the walk from (null: use the text). */
  followFor(reader: Task | null): Path | null {
    this.check();
    return this.jump?.(reader) ?? null;
  }
  open(flags: number): File {
    return new SynthPathFile(this, flags);
  }
}

/** An O_PATH file of a link (open with O_PATH|O_NOFOLLOW). */
class SynthPathFile extends File {
  constructor(readonly node: SynthNode, flags: number) {
    super(flags);
  }
  stat(): Stat {
    return this.node.getattr();
  }
}

/** Helpers for tables of nodes. */
export function fileEntry(name: string, make: () => Inode): [string, () => Inode] {
  return [name, make];
}
