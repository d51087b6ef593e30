// Mount calls: mount(2) (new mounts through the file-system type table, bind mounts,
// remount, move, propagation changes) and umount2(2) (EBUSY while in use, MNT_DETACH).
import type { HandlerMap } from './handler.js';
import type { Task } from '../task/task.js';
import type { Kernel } from '../kernel.js';
import type { Mount, Path } from '../fs/path.js';
import { Errno } from '../errno.js';
import { EAGAIN, EBUSY, EINVAL, ENOTDIR, EPERM } from '../abi/errno.js';
import { AT_FDCWD, S_IFDIR, S_IFMT } from '../abi/fcntl.js';
import * as vfs from '../fs/vfs.js';
import { DEFAULT_MOUNT_FLAGS } from '../fs/mount-table.js';
import {
  MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED,
  MS_SLAVE, MS_UNBINDABLE, MS_SILENT, makeFileSystem,
} from '../fs/fs-types.js';
import { Ext4Fs } from '../fs/ext4/ext4-fs.js';
import { TmpFs } from '../fs/tmpfs/tmpfs.js';

export const MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4, UMOUNT_NOFOLLOW = 8;
const MS_MGC_MSK = 0xffff0000, MS_MGC_VAL = 0xc0ed0000;
const PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

function str(t: Task, addr: number): string {
  return addr ? t.mem.readCString(addr) : '';
}

function isDirPath(p: Path): boolean {
  return (p.dentry.inode.getattr().mode & S_IFMT) === S_IFDIR;
}

function isMountRoot(p: Path): boolean {
  return p.dentry === p.mount.root;
}

/** Whether anything still uses a mount: submounts, open files, a cwd or root inside it. */
export function mountBusy(k: Kernel, m: Mount): boolean {
  if (m.children.length) return true;
  for (const t of k.byTid.values()) {
    if (t.fs.cwd.mount === m || t.fs.root.mount === m) return true;
    for (const [, e] of t.fds.entries()) if (e.file.path?.mount === m) return true;
  }
  return false;
}

/** Releases a file system once no mount shows it any more (unmounted at last close if busy). */
function releaseFs(k: Kernel, m: Mount): void {
  const fs = m.fs;
  if (k.mounts.all().some((x) => x.fs === fs)) return;
  if (fs instanceof Ext4Fs) {
    if (fs.openFiles > 0) fs.lazyUnmount = true;
    else fs.unmount();
  } else fs.sync?.();
}

function doMount(t: Task, source: string, target: string, type: string, flags: number, data: string): number {
  if (t.cred.euid !== 0) throw new Errno(EPERM);
  if (((flags >>> 0) & MS_MGC_MSK) >>> 0 === MS_MGC_VAL) flags &= ~MS_MGC_MSK;
  flags &= ~MS_SILENT;
  const k = t.kernel;
  const at = vfs.lookupAt(t, AT_FDCWD, target, true);
  const mflags = {
    readOnly: (flags & MS_RDONLY) !== 0, nosuid: (flags & MS_NOSUID) !== 0,
    nodev: (flags & MS_NODEV) !== 0, noexec: (flags & MS_NOEXEC) !== 0,
  };

  if (flags & MS_REMOUNT) {
    if (!isMountRoot(at)) throw new Errno(EINVAL);
    const m = at.mount;
    if (!(flags & MS_BIND)) {
      const fs = m.fs;
      if (fs instanceof Ext4Fs) fs.remount(mflags.readOnly);
      else if (fs instanceof TmpFs) fs.readOnly = mflags.readOnly;
    }
    m.flags = mflags;
    return 0;
  }
  if (flags & PROPAGATION) {
    // One mount name space, no peers: propagation types change nothing visible.
    if (flags & ~(PROPAGATION | MS_REC)) throw new Errno(EINVAL);
    return 0;
  }
  if (flags & MS_BIND) {
    const src = vfs.lookupAt(t, AT_FDCWD, source, true);
    if (isDirPath(src) !== isDirPath(at)) throw new Errno(ENOTDIR);
    k.mounts.mount(src.mount.fs, src.mount.source, at, { ...DEFAULT_MOUNT_FLAGS, ...mflags }, src.dentry);
    return 0;
  }
  if (flags & MS_MOVE) {
    const src = vfs.lookupAt(t, AT_FDCWD, source, true);
    if (!isMountRoot(src) || !src.mount.parent) throw new Errno(EINVAL);
    if (!isDirPath(at)) throw new Errno(ENOTDIR);
    const m = src.mount;
    if (m.children.length) throw new Errno(EBUSY);
    for (let p: Mount | null = at.mount; p; p = p.parent) if (p === m) throw new Errno(EINVAL);
    k.mounts.umount(src, true);
    k.mounts.mount(m.fs, m.source, at, m.flags, m.root);
    return 0;
  }
  if (!isDirPath(at)) throw new Errno(ENOTDIR);
  if (!type) throw new Errno(EINVAL);
  const made = makeFileSystem(type, { kernel: k, task: t, source, flags, data });
  k.mounts.mount(made.fs, made.source, at, { ...DEFAULT_MOUNT_FLAGS, ...mflags });
  return 0;
}

function doUmount(t: Task, target: string, flags: number): number {
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) throw new Errno(EINVAL);
  if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH))) throw new Errno(EINVAL);
  if (t.cred.euid !== 0) throw new Errno(EPERM);
  const k = t.kernel;
  const p = vfs.lookupAt(t, AT_FDCWD, target, !(flags & UMOUNT_NOFOLLOW));
  if (!isMountRoot(p)) throw new Errno(EINVAL);
  const m = p.mount;
  if (!m.parent) throw new Errno(EBUSY); // the root file system stays
  if (flags & MNT_EXPIRE) throw new Errno(EAGAIN);
  const detach = (flags & MNT_DETACH) !== 0;
  if (!detach && mountBusy(k, m)) throw new Errno(EBUSY);
  // A lazy unmount takes submounts with it.
  const gone = detach ? collect(m) : [m];
  k.mounts.umount(p, detach);
  for (const x of gone) releaseFs(k, x);
  return 0;
}

function collect(m: Mount): Mount[] {
  return [m, ...m.children.flatMap(collect)];
}

export const mountCalls: HandlerMap = {
  // Mount implements Linux syscall mount(2).
  mount: (t, a) => doMount(t, str(t, a[0]!), str(t, a[1]!), str(t, a[2]!), a[3]! >>> 0, str(t, a[4]!)),
  // Umount2 implements Linux syscall umount2(2).
  umount2: (t, a) => doUmount(t, str(t, a[0]!), a[1]! | 0),
};
