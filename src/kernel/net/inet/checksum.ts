// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
// 16-bit big-endian words. Partial sums compose, so pseudo-headers are summed separately.

/** Adds the bytes [start, end) to a running 32-bit partial sum (not yet folded). */
export function sum16(buf: Buffer, start = 0, end = buf.length, acc = 0): number {
  let s = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) {
    s += (buf[i]! << 8) | buf[i + 1]!;
    // Fold now and then so the sum stays a small integer.
    if (s > 0x7fffffff) s = (s & 0xffff) + (s >>> 16);
  }
  if (i === last) s += buf[i]! << 8;
  return s;
}

/** Folds a partial sum to 16 bits and complements it: the value to put in a header. */
export function finish(acc: number): number {
  let s = acc;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function checksum(buf: Buffer, start = 0, end = buf.length): number {
  return finish(sum16(buf, start, end));
}

/** Partial sum of the IPv4 pseudo-header TCP and UDP include. */
export function pseudoSum4(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}
