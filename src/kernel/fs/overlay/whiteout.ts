// How the upper layer records deletions ("whiteouts") and directories that hide the lower
// layer ("opaque"). Two conventions:
//  - 'chardev': Linux overlayfs's own — a whiteout is a character device 0:0 named like the
//    deleted entry; an opaque directory has xattr trusted.overlay.opaque="y". Needs an upper
//    that can hold device nodes and trusted.* xattrs: tmpfs always can; a host directory
//    only when tuml runs as host root.
//  - 'aufs': the OCI image-layer convention — a whiteout is an empty file ".wh.<name>", an
//    opaque directory holds ".wh..wh..opq". Works on any host directory; guest names that
//    start with ".wh." are then reserved (EINVAL).
import { Errno } from '../../errno.js';
import { EINVAL } from '../../abi/errno.js';
import { S_IFCHR, S_IFMT, S_IFREG, DT_CHR } from '../../abi/fcntl.js';
import { Cred } from '../../task/cred.js';
import type { Inode } from '../inode.js';

export type WhiteoutKind = 'chardev' | 'aufs';

const ROOT = new Cred();
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const WH = '.wh.';
const OPQ = '.wh..wh..opq';

export interface WhiteoutStyle {
  readonly kind: WhiteoutKind;
  /** An upper entry that is itself a whiteout. */
  isWhiteoutInode(i: Inode): boolean;
  /** A separate marker whites out `name` in upper directory `dir`. */
  hasMarker(dir: Inode, name: string): boolean;
  /** Upper names that are bookkeeping, never shown to the guest. */
  isPrivateName(name: string): boolean;
  /** Extended attributes that are bookkeeping. */
  isPrivateXattr(name: string): boolean;
  make(dir: Inode, name: string): void;
  /** Removes the whiteout of `name` in `dir`, if there is one. */
  clear(dir: Inode, name: string): void;
  isOpaque(dir: Inode): boolean;
  setOpaque(dir: Inode): void;
  /** Removes every whiteout and marker from an upper directory (before rmdir). */
  cleanDir(dir: Inode): void;
}

const chardev: WhiteoutStyle = {
  kind: 'chardev',
  isWhiteoutInode(i) {
    const st = i.getattr();
    return (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0;
  },
  hasMarker: () => false,
  isPrivateName: () => false,
  isPrivateXattr: (name) => name.startsWith('trusted.overlay.'),
  make(dir, name) {
    dir.mknod!(name, S_IFCHR, 0, ROOT);
  },
  clear(dir, name) {
    const c = dir.lookup!(name);
    if (c && chardev.isWhiteoutInode(c)) dir.unlink!(name);
  },
  isOpaque(dir) {
    try {
      return dir.getxattr?.(OPAQUE_XATTR)?.toString() === 'y';
    } catch {
      return false; // an upper without xattrs has no opaque directories
    }
  },
  setOpaque(dir) {
    if (!dir.setxattr) throw new Errno(EINVAL, 'overlay: upper layer has no xattrs');
    dir.setxattr(OPAQUE_XATTR, Buffer.from('y'), 0);
  },
  cleanDir(dir) {
    for (const e of dir.readdir!()) {
      if (e.type !== DT_CHR && e.type !== 0) continue;
      const c = dir.lookup!(e.name);
      if (c && chardev.isWhiteoutInode(c)) dir.unlink!(e.name);
    }
  },
};

const aufs: WhiteoutStyle = {
  kind: 'aufs',
  isWhiteoutInode: () => false,
  hasMarker: (dir, name) => dir.lookup!(WH + name) !== null,
  isPrivateName: (name) => name.startsWith(WH),
  isPrivateXattr: () => false,
  make(dir, name) {
    dir.create!(WH + name, S_IFREG | 0o600, ROOT);
  },
  clear(dir, name) {
    if (dir.lookup!(WH + name)) dir.unlink!(WH + name);
  },
  isOpaque: (dir) => dir.lookup!(OPQ) !== null,
  setOpaque(dir) {
    if (!dir.lookup!(OPQ)) dir.create!(OPQ, S_IFREG | 0o600, ROOT);
  },
  cleanDir(dir) {
    for (const e of dir.readdir!()) if (e.name.startsWith(WH)) dir.unlink!(e.name);
  },
};

export function whiteoutStyle(kind: WhiteoutKind): WhiteoutStyle {
  return kind === 'aufs' ? aufs : chardev;
}
