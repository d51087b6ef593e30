// CRC32C (Castagnoli), as ext4's metadata_csum and jbd2's csum v2/v3 use it: the raw
// register update with no final inversion (Linux's crc32c_le / ext2fs_crc32c_le), so
// callers chain seeds exactly as the kernel does. Also the CRC16 of the older gdt_csum.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = crc >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** crc32c over a little-endian u32, as the kernel hashes inode numbers and group numbers. */
export function crc32cU32(crc: number, v: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return crc32c(crc, b);
}

const TABLE16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC16 (ANSI, reflected 0xA001), used by group descriptors under gdt_csum/uninit_bg. */
export function crc16(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = crc & 0xffff;
  for (let i = start; i < end; i++) c = (TABLE16[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) & 0xffff;
  return c;
}
