// generic_permission: the classic owner/group/other check with root's overrides.
import { Errno } from '../errno.js';
import { EACCES } from '../abi/errno.js';
import { S_IFDIR, S_IFMT } from '../abi/fcntl.js';
import type { Cred } from '../task/cred.js';
import type { Stat } from './inode.js';

export const MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4;

export function permits(st: Stat, cred: Cred, mask: number): boolean {
  if (cred.fsRoot) {
    // Root may read and write anything, and execute anything some x bit allows (or a dir).
    if (!(mask & MAY_EXEC)) return true;
    return (st.mode & S_IFMT) === S_IFDIR || (st.mode & 0o111) !== 0;
  }
  let bits: number;
  if (st.uid === cred.fsuid) bits = (st.mode >> 6) & 7;
  else if (cred.inGroup(st.gid)) bits = (st.mode >> 3) & 7;
  else bits = st.mode & 7;
  return (bits & mask) === mask;
}

export function checkPermission(st: Stat, cred: Cred, mask: number): void {
  if (!permits(st, cred, mask)) throw new Errno(EACCES);
}
