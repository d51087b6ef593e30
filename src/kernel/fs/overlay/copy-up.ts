// Copy-up (fs/overlayfs/copy_up.c): before anything modifies an object that lives only in the
// lower layer, it is recreated in the upper one — parents first — with its data, mode,
// owner, times, xattrs and symlink target. The overlay inode keeps its inode number.
import { Errno } from '../../errno.js';
import { EIO } from '../../abi/errno.js';
import { O_RDONLY, O_WRONLY, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK } from '../../abi/fcntl.js';
import { Cred } from '../../task/cred.js';
import type { Inode, Stat } from '../inode.js';
import type { Task } from '../../task/task.js';
import type { OverlayInode } from './inode.js';

const CHUNK = 1 << 20;
/** Copy-up is the kernel's own work, done for no task; the layers' files ignore it. */
const KERNEL_TASK = null as unknown as Task;

function ownerCred(st: Stat): Cred {
  return new Cred(st.uid, st.uid, st.uid, st.uid, st.gid, st.gid, st.gid, st.gid);
}

function copyData(from: Inode, to: Inode, size: number): void {
  const src = from.open(O_RDONLY, KERNEL_TASK);
  const dst = to.open(O_WRONLY, KERNEL_TASK);
  try {
    let off = 0;
    while (off < size) {
      const b = src.pread(KERNEL_TASK, Math.min(CHUNK, size - off), off);
      if (b.length === 0) break;
      // All-zero chunks stay holes, so sparse files stay sparse.
      if (b.some((x) => x !== 0)) {
        let done = 0;
        while (done < b.length) done += dst.pwrite(KERNEL_TASK, done ? b.subarray(done) : b, off + done);
      }
      off += b.length;
    }
    if (off !== size) throw new Errno(EIO, 'overlay: lower file shrank during copy-up');
    to.setattr({ size });
  } finally {
    src.unref();
    dst.unref();
  }
}

function copyXattrs(from: Inode, to: Inode, isPrivate: (n: string) => boolean): void {
  let names: string[];
  try {
    names = from.listxattr?.() ?? [];
  } catch {
    return;
  }
  for (const n of names) {
    // File capabilities travel with the file (ping keeps cap_net_raw); other security.* stay.
    if (isPrivate(n) || !(n.startsWith('user.') || n.startsWith('trusted.') || n === 'security.capability')) continue;
    try {
      const v = from.getxattr?.(n);
      if (v) to.setxattr?.(n, v, 0);
    } catch { /* best effort, as overlayfs skips what the upper cannot hold */ }
  }
}

/** Makes sure `node` exists in the upper layer and returns its upper inode. */
export function copyUp(node: OverlayInode, withData = true): Inode {
  if (node.upper) return node.upper;
  const parent = node.parent;
  const lower = node.lower;
  if (!parent || !lower) throw new Errno(EIO, 'overlay: nothing to copy up');
  const dir = copyUp(parent);
  const fs = node.fs;
  const st = lower.getattr();
  const type = st.mode & S_IFMT;
  const cred = ownerCred(st);
  const perm = st.mode & 0o7777;
  let up: Inode;
  switch (type) {
    case S_IFDIR: up = dir.mkdir!(node.name, perm, cred); break;
    case S_IFREG: up = dir.create!(node.name, perm, cred); break;
    case S_IFLNK: up = dir.symlink!(node.name, lower.readlink!(), cred); break;
    default: up = dir.mknod!(node.name, st.mode, st.rdev, cred); break;
  }
  try {
    if (type === S_IFREG && withData && st.size > 0) copyData(lower, up, st.size);
    copyXattrs(lower, up, (n) => fs.style.isPrivateXattr(n));
    // Owner first (chown may drop set-id bits), then the exact mode, then the times.
    try {
      up.setattr({ uid: st.uid, gid: st.gid });
    } catch { /* a host-directory upper may not allow chown; keep what it has */ }
    if (type !== S_IFLNK) up.setattr({ mode: perm });
    up.setattr({ atime: st.atime, mtime: st.mtime });
  } catch (e) {
    try {
      if (type === S_IFDIR) dir.rmdir!(node.name);
      else dir.unlink!(node.name);
    } catch { /* leave it; the error below matters more */ }
    throw e;
  }
  node.upper = up;
  fs.recordOrigin(up, node.ino);
  return up;
}
