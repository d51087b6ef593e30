// AF_UNIX names: sockaddr_un parsing (path names, abstract names with a leading NUL,
// autobind), and the name spaces that map a name to its bound socket. A path name is a
// socket inode in the file system (created with mknod S_IFSOCK through the VFS) and is found
// again by the inode's (st_dev, st_ino); abstract names live only in the kernel.
import { Errno } from '../../errno.js';
import { EACCES, EADDRINUSE, ECONNREFUSED, EEXIST, EINVAL, ENOSPC } from '../../abi/errno.js';
import { AF_UNIX, SOCKADDR_UN_SIZE, SUN_PATH_OFFSET } from '../../abi/socket.js';
import { AT_FDCWD, S_IFSOCK, S_IFMT } from '../../abi/fcntl.js';
import type { Task } from '../../task/task.js';
import { mknodAt, lookupAt } from '../../fs/vfs.js';
import { permits, MAY_WRITE } from '../../fs/permission.js';

export interface UnixName {
  kind: 'path' | 'abstract';
  /** sun_path bytes as the socket reports them (abstract: with the leading NUL). */
  bytes: Buffer;
  /** Registry key: 'dev:ino' for paths, the hex of the bytes for abstract names. */
  key: string;
}

/** Parsed destination or bind address: 'autobind' when only the family was given. */
export type ParsedAddr = { kind: 'path'; path: string; bytes: Buffer } | { kind: 'abstract'; bytes: Buffer } | { kind: 'autobind' };

export function parseSockaddrUn(raw: Buffer): ParsedAddr {
  if (raw.length < SUN_PATH_OFFSET || raw.length > SOCKADDR_UN_SIZE) throw new Errno(EINVAL);
  if (raw.readUInt16LE(0) !== AF_UNIX) throw new Errno(EINVAL);
  if (raw.length === SUN_PATH_OFFSET) return { kind: 'autobind' };
  const p = raw.subarray(SUN_PATH_OFFSET);
  if (p[0] === 0) return { kind: 'abstract', bytes: Buffer.from(p) };
  const z = p.indexOf(0);
  const bytes = Buffer.from(z < 0 ? p : p.subarray(0, z));
  return { kind: 'path', path: bytes.toString('latin1'), bytes };
}

/** The sockaddr_un a socket reports for a name (getsockname, recvfrom, accept). */
export function formatSockaddrUn(name: UnixName | null): Buffer {
  const head = Buffer.alloc(SUN_PATH_OFFSET);
  head.writeUInt16LE(AF_UNIX, 0);
  if (!name) return head;
  // Path names come back NUL-terminated, as unix_mkname_bsd counts them.
  return Buffer.concat([head, name.bytes, name.kind === 'path' ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

export function abstractKey(bytes: Buffer): string {
  return 'a:' + bytes.toString('hex');
}

/** The kernel-wide tables of bound names (one per kernel). */
export class UnixNamespace<S> {
  readonly byInode = new Map<string, S>();
  readonly abstract = new Map<string, S>();
  private autobindSeq = 0;

  /** The next free autobind name: NUL and five hex digits. */
  autobindName(): UnixName {
    for (let i = 0; i < 0x100000; i++) {
      const n = (this.autobindSeq++ & 0xfffff).toString(16).padStart(5, '0');
      const bytes = Buffer.concat([Buffer.alloc(1), Buffer.from(n, 'latin1')]);
      const key = abstractKey(bytes);
      if (!this.abstract.has(key)) return { kind: 'abstract', bytes, key };
    }
    throw new Errno(ENOSPC);
  }
}

const namespaces = new WeakMap<object, UnixNamespace<unknown>>();

export function namespaceOf<S>(t: Task): UnixNamespace<S> {
  let ns = namespaces.get(t.kernel);
  if (!ns) namespaces.set(t.kernel, (ns = new UnixNamespace<unknown>()));
  return ns as UnixNamespace<S>;
}

/** bind(2) to a path: makes the socket inode (EADDRINUSE if the name exists). */
export function createSocketInode(t: Task, path: string): string {
  try {
    mknodAt(t, AT_FDCWD, path, S_IFSOCK | 0o777, 0);
  } catch (e) {
    if (e instanceof Errno && e.errno === EEXIST) throw new Errno(EADDRINUSE);
    throw e;
  }
  return inodeKeyAt(t, path);
}

function inodeKeyAt(t: Task, path: string): string {
  const p = lookupAt(t, AT_FDCWD, path, false);
  const st = p.dentry.inode.getattr();
  return `${st.dev}:${st.ino}`;
}

/** connect(2)/sendto(2) to a path: the socket inode's key (ECONNREFUSED if not a socket). */
export function findSocketInode(t: Task, path: string): string {
  const p = lookupAt(t, AT_FDCWD, path, true);
  const st = p.dentry.inode.getattr();
  if ((st.mode & S_IFMT) !== S_IFSOCK) throw new Errno(ECONNREFUSED);
  if (!permits(st, t.cred, MAY_WRITE)) throw new Errno(EACCES);
  return `${st.dev}:${st.ino}`;
}
