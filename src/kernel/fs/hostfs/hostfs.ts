// hostfs: a host directory as a file system (UML's hostfs). Path based, as in UML: each
// inode remembers its name and parent, so renames keep descendants' host paths right.
import * as hostFiles from '../../../host/files.js';
import { Errno } from '../../errno.js';
import { EROFS, ENOTDIR, EINVAL, EPERM, ENOENT, ENXIO } from '../../abi/errno.js';
import { O_ACCMODE, O_APPEND, O_RDONLY, O_PATH, S_IFMT, S_IFDIR, S_IFLNK, O_WRONLY, O_RDWR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } from '../../abi/fcntl.js';
import { openDevice } from '../dev/registry.js';
import { fifoOpener } from '../fifo-opener.js';
import type { FileSystem, Inode, SetAttr, Stat, StatFs, DirEntry } from '../inode.js';
import type { Cred } from '../../task/cred.js';
import type { Task } from '../../task/task.js';
import { File, type MmapSource } from '../file.js';
import { allocDev } from '../devnums.js';

export class HostFs implements FileSystem {
  readonly name = 'hostfs';
  readonly dev = allocDev();
  readonly root: HostInode;
  constructor(readonly hostRoot: string, readonly readOnly: boolean, readonly append = false) {
    const st = hostFiles.lstat(hostRoot);
    if ((st.mode & S_IFMT) !== S_IFDIR) throw new Errno(ENOTDIR, `hostfs: ${hostRoot} is not a directory`);
    this.root = new HostInode(this, null, '', st.ino);
  }
  statfs(): StatFs {
    return hostFiles.statfs(this.hostRoot);
  }
  mountOptions(): string {
    return `${this.readOnly ? 'ro' : 'rw'},${this.hostRoot}`;
  }
}

export class HostInode implements Inode {
  constructor(readonly fs: HostFs, public parent: HostInode | null, public name: string, readonly ino: number) {}

  hostPath(): string {
    if (!this.parent) return this.fs.hostRoot;
    const p = this.parent.hostPath();
    return p.endsWith('/') ? p + this.name : p + '/' + this.name;
  }
  private childPath(name: string): string {
    const p = this.hostPath();
    return p.endsWith('/') ? p + name : p + '/' + name;
  }
  private writable(): void {
    if (this.fs.readOnly) throw new Errno(EROFS);
  }

  getattr(): Stat {
    const st = hostFiles.lstat(this.hostPath());
    st.dev = this.fs.dev;
    return st;
  }
  setattr(a: SetAttr): void {
    this.writable();
    const p = this.hostPath();
    if (a.mode !== undefined) hostFiles.chmod(p, a.mode & 0o7777);
    if (a.uid !== undefined || a.gid !== undefined) {
      const st = hostFiles.lstat(p);
      hostFiles.lchown(p, a.uid ?? st.uid, a.gid ?? st.gid);
    }
    if (a.size !== undefined) hostFiles.truncate(p, a.size);
    if (a.atime || a.mtime) hostFiles.utimens(p, a.atime, a.mtime);
  }
  lookup(name: string): Inode | null {
    const st = hostFiles.lstatOrNull(this.childPath(name));
    return st ? new HostInode(this.fs, this, name, st.ino) : null;
  }
  readdir(): DirEntry[] {
    return hostFiles.readdir(this.hostPath());
  }
  private made(name: string): HostInode {
    return new HostInode(this.fs, this, name, hostFiles.lstat(this.childPath(name)).ino);
  }
  create(name: string, mode: number, _cred: Cred): Inode {
    this.writable();
    const fd = hostFiles.open(this.childPath(name), hostFiles.O.CREAT_EXCL_WRONLY, mode & 0o7777);
    hostFiles.close(fd);
    return this.made(name);
  }
  mkdir(name: string, mode: number): Inode {
    this.writable();
    hostFiles.mkdir(this.childPath(name), mode & 0o7777);
    return this.made(name);
  }
  mknod(name: string, mode: number, rdev: number): Inode {
    this.writable();
    hostFiles.mknod(this.childPath(name), mode, rdev);
    return this.made(name);
  }
  symlink(name: string, target: string): Inode {
    this.writable();
    hostFiles.symlink(target, this.childPath(name));
    return this.made(name);
  }
  link(name: string, target: Inode): void {
    this.writable();
    if (!(target instanceof HostInode) || target.fs !== this.fs) throw new Errno(EPERM);
    hostFiles.link(target.hostPath(), this.childPath(name));
  }
  unlink(name: string): void {
    this.writable();
    hostFiles.unlink(this.childPath(name));
  }
  rmdir(name: string): void {
    this.writable();
    hostFiles.rmdir(this.childPath(name));
  }
  rename(oldName: string, newDir: Inode, newName: string, flags: number): void {
    this.writable();
    if (!(newDir instanceof HostInode) || newDir.fs !== this.fs) throw new Errno(EINVAL);
    hostFiles.rename(this.childPath(oldName), newDir.childPath(newName), flags);
  }
  /** Called by the VFS after a rename moved this inode's dentry. */
  moved(newParent: HostInode, newName: string): void {
    this.parent = newParent;
    this.name = newName;
  }
  readlink(): string {
    return hostFiles.readlink(this.hostPath());
  }
  open(flags: number, t: Task | null): File {
    const st = this.getattr();
    const type = st.mode & S_IFMT;
    if (type === S_IFLNK && !(flags & O_PATH)) throw new Errno(ENOENT);
    if ((flags & O_PATH) || type === S_IFDIR) return new HostFile(this, flags, -1);
    // A device node or FIFO means what the guest kernel says it means: the guest's own
    // driver or pipe, never the host's device (which would reach past the configured
    // devices), as on any other file system.
    if (type === S_IFCHR || type === S_IFBLK) return openDevice(st.rdev, flags, t, type);
    if (type === S_IFIFO) return fifoOpener(this, flags, t);
    if (type === S_IFSOCK) throw new Errno(ENXIO);
    const acc = flags & O_ACCMODE;
    if (acc !== O_RDONLY && this.fs.readOnly) throw new Errno(EROFS);
    const hostFlags = acc === O_WRONLY ? hostFiles.O.WRONLY : acc === O_RDWR ? hostFiles.O.RDWR : hostFiles.O.RDONLY;
    return new HostFile(this, flags, hostFiles.open(this.hostPath(), hostFlags));
  }
  getxattr(name: string): Buffer | null {
    return hostFiles.getxattr(this.hostPath(), name);
  }
  setxattr(name: string, value: Buffer, flags: number): void {
    this.writable();
    hostFiles.setxattr(this.hostPath(), name, value, flags);
  }
  listxattr(): string[] {
    return hostFiles.listxattr(this.hostPath());
  }
  removexattr(name: string): void {
    this.writable();
    hostFiles.removexattr(this.hostPath(), name);
  }
}

export class HostFile extends File {
  constructor(readonly node: HostInode, flags: number, readonly hostFd: number) {
    super(flags);
  }
  stat(): Stat {
    if (this.hostFd < 0) return this.node.getattr();
    const st = hostFiles.fstat(this.hostFd);
    st.dev = this.node.fs.dev;
    return st;
  }
  override read(_t: Task, len: number): Buffer {
    const b = hostFiles.pread(this.hostFd, len, this.pos);
    this.pos += b.length;
    return b;
  }
  override pread(_t: Task, len: number, off: number): Buffer {
    return hostFiles.pread(this.hostFd, len, off);
  }
  override write(_t: Task, data: Buffer): number {
    if ((this.flags & O_APPEND) || this.node.fs.append) this.pos = hostFiles.fstat(this.hostFd).size;
    const n = hostFiles.pwrite(this.hostFd, data, this.pos);
    this.pos += n;
    return n;
  }
  override pwrite(_t: Task, data: Buffer, off: number): number {
    return hostFiles.pwrite(this.hostFd, data, off);
  }
  override readdir(): DirEntry[] {
    return this.node.readdir();
  }
  override truncate(size: number): void {
    hostFiles.ftruncate(this.hostFd, size);
  }
  override fsync(): void {
    if (this.hostFd >= 0) hostFiles.fsync(this.hostFd);
  }
  override fallocate(mode: number, off: number, len: number): void {
    hostFiles.fallocate(this.hostFd, mode, off, len);
  }
  override mmapSource(writable: boolean): MmapSource {
    return { hostFd: this.hostFd, writable, hostPath: this.node.hostPath() };
  }
  protected override release(): void {
    if (this.hostFd >= 0) hostFiles.close(this.hostFd);
  }
}
