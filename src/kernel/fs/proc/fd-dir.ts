// /proc/<pid>/fd/ (magic links to the open files) and /proc/<pid>/fdinfo/.
import { S_IFMT, S_IFIFO, S_IFSOCK, S_IFCHR, O_CLOEXEC } from '../../abi/fcntl.js';
import { File, type MmapSource } from '../file.js';
import { Dentry, type Path } from '../path.js';
import type { DirEntry, Inode, Stat } from '../inode.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { ProcKernel } from './kernel-view.js';
import { SynthDir, SynthFile, SynthLink, SynthNode, type Children, type Owner, type SynthFs } from './nodes.js';
import { checkPeek, pathText } from './pid-common.js';
import { mountId } from './mounts.js';
import { major, minor } from '../devnums.js';
import { Errno } from '../../errno.js';
import { EPERM } from '../../abi/errno.js';

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

export function fdDir(fs: SynthFs, k: ProcKernel, g: ThreadGroup, key: string, owner: () => Owner, alive: () => boolean): Inode {
  const link = (fd: number): Inode | null => {
    const e = g.fds.entry(fd);
    if (!e) return null;
    const f = e.file;
    const jump = (reader: Task | null): Path | null => {
      checkPeek(reader, g);
      if (f.path) return f.path;
      const d = new Dentry(anonText(f), null, new OpenFileInode(fs, f));
      return { mount: k.mounts.root, dentry: d };
    };
    return new SynthLink(fs, `${key}/${fd}`, (reader) => {
      checkPeek(reader, g);
      return fileText(k, f, reader);
    }, jump, owner, () => alive() && g.fds.entry(fd)?.file === f, fdMode(f));
  };
  const kids = (): Children => g.fds.entries().map(([fd]) => [String(fd), () => link(fd)!] as [string, () => Inode]);
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
