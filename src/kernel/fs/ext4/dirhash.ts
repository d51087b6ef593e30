// Directory-index name hashes (legacy, half-MD4, TEA; signed and unsigned char variants),
// as ext4_dirhash computes them for htree directories.

export const DX_HASH_LEGACY = 0;
export const DX_HASH_HALF_MD4 = 1;
export const DX_HASH_TEA = 2;
export const DX_HASH_LEGACY_UNSIGNED = 3;
export const DX_HASH_HALF_MD4_UNSIGNED = 4;
export const DX_HASH_TEA_UNSIGNED = 5;

const EOF_32 = 0x7fffffff;

function charAt(name: Uint8Array, i: number, unsigned: boolean): number {
  const c = name[i]!;
  return unsigned || c < 128 ? c : c - 256;
}

function legacyHash(name: Uint8Array, unsigned: boolean): number {
  let hash0 = 0x12a3fe2d;
  let hash1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    const c = charAt(name, i, unsigned);
    let hash = (hash1 + ((hash0 ^ Math.imul(c, 7152373)) >>> 0)) >>> 0;
    if (hash & 0x80000000) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

function str2hashbuf(name: Uint8Array, off: number, len: number, num: number, unsigned: boolean): number[] {
  const out: number[] = [];
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  if (len > num * 4) len = num * 4;
  for (let i = 0; i < len; i++) {
    val = (charAt(name, off + i, unsigned) + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out.push(val);
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out.push(val);
  while (--num >= 0) out.push(pad);
  return out;
}

const rol = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

function halfMd4(buf: number[], inp: number[]): void {
  let [a, b, c, d] = buf as [number, number, number, number];
  const F = (x: number, y: number, z: number): number => (z ^ (x & (y ^ z))) >>> 0;
  const G = (x: number, y: number, z: number): number => (((x & y) >>> 0) + (((x ^ y) & z) >>> 0)) >>> 0;
  const H = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
  const K2 = 0o13240474631;
  const K3 = 0o15666365641;
  const R = (f: typeof F, w: number, x: number, y: number, z: number, k: number, s: number): number =>
    rol((w + f(x, y, z) + k) >>> 0, s);
  const i = inp;
  a = R(F, a, b, c, d, i[0]!, 3); d = R(F, d, a, b, c, i[1]!, 7); c = R(F, c, d, a, b, i[2]!, 11); b = R(F, b, c, d, a, i[3]!, 19);
  a = R(F, a, b, c, d, i[4]!, 3); d = R(F, d, a, b, c, i[5]!, 7); c = R(F, c, d, a, b, i[6]!, 11); b = R(F, b, c, d, a, i[7]!, 19);
  a = R(G, a, b, c, d, i[1]! + K2, 3); d = R(G, d, a, b, c, i[3]! + K2, 5); c = R(G, c, d, a, b, i[5]! + K2, 9); b = R(G, b, c, d, a, i[7]! + K2, 13);
  a = R(G, a, b, c, d, i[0]! + K2, 3); d = R(G, d, a, b, c, i[2]! + K2, 5); c = R(G, c, d, a, b, i[4]! + K2, 9); b = R(G, b, c, d, a, i[6]! + K2, 13);
  a = R(H, a, b, c, d, i[3]! + K3, 3); d = R(H, d, a, b, c, i[7]! + K3, 9); c = R(H, c, d, a, b, i[2]! + K3, 11); b = R(H, b, c, d, a, i[6]! + K3, 15);
  a = R(H, a, b, c, d, i[1]! + K3, 3); d = R(H, d, a, b, c, i[5]! + K3, 9); c = R(H, c, d, a, b, i[0]! + K3, 11); b = R(H, b, c, d, a, i[4]! + K3, 15);
  buf[0] = (buf[0]! + a) >>> 0; buf[1] = (buf[1]! + b) >>> 0; buf[2] = (buf[2]! + c) >>> 0; buf[3] = (buf[3]! + d) >>> 0;
}

function tea(buf: number[], inp: number[]): void {
  let sum = 0;
  let b0 = buf[0]!;
  let b1 = buf[1]!;
  const [a, b, c, d] = inp as [number, number, number, number];
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b)) >>> 0)) >>> 0;
    b1 = (b1 + ((((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d)) >>> 0)) >>> 0;
  }
  buf[0] = (buf[0]! + b0) >>> 0;
  buf[1] = (buf[1]! + b1) >>> 0;
}

/** Major hash of a name (low bit clear), as stored in dx entries. */
export function dirHash(name: Uint8Array, version: number, seed: number[]): { hash: number; minor: number } {
  const buf = seed.some((x) => x !== 0) ? [...seed] : [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  let hash: number;
  let minor = 0;
  const unsigned = version >= DX_HASH_LEGACY_UNSIGNED;
  switch (version) {
    case DX_HASH_LEGACY:
    case DX_HASH_LEGACY_UNSIGNED:
      hash = legacyHash(name, unsigned);
      break;
    case DX_HASH_HALF_MD4:
    case DX_HASH_HALF_MD4_UNSIGNED:
      for (let off = 0, len = name.length; len > 0; len -= 32, off += 32) halfMd4(buf, str2hashbuf(name, off, len, 8, unsigned));
      hash = buf[1]!;
      minor = buf[2]!;
      break;
    case DX_HASH_TEA:
    case DX_HASH_TEA_UNSIGNED:
      for (let off = 0, len = name.length; len > 0; len -= 16, off += 16) tea(buf, str2hashbuf(name, off, len, 4, unsigned));
      hash = buf[0]!;
      minor = buf[1]!;
      break;
    default:
      throw new Error(`unknown dir hash version ${version}`);
  }
  hash = (hash & ~1) >>> 0;
  if (hash === (EOF_32 << 1) >>> 0) hash = ((EOF_32 - 1) << 1) >>> 0;
  return { hash, minor };
}
