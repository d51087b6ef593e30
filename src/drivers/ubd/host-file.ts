// Host file primitives shared by the ubd backends and the COW tools: open with UML's
// read-only fallback, size (regular files and block devices), positioned I/O that never
// returns short, and errno/strerror for messages in the C tools' words.
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { CowError } from './cow-header.js';

/**
 * Takes the host lock UML takes with fcntl (os_lock_file): a write lock when the device is
 * writable, a read lock otherwise. Throws if another process holds a conflicting lock.
 * Node has no fcntl locks; src/host provides one (the ubd driver passes it in).
 */
export type HostFileLock = (fd: number, write: boolean) => void;

/** Takes the lock as open_ubd_file does, failing with UML's message. */
export function lockHostFile(lock: HostFileLock | undefined, fd: number, write: boolean, path: string): void {
  if (!lock) return;
  try {
    lock(fd, write);
  } catch (e) {
    throw new CowError(errnoOf(e), `Failed to lock '${path}', err = ${errnoOf(e)}`);
  }
}

/** The errno number of a Node system error (or EIO for anything else). */
export function errnoOf(e: unknown): number {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === 'number' && err.errno !== 0) return Math.abs(err.errno);
  if (typeof err?.code === 'string') {
    const n = (osConstants.errno as Record<string, number | undefined>)[err.code];
    if (n !== undefined) return n;
  }
  return osConstants.errno.EIO;
}

// glibc's texts for the errors these tools meet; perror() output should read like C's.
const GLIBC_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', EIO: 'Input/output error',
  EBADF: 'Bad file descriptor', EAGAIN: 'Resource temporarily unavailable', ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied', EBUSY: 'Device or resource busy', EEXIST: 'File exists',
  ENODEV: 'No such device', ENOTDIR: 'Not a directory', EISDIR: 'Is a directory', EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files', ETXTBSY: 'Text file busy', EFBIG: 'File too large',
  ENOSPC: 'No space left on device', ESPIPE: 'Illegal seek', EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long', ELOOP: 'Too many levels of symbolic links', EDQUOT: 'Disk quota exceeded',
  EOVERFLOW: 'Value too large for defined data type', ERANGE: 'Numerical result out of range',
};

/** strerror(errno) as glibc words it. */
export function strerror(errno: number): string {
  const entry = getSystemErrorMap().get(-errno);
  if (!entry) return `Unknown error ${errno}`;
  return GLIBC_TEXT[entry[0]] ?? entry[1].charAt(0).toUpperCase() + entry[1].slice(1);
}

export interface OpenedFile {
  fd: number;
  writable: boolean;
}

/**
 * Opens like os_open_file in open_ubd_file: read-write if asked, falling back to read-only on
 * EROFS/EACCES. `sync` adds O_SYNC (the 's' flag).
 */
export function openHostFile(path: string, writable: boolean, sync: boolean, create = false): OpenedFile {
  const extra = (sync ? fs.constants.O_SYNC : 0) | (create ? fs.constants.O_CREAT : 0);
  if (writable) {
    try {
      return { fd: fs.openSync(path, fs.constants.O_RDWR | extra, 0o644), writable: true };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EROFS' && code !== 'EACCES') throw e;
    }
  }
  return { fd: fs.openSync(path, fs.constants.O_RDONLY | (sync ? fs.constants.O_SYNC : 0)), writable: false };
}

/** Size in bytes of a regular file or a block device (whose st_size is 0). */
export function hostFileSize(st: fs.Stats): number {
  if (!st.isBlockDevice()) return st.size;
  const maj = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
  const min = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
  const sectors = fs.readFileSync(`/sys/dev/block/${maj}:${min}/size`, 'latin1').trim();
  return Number(sectors) * 512;
}

/** The st_mtime seconds field. */
export function mtimeSeconds(st: fs.Stats): number {
  return Math.floor(st.mtimeMs / 1000);
}

/** pread until `len` bytes or EOF; the rest of the returned buffer is zeros (as ubd does). */
export function preadFull(fd: number, buf: Buffer, pos: number, bufOff = 0, len = buf.length - bufOff): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, bufOff + done, len - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  if (done < len) buf.fill(0, bufOff + done, bufOff + len);
  return done;
}

/** pwrite all of it. */
export function pwriteFull(fd: number, buf: Buffer, pos: number, bufOff = 0, len = buf.length - bufOff): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, bufOff + done, len - done, pos + done);
}
