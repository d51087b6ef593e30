// In-memory extended attributes (fs/xattr.c's simple_xattr, as tmpfs keeps them), with the
// namespace rules of xattr_permission(): user.* only on regular files and directories.
import { Errno } from '../../errno.js';
import { EEXIST, ENODATA, ENOTSUP, EPERM, ERANGE, E2BIG } from '../../abi/errno.js';
import { S_IFDIR, S_IFMT, S_IFREG } from '../../abi/fcntl.js';

export const XATTR_CREATE = 1, XATTR_REPLACE = 2;
export const XATTR_NAME_MAX = 255, XATTR_SIZE_MAX = 65536;

const NAMESPACES = ['user.', 'trusted.', 'security.'];

function checkName(name: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > XATTR_NAME_MAX) throw new Errno(ERANGE);
  if (!NAMESPACES.some((p) => name.startsWith(p) && name.length > p.length)) throw new Errno(ENOTSUP);
}

function userAllowed(name: string, mode: number): boolean {
  const t = mode & S_IFMT;
  return !name.startsWith('user.') || t === S_IFREG || t === S_IFDIR;
}

export class XattrStore {
  private readonly map = new Map<string, Buffer>();

  get(name: string, mode: number): Buffer | null {
    checkName(name);
    if (!userAllowed(name, mode)) return null;
    const v = this.map.get(name);
    return v ? Buffer.from(v) : null;
  }

  set(name: string, value: Buffer, flags: number, mode: number): void {
    checkName(name);
    if (value.length > XATTR_SIZE_MAX) throw new Errno(E2BIG);
    if (!userAllowed(name, mode)) throw new Errno(EPERM);
    const has = this.map.has(name);
    if ((flags & XATTR_CREATE) && has) throw new Errno(EEXIST);
    if ((flags & XATTR_REPLACE) && !has) throw new Errno(ENODATA);
    this.map.set(name, Buffer.from(value));
  }

  remove(name: string, mode: number): void {
    checkName(name);
    if (!userAllowed(name, mode)) throw new Errno(EPERM);
    if (!this.map.delete(name)) throw new Errno(ENODATA);
  }

  list(): string[] {
    return [...this.map.keys()];
  }
}
