// UML's COW file header (arch/um/drivers/cow_user.c, uml_utilities moo/cow.c): the on-disk
// layouts V1, V2, V3 and the broken 64-bit V3, and the layout math that places the bitmap
// and the data area. Byte compatibility with UML and Debian's uml_mkcow/uml_moo is the
// point, historic bugs included (see shared/specs/cow.md).

export const COW_MAGIC = 0x4f4f4f4d; // "MOOO" when stored big-endian
export const COW_VERSION = 3;
export const COW_BITMAP = 0; // the only cow_format there is
export const SECTOR_SIZE = 512;
export const PAGE_SIZE = 4096;

export const PATH_LEN_V1 = 256;
export const PATH_LEN_V2 = 4096;
export const PATH_LEN_V3 = 4096;

/** sizeof() of each packed header, and of the unpacked broken-V3 struct on x86-64. */
export const COW_HEADER_V1_SIZE = 280;
export const COW_HEADER_V2_SIZE = 4120;
export const COW_HEADER_V3_SIZE = 4128;
export const COW_HEADER_V3_BROKEN_SIZE = 4136;
/** sizeof(union cow_header): how much read_cow_header reads. */
export const COW_HEADER_MAX_SIZE = COW_HEADER_V3_BROKEN_SIZE;

// errno values the COW code reports (Linux numbering).
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EACCES = 13;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EROFS = 30;
export const ENAMETOOLONG = 36;

/** A COW-format problem, carrying the errno UML would return and a message in UML's words. */
export class CowError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
    this.name = 'CowError';
  }
}

export type CowVersion = 1 | 2 | 3;

export interface CowHeader {
  version: CowVersion;
  /** V3 written by pre-Dec-2005 64-bit tools: 4 bytes of padding after a 64-bit mtime. */
  broken64: boolean;
  /**
   * Byte order of magic and version. UML accepts either; V1 is host-order (little-endian on
   * x86) in all its fields, V2/V3 fields are big-endian whatever order the magic is in.
   */
  magicOrder: 'le' | 'be';
  backingFile: string;
  /** Backing file st_mtime, truncated to 32 bits unsigned. */
  mtime: number;
  /** Backing file size in bytes. */
  size: bigint;
  sectorSize: number;
  /** V3: alignment of bitmap and data; V1/V2 have none and use the sector size. */
  alignment: number;
  /** V3: always COW_BITMAP (0); stored without byte swap. */
  cowFormat: number;
}

export interface CowLayout {
  bitmapOffset: number;
  bitmapLen: number;
  dataOffset: number;
}

function pathFieldLen(h: Pick<CowHeader, 'version'>): number {
  return h.version === 1 ? PATH_LEN_V1 : h.version === 2 ? PATH_LEN_V2 : PATH_LEN_V3;
}

export function headerSize(h: Pick<CowHeader, 'version' | 'broken64'>): number {
  if (h.version === 1) return COW_HEADER_V1_SIZE;
  if (h.version === 2) return COW_HEADER_V2_SIZE;
  return h.broken64 ? COW_HEADER_V3_BROKEN_SIZE : COW_HEADER_V3_SIZE;
}

const divRound = (x: number, len: number): number => Math.floor((x + len - 1) / len);
const roundUp = (x: number, align: number): number => divRound(x, align) * align;

/**
 * cow_sizes(): where the bitmap and the data area are. V1/V2 keep the historic rounding
 * bug (bitmap_len rounds bytes, not sectors, so it can be one byte short); V3 fixed it.
 */
export function cowLayout(h: CowHeader): CowLayout {
  validateGeometry(h);
  const size = Number(h.size);
  if (h.version < 3) {
    const bitmapOffset = headerSize(h);
    const bitmapLen = Math.floor((size + h.sectorSize - 1) / (8 * h.sectorSize));
    return { bitmapOffset, bitmapLen, dataOffset: roundUp(bitmapOffset + bitmapLen, h.sectorSize) };
  }
  const bitmapOffset = roundUp(headerSize(h), h.alignment);
  const bitmapLen = divRound(divRound(size, h.sectorSize), 8);
  return { bitmapOffset, bitmapLen, dataOffset: roundUp(bitmapOffset + bitmapLen, h.alignment) };
}

/** Values UML would divide by or overflow on; UML itself does not check them. */
function validateGeometry(h: CowHeader): void {
  if (!(h.sectorSize > 0 && h.sectorSize <= 1 << 20))
    throw new CowError(EINVAL, `invalid COW header: sector size ${h.sectorSize}`);
  if (h.version === 3 && !(h.alignment > 0 && h.alignment <= 1 << 30))
    throw new CowError(EINVAL, `read_cow_header - invalid COW header, align == ${h.alignment}`);
  if (h.size < 0n || h.size > BigInt(Number.MAX_SAFE_INTEGER) / 2n)
    throw new CowError(EINVAL, `invalid COW header: backing file size ${h.size} out of range`);
}

/** True if the buffer starts with the COW magic in either byte order. */
export function hasCowMagic(buf: Buffer): boolean {
  return buf.length >= 4 && (buf.readUInt32BE(0) === COW_MAGIC || buf.readUInt32LE(0) === COW_MAGIC);
}

function cString(buf: Buffer, start: number, len: number, what: string): string {
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  if (nul < 0) throw new CowError(EINVAL, `invalid COW header: ${what} backing file name is not NUL-terminated`);
  if (nul === 0) throw new CowError(EINVAL, `invalid COW header: ${what} backing file name is empty`);
  return field.toString('latin1', 0, nul);
}

/**
 * read_cow_header(): null when the data does not start with the COW magic (a plain image);
 * a CowError when it does but the header is truncated or makes no sense. `buf` is the start
 * of the file (up to COW_HEADER_MAX_SIZE bytes; shorter means the file is shorter).
 */
export function parseCowHeader(buf: Buffer): CowHeader | null {
  if (buf.length < 4) return null;
  let magicOrder: 'le' | 'be';
  if (buf.readUInt32LE(0) === COW_MAGIC) magicOrder = 'le';
  else if (buf.readUInt32BE(0) === COW_MAGIC) magicOrder = 'be';
  else return null;
  if (buf.length < 8) throw new CowError(EINVAL, `read_cow_header - short header (${buf.length} bytes)`);
  const version = magicOrder === 'le' ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const need = (n: number, v: string): void => {
    if (buf.length < n)
      throw new CowError(EINVAL, `read_cow_header - failed to read ${v} header: truncated (${buf.length} of ${n} bytes)`);
  };
  let h: CowHeader;
  if (version === 1) {
    need(COW_HEADER_V1_SIZE, 'V1');
    h = {
      version: 1, broken64: false, magicOrder,
      backingFile: cString(buf, 8, PATH_LEN_V1, 'V1'),
      mtime: buf.readUInt32LE(264),
      size: buf.readBigUInt64LE(268),
      sectorSize: buf.readInt32LE(276),
      alignment: buf.readInt32LE(276),
      cowFormat: COW_BITMAP,
    };
  } else if (version === 2) {
    need(COW_HEADER_V2_SIZE, 'V2');
    h = {
      version: 2, broken64: false, magicOrder,
      backingFile: cString(buf, 8, PATH_LEN_V2, 'V2'),
      mtime: buf.readUInt32BE(4104),
      size: buf.readBigUInt64BE(4108),
      sectorSize: buf.readInt32BE(4116),
      alignment: buf.readInt32BE(4116),
      cowFormat: COW_BITMAP,
    };
  } else if (version === 3) {
    // Four zero bytes where the packed layout has its file name are the broken 64-bit
    // layout's cow_format: no real path starts with four NULs.
    need(36, 'V3');
    const broken64 = buf.readUInt32BE(32) === 0;
    const base = broken64 ? 4 : 0;
    need(broken64 ? COW_HEADER_V3_BROKEN_SIZE : COW_HEADER_V3_SIZE, broken64 ? 'broken 64-bit V3' : 'V3');
    h = {
      version: 3, broken64, magicOrder,
      // Broken layout: a 64-bit mtime holding htonl(mtime) in its first four bytes.
      mtime: buf.readUInt32BE(8),
      size: buf.readBigUInt64BE(12 + base),
      sectorSize: buf.readUInt32BE(20 + base),
      alignment: buf.readUInt32BE(24 + base),
      cowFormat: buf.readUInt32LE(28 + base),
      backingFile: cString(buf, 32 + base, PATH_LEN_V3, broken64 ? 'broken 64-bit V3' : 'V3'),
    };
    if (h.cowFormat !== COW_BITMAP)
      throw new CowError(EINVAL, `invalid COW header: unknown cow_format ${h.cowFormat}`);
  } else {
    throw new CowError(EINVAL, `read_cow_header - invalid COW version ${version}`);
  }
  validateGeometry(h);
  return h;
}

/** The exact bytes of a header (zero-filled after the file name, as the tools write it). */
export function serializeCowHeader(h: CowHeader): Buffer {
  const buf = Buffer.alloc(headerSize(h));
  const name = Buffer.from(h.backingFile, 'latin1');
  if (name.length > pathFieldLen(h) - 1)
    throw new CowError(EINVAL, `Backing file name "${h.backingFile}" is too long - names are limited to ${pathFieldLen(h) - 1} characters`);
  if (h.magicOrder === 'le') { buf.writeUInt32LE(COW_MAGIC, 0); buf.writeUInt32LE(h.version, 4); }
  else { buf.writeUInt32BE(COW_MAGIC, 0); buf.writeUInt32BE(h.version, 4); }
  const mtime = h.mtime >>> 0;
  if (h.version === 1) {
    name.copy(buf, 8);
    buf.writeUInt32LE(mtime, 264);
    buf.writeBigUInt64LE(h.size, 268);
    buf.writeInt32LE(h.sectorSize, 276);
  } else if (h.version === 2) {
    name.copy(buf, 8);
    buf.writeUInt32BE(mtime, 4104);
    buf.writeBigUInt64BE(h.size, 4108);
    buf.writeInt32BE(h.sectorSize, 4116);
  } else {
    const base = h.broken64 ? 4 : 0;
    buf.writeUInt32BE(mtime, 8); // broken layout: bytes 12..15 stay zero
    buf.writeBigUInt64BE(h.size, 12 + base);
    buf.writeUInt32BE(h.sectorSize, 20 + base);
    buf.writeUInt32BE(h.alignment, 24 + base);
    buf.writeUInt32LE(h.cowFormat, 28 + base);
    name.copy(buf, 32 + base);
  }
  return buf;
}

/** The header UML and uml_mkcow write for a new COW file. */
export function newCowHeader(backingFile: string, mtime: number, size: bigint,
                             sectorSize = SECTOR_SIZE, alignment = PAGE_SIZE): CowHeader {
  return {
    version: COW_VERSION, broken64: false, magicOrder: 'be', backingFile,
    mtime: mtime >>> 0, size, sectorSize, alignment, cowFormat: COW_BITMAP,
  };
}

// Bitmap bit order: bit s is byte[s >> 3] & (1 << (s & 7)), LSB first (ubd_test_bit).
export function testBit(bitmap: Buffer, bit: number): boolean {
  const byte = bit >>> 3;
  return byte < bitmap.length && (bitmap[byte] & (1 << (bit & 7))) !== 0;
}

export function setBit(bitmap: Buffer, bit: number): void {
  bitmap[bit >>> 3] |= 1 << (bit & 7);
}
