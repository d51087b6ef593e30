// memfd_create(2): an anonymous tmpfs file (its data in a host memfd, so mappings of it
// are shared and coherent like Linux's).
import type { HandlerMap } from './handler.js';
import type { Kernel } from '../kernel.js';
import { Errno } from '../errno.js';
import { EINVAL, ENAMETOOLONG } from '../abi/errno.js';
import { O_RDWR, O_LARGEFILE, S_IFREG } from '../abi/fcntl.js';
import { TmpFs } from '../fs/tmpfs/tmpfs.js';
import { Mount, Dentry } from '../fs/path.js';
import { DEFAULT_MOUNT_FLAGS } from '../fs/mount-table.js';

const MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4, MFD_NOEXEC_SEAL = 8, MFD_EXEC = 0x10;

/** The internal tmpfs memfds live on (not mounted anywhere the guest can see). */
const memfdMounts = new WeakMap<Kernel, Mount>();
let seq = 0;

function memfdMount(k: Kernel): Mount {
  let m = memfdMounts.get(k);
  if (!m) {
    const fs = new TmpFs({ ramBytes: k.memBytes, name: 'tmpfs' });
    m = new Mount(fs, 'memfd', null, null, DEFAULT_MOUNT_FLAGS);
    memfdMounts.set(k, m);
  }
  return m;
}

export const memfdCalls: HandlerMap = {
  memfd_create: (t, a) => {
    const flags = a[1]! >>> 0;
    if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) throw new Errno(EINVAL);
    const name = t.mem.readCString(a[0]!, 250);
    if (Buffer.byteLength(name) > 249) throw new Errno(ENAMETOOLONG);
    const m = memfdMount(t.kernel);
    const dir = m.root.inode;
    const entry = `memfd:${name}#${++seq}`;
    const inode = dir.create!(entry, S_IFREG | 0o777, t.cred);
    const f = inode.open(O_RDWR | O_LARGEFILE, t);
    // Unlinked at once: the file lives as long as its open file.
    dir.unlink!(entry);
    f.path = { mount: m, dentry: new Dentry(`memfd:${name} (deleted)`, m.root, inode) };
    f.flags = O_RDWR | O_LARGEFILE;
    return t.fds.install(f, (flags & MFD_CLOEXEC) !== 0);
  },
};
