// /proc/<pid>/fd/ (magic links to the open files) and /proc/<pid>/fdinfo/.
import { S_IFMT, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFLNK, O_CLOEXEC } from '../../abi/fcntl.js';
import { File, type MmapSource } from '../file.js';
import { Dentry } from '../path.js';
import type { DirEntry, Inode, Stat } from '../inode.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { ProcKernel } from './kernel-view.js';
import { SynthDir, SynthFile, SynthLink, SynthNode, type Children, type Owner, type SynthFs } from './nodes.js';
import { checkPeek, pathText } from './pid-common.js';
import { mountId } from './mounts.js';
import { major, minor } from '../devnums.js';
import { Errno } from '../../errno.js';
import { ENOENT, EPERM } from '../../abi/errno.js';

/** What /proc/<pid>/fd/N reads as for a file with no name (pipe:[…], socket:[…], …). */
export function anonText(f: File): string {
  const anon = (f as File & { anonName?: string }).anonName;
  if (anon) return anon;
  const st = f.stat();
  switch (st.mode & S_IFMT) {
    case S_IFIFO: return `pipe:[${st.ino}]`;
    case S_IFSOCK: return `socket:[${st.ino}]`;
    case S_IFCHR: {
      const [ma, mi] = [major(st.rdev), minor(st.rdev)];
      if (ma === 5 && mi === 0) return '/dev/tty';
      if (ma === 5 && mi === 1) return '/dev/console';
      if (ma === 136) return `/dev/pts/${mi}`;
      if (ma === 4) return `/dev/tty${mi}`;
      return `/dev/char/${ma}:${mi}`;
    }
  }
  return 'anon_inode:[unknown]';
}

export function fileText(k: ProcKernel, f: File, reader: Task | null): string {
  if (f.path) {
    const ino = f.path.dentry.inode;
    if (ino instanceof OpenFileInode) return anonText(ino.file);
    return pathText(k, f.path, reader);
  }
  return anonText(f);
}

/**
 * The object behind a nameless open file, so that opening /proc/<pid>/fd/N (and /dev/stdin)
 * reaches the same pipe, socket or terminal, as Linux's magic link does.
 */
export class OpenFileInode extends SynthNode {
  constructor(fs: SynthFs, readonly file: File) {
    super(fs, `openfile:${anonText(file)}`, file.stat().mode);
  }
  override getattr(): Stat {
    return this.file.stat();
  }
  override setattr(): void {
    throw new Errno(EPERM);
  }
  open(flags: number): File {
    return new ReopenedFile(this.file, flags);
  }
}

/** A second open of a nameless object: shares the object (and its readiness) with the first. */
class ReopenedFile extends File {
  constructor(private readonly inner: File, flags: number) {
    super(flags);
    inner.ref();
    // Sleepers must be woken by the object's own readiness changes.
    Object.defineProperty(this, 'waitQueue', { value: inner.waitQueue });
  }
  get anonName(): string {
    return anonText(this.inner);
  }
  stat(): Stat { return this.inner.stat(); }
  override read(t: Task, len: number): Buffer { return this.inner.read(t, len); }
  override write(t: Task, data: Buffer): number { return this.inner.write(t, data); }
  override pread(t: Task, len: number, off: number): Buffer { return this.inner.pread(t, len, off); }
  override pwrite(t: Task, data: Buffer, off: number): number { return this.inner.pwrite(t, data, off); }
  override poll(): number { return this.inner.poll(); }
  override ioctl(t: Task, req: number, arg: number): number { return this.inner.ioctl(t, req, arg); }
  override readdir(): DirEntry[] { return this.inner.readdir(); }
  override fsync(): void { this.inner.fsync(); }
  override mmapSource(writable: boolean): MmapSource { return this.inner.mmapSource(writable); }
  protected override release(): void { this.inner.unref(); }
}

function fdMode(f: File): number {
  return (f.readable ? 0o500 : 0) | (f.writable ? 0o300 : 0);
}

/** /proc/<pid>/fd/N: resolves the fd each time, so a cached dentry follows fd reuse. */
class FdLink extends SynthLink {
  constructor(fs: SynthFs, key: string, private readonly current: () => File | undefined, k: ProcKernel, g: ThreadGroup, owner: () => Owner, alive: () => boolean) {
    const file = (): File => {
      const f = current();
      if (!f) throw new Errno(ENOENT);
      return f;
    };
    super(fs, key, (reader) => {
      checkPeek(reader, g);
      return fileText(k, file(), reader);
    }, (reader) => {
      checkPeek(reader, g);
      const f = file();
      if (f.path) return f.path;
      return { mount: k.mounts.root, dentry: new Dentry(anonText(f), null, new OpenFileInode(fs, f)) };
    }, owner, () => alive() && current() !== undefined);
  }
  override getattr(): Stat {
    const st = super.getattr();
    const f = this.current();
    st.mode = S_IFLNK | (f ? fdMode(f) : 0);
    return st;
  }
}

export function fdDir(fs: SynthFs, k: ProcKernel, g: ThreadGroup, key: string, owner: () => Owner, alive: () => boolean): Inode {
  const link = (fd: number): Inode => new FdLink(fs, `${key}/${fd}`, () => g.fds.entry(fd)?.file, k, g, owner, alive);
  const kids = (): Children => g.fds.entries().map(([fd]) => [String(fd), () => link(fd)] as [string, () => Inode]);
  return new SynthDir(fs, key, 0o500, kids, undefined, owner, alive);
}

export function fdinfoText(f: File, cloexec: boolean): string {
  const flags = f.flags | (cloexec ? O_CLOEXEC : 0);
  const mnt = f.path ? mountId(f.path.mount) : 0;
  return `pos:\t${f.pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t${mnt}\nino:\t${f.stat().ino}\n`;
}

export function fdinfoDir(fs: SynthFs, g: ThreadGroup, key: string, owner: () => Owner, alive: () => boolean): Inode {
  const info = (fd: number): Inode => new SynthFile(fs, `${key}/${fd}`, 0o400, () => {
    const e = g.fds.entry(fd);
    return e ? fdinfoText(e.file, e.cloexec) : '';
  }, undefined, owner, () => alive() && g.fds.has(fd));
  const kids = (): Children => g.fds.entries().map(([fd]) => [String(fd), () => info(fd)] as [string, () => Inode]);
  return new SynthDir(fs, key, 0o500, kids, undefined, owner, alive);
}
