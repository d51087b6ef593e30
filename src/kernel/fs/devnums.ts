// Anonymous device numbers for file systems without a block device (like Linux's
// get_anon_bdev): major 0, minors counting up.
let nextMinor = 20;
export function allocDev(): number {
  return nextMinor++;
}
/** Linux's new_encode_dev for st_dev / st_rdev. */
export function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
export function major(dev: number): number {
  return (dev >>> 8) & 0xfff;
}
export function minor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & 0xfff00);
}
