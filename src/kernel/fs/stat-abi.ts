// struct stat, struct statx and struct statfs as x86-64 user space sees them.
import type { Stat, StatFs } from './inode.js';

export function encodeStat(s: Stat): Buffer {
  const b = Buffer.alloc(144);
  b.writeBigUInt64LE(BigInt(s.dev), 0);
  b.writeBigUInt64LE(BigInt(s.ino), 8);
  b.writeBigUInt64LE(BigInt(s.nlink), 16);
  b.writeUInt32LE(s.mode >>> 0, 24);
  b.writeUInt32LE(s.uid >>> 0, 28);
  b.writeUInt32LE(s.gid >>> 0, 32);
  b.writeBigUInt64LE(BigInt(s.rdev), 40);
  b.writeBigInt64LE(BigInt(s.size), 48);
  b.writeBigInt64LE(BigInt(s.blksize), 56);
  b.writeBigInt64LE(BigInt(s.blocks), 64);
  b.writeBigInt64LE(BigInt(s.atime.sec), 72);
  b.writeBigInt64LE(BigInt(s.atime.nsec), 80);
  b.writeBigInt64LE(BigInt(s.mtime.sec), 88);
  b.writeBigInt64LE(BigInt(s.mtime.nsec), 96);
  b.writeBigInt64LE(BigInt(s.ctime.sec), 104);
  b.writeBigInt64LE(BigInt(s.ctime.nsec), 112);
  return b;
}

export const STATX_BASIC_STATS = 0x7ff, STATX_BTIME = 0x800, STATX_MNT_ID = 0x1000;

export function encodeStatx(s: Stat, mask: number, mntId: number): Buffer {
  const b = Buffer.alloc(256);
  const have = STATX_BASIC_STATS | (s.btime ? STATX_BTIME : 0) | STATX_MNT_ID;
  void mask;
  b.writeUInt32LE(have, 0);
  b.writeUInt32LE(s.blksize, 4);
  b.writeBigUInt64LE(0n, 8); // attributes
  b.writeUInt32LE(s.nlink, 16);
  b.writeUInt32LE(s.uid >>> 0, 20);
  b.writeUInt32LE(s.gid >>> 0, 24);
  b.writeUInt16LE(s.mode & 0xffff, 28);
  b.writeBigUInt64LE(BigInt(s.ino), 32);
  b.writeBigUInt64LE(BigInt(s.size), 40);
  b.writeBigUInt64LE(BigInt(s.blocks), 48);
  b.writeBigUInt64LE(0n, 56); // attributes_mask
  const ts = (o: number, t: { sec: number; nsec: number }) => { b.writeBigInt64LE(BigInt(t.sec), o); b.writeUInt32LE(t.nsec, o + 8); };
  ts(64, s.atime);
  ts(80, s.btime ?? { sec: 0, nsec: 0 });
  ts(96, s.ctime);
  ts(112, s.mtime);
  const major = (d: number) => (d >>> 8) & 0xfff, minor = (d: number) => (d & 0xff) | ((d >>> 12) & 0xfff00);
  b.writeUInt32LE(major(s.rdev), 128);
  b.writeUInt32LE(minor(s.rdev), 132);
  b.writeUInt32LE(major(s.dev), 136);
  b.writeUInt32LE(minor(s.dev), 140);
  b.writeBigUInt64LE(BigInt(mntId), 144);
  return b;
}

export function encodeStatfs(s: StatFs, fsid: number): Buffer {
  const b = Buffer.alloc(120);
  const w = (o: number, v: number) => b.writeBigInt64LE(BigInt(Math.floor(v)), o);
  w(0, s.type); w(8, s.bsize); w(16, s.blocks); w(24, s.bfree); w(32, s.bavail);
  w(40, s.files); w(48, s.ffree);
  b.writeInt32LE(fsid, 56);
  w(64, s.namelen); w(72, s.frsize || s.bsize); w(80, s.flags);
  return b;
}
