// Memory calls the kernel must see: file-backed mmap (anonymous mappings, munmap, mprotect,
// brk … run natively, see src/host/seccomp.ts).
import type { HandlerMap } from './handler.js';
import { Errno } from '../errno.js';
import { EACCES, EINVAL, ENODEV } from '../abi/errno.js';
import { mapSourceForMmap, MAP_SHARED, MAP_SHARED_VALIDATE, PROT_WRITE, MAP_ANONYMOUS, injectAnonMap } from '../mm/inject.js';

export const mmCalls: HandlerMap = {
  mmap: (t, a) => {
    const [addr, len, prot, flags, fdArg, off] = a as [number, number, number, number, number, number];
    const fd = fdArg | 0;
    if (flags & MAP_ANONYMOUS) return injectAnonMap(t.kernel, t, addr, len, prot, flags & ~0x3);
    if (len <= 0 || off % 4096 !== 0 || off < 0) throw new Errno(EINVAL);
    const f = t.fds.get(fd);
    const type = flags & 0xf;
    const shared = type === MAP_SHARED || type === MAP_SHARED_VALIDATE;
    if (!f.readable) throw new Errno(EACCES);
    if (shared && (prot & PROT_WRITE) && !f.writable) throw new Errno(EACCES);
    const anon = (f as unknown as { mmapAsAnonymous?: boolean }).mmapAsAnonymous;
    if (anon) return injectAnonMap(t.kernel, t, addr, len, prot, flags & ~0xf | (shared ? MAP_SHARED : 0x2));
    let src;
    try {
      src = f.mmapSource(shared && (prot & PROT_WRITE) !== 0);
    } catch (e) {
      if (e instanceof Errno && e.errno === EINVAL) throw new Errno(ENODEV);
      throw e;
    }
    const guestPath = f.path ? t.kernel.mounts.pathString(f.path, t.fs.root) : '';
    return mapSourceForMmap(t.kernel, t, src, addr, len, prot, flags, off, guestPath);
  },
};
