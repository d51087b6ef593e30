// devpts: the file system on /dev/pts. Its root lists ptmx (5:2) and one node N per live
// pty pair (136:N, owned by the ptmx opener, group tty, mode 620 as Debian mounts it). The
// device registry opens /dev/ptmx (5:2) and 136:N through the same table.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { DirEntry, FileSystem, Inode, SetAttr, Stat, StatFs } from '../fs/inode.js';
import { Errno } from '../errno.js';
import { EIO, ENOENT } from '../abi/errno.js';
import { S_IFCHR, DT_CHR } from '../abi/fcntl.js';
import { allocDev, makedev, minor } from '../fs/devnums.js';
import { registerCharDevice, ANY_MINOR } from '../fs/dev/registry.js';
import { SynthDir } from '../fs/proc/nodes.js';
import type { File } from '../fs/file.js';
import { ptyTable, UNIX98_PTY_SLAVE_MAJOR, type PtyTable } from './pty.js';

export const DEVPTS_SUPER_MAGIC = 0x1cd1;

class PtsNode implements Inode {
  constructor(readonly fs: DevPts, readonly index: number) {}
  get ino(): number {
    return this.index + 3;
  }
  getattr(): Stat {
    const p = this.fs.table.get(this.index);
    if (!p) throw new Errno(ENOENT);
    return {
      dev: this.fs.dev, ino: this.ino, mode: S_IFCHR | p.mode, nlink: 1, uid: p.uid, gid: p.gid,
      rdev: makedev(UNIX98_PTY_SLAVE_MAJOR, this.index), size: 0, blksize: 1024, blocks: 0,
      atime: p.ctime, mtime: p.ctime, ctime: p.ctime,
    };
  }
  setattr(a: SetAttr): void {
    const p = this.fs.table.get(this.index);
    if (!p) throw new Errno(ENOENT);
    if (a.mode !== undefined) p.mode = a.mode & 0o7777;
    if (a.uid !== undefined) p.uid = a.uid;
    if (a.gid !== undefined) p.gid = a.gid;
  }
  open(flags: number): File {
    const p = this.fs.table.get(this.index);
    if (!p) throw new Errno(EIO);
    return p.openSlave(flags);
  }
}

class PtmxNode implements Inode {
  readonly ino = 2;
  mode = 0o000;
  constructor(readonly fs: DevPts) {}
  getattr(): Stat {
    const t = this.fs.mountTime;
    return { dev: this.fs.dev, ino: 2, mode: S_IFCHR | this.mode, nlink: 1, uid: 0, gid: 0, rdev: makedev(5, 2), size: 0, blksize: 1024, blocks: 0, atime: t, mtime: t, ctime: t };
  }
  setattr(a: SetAttr): void {
    if (a.mode !== undefined) this.mode = a.mode & 0o7777;
  }
  open(flags: number, task: Task | null): File {
    return this.fs.table.openMaster(flags, task);
  }
}

export class DevPts implements FileSystem {
  readonly name = 'devpts';
  readonly dev = allocDev();
  readonly readOnly = false;
  readonly root: Inode;
  readonly mountTime = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
  readonly table: PtyTable;
  private readonly ptmx = new PtmxNode(this);
  private readonly inos = new Map<string, number>();

  constructor(k: Kernel) {
    this.table = ptyTable(k);
    this.root = new SynthDir(this, '', 0o755, () => [
      ['ptmx', () => this.ptmx],
      ...this.table.indexes().map((i) => [String(i), () => new PtsNode(this, i)] as [string, () => Inode]),
    ]);
    (this.root as SynthDir).readdir = () => this.list();
  }
  inoFor(key: string): number {
    let ino = this.inos.get(key);
    if (ino === undefined) this.inos.set(key, (ino = 1));
    return ino;
  }
  private list(): DirEntry[] {
    return [{ name: 'ptmx', ino: 2, type: DT_CHR }, ...this.table.indexes().map((i) => ({ name: String(i), ino: i + 3, type: DT_CHR }))];
  }
  statfs(): StatFs {
    return { type: DEVPTS_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0x20 };
  }
  mountOptions(): string {
    return 'gid=5,mode=620,ptmxmode=000';
  }
}

const registered = new WeakSet<Kernel>();

/** /dev/ptmx (5:2) and the slaves (136:*) in the device registry. */
export function registerPtyDevices(k: Kernel): void {
  if (registered.has(k)) return;
  registered.add(k);
  const table = ptyTable(k);
  registerCharDevice(5, 2, (flags, t) => table.openMaster(flags, t), '/dev/ptmx');
  registerCharDevice(UNIX98_PTY_SLAVE_MAJOR, ANY_MINOR, (flags, _t, rdev) => {
    const p = table.get(minor(rdev));
    if (!p) throw new Errno(EIO);
    return p.openSlave(flags);
  }, 'pts');
}

/** A devpts instance to mount on /dev/pts. */
export function createDevpts(k: Kernel): DevPts {
  registerPtyDevices(k);
  return new DevPts(k);
}

