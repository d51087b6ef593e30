// A UML COW file over its backing file, as ubd_kern.c opens and uses it: open-time checks
// (open_ubd_file, backing_file_mismatch, path_requires_switch) with UML's messages,
// creation on first use (create_cow_file/init_cow_file), and copy-on-write at byte granularity
// in whole pages, with the bitmap kept in memory and every changed bitmap byte written back.
import * as fs from 'node:fs';
import type { BlockBackend, BlockBackendOptions } from './block-backend.js';
import {
  COW_HEADER_MAX_SIZE, CowError, CowHeader, CowLayout, EINVAL, EIO, EROFS, PAGE_SIZE, PATH_LEN_V1, PATH_LEN_V3,
  SECTOR_SIZE, cowLayout, newCowHeader, parseCowHeader, serializeCowHeader, setBit, testBit,
} from './cow-header.js';
import { errnoOf, hostFileSize, lockHostFile, mtimeSeconds, openHostFile, preadFull, pwriteFull } from './host-file.js';
import { checkRange, roundBlock } from './raw-image.js';

export interface CowFileOptions extends BlockBackendOptions {
  /** The backing file named on the command line (`ubdN=cow,backing`); created on first use. */
  backingFile?: string;
}

/** absolutize(): the backing path as the header stores it (directory resolved, name kept). */
export function absolutize(from: string): string {
  const slash = from.lastIndexOf('/');
  if (slash < 0) {
    const cwd = process.cwd();
    return (cwd === '/' ? '' : cwd) + '/' + from;
  }
  const dir = from.slice(0, slash) || '/';
  let real: string;
  try {
    real = fs.realpathSync(dir);
    if (!fs.statSync(real).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw new CowError(errnoOf(e), `absolutize : Can't cd to '${from}' - errno = ${errnoOf(e)}`);
  }
  return (real === '/' ? '' : real) + from.slice(slash);
}

/**
 * The checks and values of write_cow_header(): a header like `like` (version, sector size,
 * alignment) naming `backingFile` (made absolute) with its current size and mtime.
 */
export function buildCowHeader(backingFile: string, like: CowHeader): CowHeader {
  const limit = (like.version === 1 ? PATH_LEN_V1 : PATH_LEN_V3) - 1;
  if (Buffer.byteLength(backingFile, 'latin1') > limit)
    throw new CowError(EINVAL, `Backing file name "${backingFile}" is too long - names are limited to ${limit} characters`);
  const abs = absolutize(backingFile);
  if (Buffer.byteLength(abs, 'latin1') + 1 > limit + 1)
    throw new CowError(EINVAL, `absolutize : unable to fit '${backingFile}' into ${limit + 1} chars`);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw new CowError(errnoOf(e), `write_cow_header - backing file '${abs}' mtime request failed, err = ${errnoOf(e)}`);
  }
  let size: number;
  try {
    size = hostFileSize(st);
  } catch (e) {
    throw new CowError(errnoOf(e), `write_cow_header - couldn't get size of backing file '${abs}', err = ${errnoOf(e)}`);
  }
  return { ...like, backingFile: abs, mtime: mtimeSeconds(st) >>> 0, size: BigInt(size) };
}

/** write_cow_header(): buildCowHeader's header, written at offset 0 of `fd`. */
export function writeCowHeader(fd: number, backingFile: string, like: CowHeader): CowHeader {
  const header = buildCowHeader(backingFile, like);
  pwriteFull(fd, serializeCowHeader(header), 0);
  return header;
}

/** A new V3 header for `backingFile`, as UML and uml_mkcow make it (nothing written). */
export function newCowHeaderFor(backingFile: string, sectorSize = SECTOR_SIZE, alignment = PAGE_SIZE): CowHeader {
  return buildCowHeader(backingFile, newCowHeader(backingFile, 0, 0n, sectorSize, alignment));
}

/** Writes `header` and sets EOF past the data area (the bitmap stays zero and sparse). */
export function writeNewCowFile(fd: number, header: CowHeader): CowLayout {
  pwriteFull(fd, serializeCowHeader(header), 0);
  const layout = cowLayout(header);
  pwriteFull(fd, Buffer.alloc(1), layout.dataOffset + Number(header.size) - 1);
  return layout;
}

/**
 * init_cow_file(): a new V3 header, then one zero byte at the end of the data area to set
 * EOF, which leaves the bitmap and data as zeros in a sparse file.
 */
export function initCowFile(fd: number, backingFile: string, sectorSize = SECTOR_SIZE,
                            alignment = PAGE_SIZE): { header: CowHeader; layout: CowLayout } {
  const header = newCowHeaderFor(backingFile, sectorSize, alignment);
  return { header, layout: writeNewCowFile(fd, header) };
}

/** backing_file_mismatch(): an error when the backing file isn't the one the header recorded. */
export function backingFileMismatch(file: string, size: bigint, mtime: number): CowError | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return new CowError(errnoOf(e), `Failed to get modification time of backing file "${file}", err = ${errnoOf(e)}`);
  }
  let actual: number;
  try {
    actual = hostFileSize(st);
  } catch (e) {
    return new CowError(errnoOf(e), `Failed to get size of backing file "${file}", err = ${errnoOf(e)}`);
  }
  if (BigInt(actual) !== size)
    return new CowError(EINVAL, `Size mismatch (${size} vs ${actual}) of COW header vs backing file`);
  if (mtimeSeconds(st) !== mtime)
    return new CowError(EINVAL, `mtime mismatch (${mtime} vs ${mtimeSeconds(st)}) of COW header vs backing file`);
  return null;
}

/** path_requires_switch(): does the command line name another file than the header? */
function pathRequiresSwitch(fromCmdline: string | undefined, fromCow: string, cow: string,
                            log: (l: string) => void): boolean {
  if (fromCmdline === undefined || fromCmdline === fromCow) return false;
  let a: fs.Stats;
  let b: fs.Stats;
  try {
    a = fs.statSync(fromCmdline);
  } catch (e) {
    log(`Couldn't stat '${fromCmdline}', err = ${errnoOf(e)}`);
    return false;
  }
  try {
    b = fs.statSync(fromCow);
  } catch (e) {
    log(`Couldn't stat '${fromCow}', err = ${errnoOf(e)}`);
    return true;
  }
  if (a.dev === b.dev && a.ino === b.ino) return false;
  log(`Backing file mismatch - "${fromCmdline}" requested, "${fromCow}" specified in COW header of "${cow}"`);
  return true;
}

export class CowFile implements BlockBackend {
  private closed = false;
  /** Sectors the bitmap can describe (V1/V2's rounding bug can leave the last ones out). */
  private readonly coveredSectors: number;

  private constructor(
    readonly cowPath: string,
    readonly backingPath: string,
    private readonly cowFd: number,
    private readonly backingFd: number,
    readonly header: CowHeader,
    readonly layout: CowLayout,
    /** The in-memory bitmap; the file's copy is updated on every write that changes it. */
    readonly bitmap: Buffer,
    readonly size: number,
    readonly readOnly: boolean,
  ) {
    this.coveredSectors = layout.bitmapLen * 8;
  }

  /**
   * Opens `cowPath`. With `backingFile` (ubdN=cow,backing) a missing COW file is created; a
   * different path to the same backing contents is recorded in the header ("Switching").
   * Without it the header names the backing file. Nothing is written when a check fails.
   */
  static open(cowPath: string, opts: CowFileOptions = {}): CowFile {
    const log = opts.log ?? (() => {});
    let opened: { fd: number; writable: boolean };
    try {
      opened = openHostFile(cowPath, !opts.readOnly, !!opts.sync);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && opts.backingFile !== undefined)
        return CowFile.create(cowPath, opts.backingFile, opts);
      throw new CowError(errnoOf(e), `Failed to open '${cowPath}', errno = ${errnoOf(e)}`);
    }
    const { fd, writable } = opened;
    let backingFd = -1;
    try {
      if (opts.shared) log(`Not locking "${cowPath}" on the host`);
      else lockHostFile(opts.lock, fd, writable, cowPath);

      const head = Buffer.alloc(COW_HEADER_MAX_SIZE);
      const n = preadFull(fd, head, 0);
      let header: CowHeader | null;
      try {
        header = parseCowHeader(head.subarray(0, n));
      } catch (e) {
        if (!(e instanceof CowError)) throw e;
        throw new CowError(e.errno, `Failed to read COW header from COW file "${cowPath}": ${e.message}`);
      }
      if (header === null)
        throw new CowError(EINVAL, `Failed to read COW header from COW file "${cowPath}": not a COW file (no MOOO magic)`);
      if (header.broken64) log('read_cow_header - broken V3 file with 64-bit layout - recovering content.');
      const layout = cowLayout(header);
      const fileSize = hostFileSize(fs.fstatSync(fd));
      const need = layout.dataOffset + Number(header.size);
      if (fileSize < need)
        throw new CowError(EINVAL, `COW file "${cowPath}" is truncated: ${fileSize} bytes, its header needs ${need}`);

      let backing = opts.backingFile;
      if (pathRequiresSwitch(backing, header.backingFile, cowPath, log)
          && backing !== undefined && !logMismatch(backingFileMismatch(backing, header.size, header.mtime), log)) {
        if (writable) {
          log(`Switching backing file to '${backing}'`);
          try {
            header = writeCowHeader(fd, backing, header);
          } catch (e) {
            throw new CowError(errnoOf(e), `Switch failed, errno = ${errnoOf(e)}: ${(e as Error).message}`);
          }
        } else {
          log(`Switching backing file to '${backing}' (not recorded: "${cowPath}" is read-only)`);
        }
      } else {
        backing = header.backingFile;
        const err = backingFileMismatch(backing, header.size, header.mtime);
        if (err) throw err;
      }

      const bitmap = Buffer.alloc(layout.bitmapLen);
      preadFull(fd, bitmap, layout.bitmapOffset);
      try {
        backingFd = openHostFile(backing, false, !!opts.sync).fd;
      } catch (e) {
        throw new CowError(errnoOf(e), `Failed to open backing file '${backing}', errno = ${errnoOf(e)}`);
      }
      if (opts.shared) log(`Not locking "${backing}" on the host`);
      else lockHostFile(opts.lock, backingFd, false, backing);
      return new CowFile(cowPath, backing, fd, backingFd, header, layout, bitmap,
                         roundBlock(Number(header.size)), !writable);
    } catch (e) {
      if (backingFd >= 0) fs.closeSync(backingFd);
      fs.closeSync(fd);
      throw e;
    }
  }

  /** create_cow_file(): a new COW file for `backingFile` (removed again if that fails). */
  static create(cowPath: string, backingFile: string, opts: CowFileOptions = {}): CowFile {
    if (opts.readOnly)
      throw new CowError(EROFS, `Can't create COW file "${cowPath}" for a read-only device`);
    let fd: number;
    try {
      fd = fs.openSync(cowPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    } catch (e) {
      throw new CowError(errnoOf(e), `Open of COW file '${cowPath}' failed, errno = ${errnoOf(e)}`);
    }
    try {
      initCowFile(fd, backingFile);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(cowPath, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    const cow = CowFile.open(cowPath, { ...opts, backingFile });
    opts.log?.(`Creating "${cowPath}" as COW file for "${backingFile}"`);
    return cow;
  }

  read(offset: number, length: number): Buffer {
    this.check();
    checkRange(this.size, offset, length);
    const out = Buffer.allocUnsafe(length);
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      // A run of sectors that all come from the same file: one pread.
      let s = Math.floor(pos / SECTOR_SIZE);
      const inCow = testBit(this.bitmap, s);
      let runEnd = Math.min(end, (s + 1) * SECTOR_SIZE);
      for (s++; runEnd < end && testBit(this.bitmap, s) === inCow; s++) runEnd = Math.min(end, (s + 1) * SECTOR_SIZE);
      if (inCow) preadFull(this.cowFd, out, this.layout.dataOffset + pos, pos - offset, runEnd - pos);
      else preadFull(this.backingFd, out, pos, pos - offset, runEnd - pos);
      pos = runEnd;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    this.check();
    if (this.readOnly) throw new CowError(EROFS, `COW file "${this.cowPath}" is read-only`);
    checkRange(this.size, offset, data.length);
    if (data.length === 0) return;
    const end = offset + data.length;
    const last = Math.floor((end - 1) / SECTOR_SIZE);
    if (last >= this.coveredSectors)
      throw new CowError(EIO, `sector ${last} lies beyond the COW bitmap of "${this.cowPath}" (V${this.header.version} rounding bug)`);

    // Data goes into the COW file in whole 4 KiB pages, as UML's own page-cache writes do:
    // UML's do_io() mis-advances its offset when one page-sized segment is split between
    // the COW and the backing file (it adds only the last run's length), so a page that is
    // half in the COW file makes a real UML read the following pages from the wrong place.
    // A partial page not yet entirely in the COW file is completed with its current contents.
    const pageStart = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
    const pageEnd = Math.min(Math.ceil(end / PAGE_SIZE) * PAGE_SIZE, this.size, this.coveredSectors * SECTOR_SIZE);
    const tailPage = Math.floor((end - 1) / PAGE_SIZE) * PAGE_SIZE;
    const headFill = offset > pageStart && !this.allInCow(pageStart, Math.min(pageStart + PAGE_SIZE, pageEnd));
    const tailFill = end < pageEnd && !this.allInCow(tailPage, pageEnd);
    const wStart = headFill ? pageStart : offset;
    const wEnd = tailFill ? pageEnd : end;
    let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (wStart !== offset || wEnd !== end) {
      const merged = Buffer.allocUnsafe(wEnd - wStart);
      if (headFill) this.read(pageStart, Math.min(PAGE_SIZE, wEnd - pageStart)).copy(merged, 0);
      if (tailFill && !(headFill && tailPage === pageStart))
        this.read(tailPage, pageEnd - tailPage).copy(merged, tailPage - wStart);
      buf.copy(merged, offset - wStart);
      buf = merged;
    }
    // Data first, bitmap second: a crash in between leaves the old contents visible.
    pwriteFull(this.cowFd, buf, this.layout.dataOffset + wStart);

    let lo = -1;
    let hi = -1;
    for (let s = Math.floor(wStart / SECTOR_SIZE); s < Math.ceil(wEnd / SECTOR_SIZE); s++) {
      if (testBit(this.bitmap, s)) continue;
      setBit(this.bitmap, s);
      if (lo < 0) lo = s >>> 3;
      hi = s >>> 3;
    }
    // Every byte that changed, in one write: never a partial bitmap (UML's 2006 bug).
    if (lo >= 0) pwriteFull(this.cowFd, this.bitmap, this.layout.bitmapOffset + lo, lo, hi - lo + 1);
  }

  /** Are all sectors of [from, to) (sector-aligned byte offsets) in the COW file? */
  private allInCow(from: number, to: number): boolean {
    for (let s = from / SECTOR_SIZE; s < to / SECTOR_SIZE; s++) if (!testBit(this.bitmap, s)) return false;
    return true;
  }

  flush(): void {
    this.check();
    if (!this.readOnly) fs.fsyncSync(this.cowFd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.backingFd);
    fs.closeSync(this.cowFd);
  }

  private check(): void {
    if (this.closed) throw new CowError(EINVAL, `COW file "${this.cowPath}" is closed`);
  }
}

function logMismatch(err: CowError | null, log: (l: string) => void): boolean {
  if (err) log(err.message);
  return err !== null;
}
