// An open block device node (def_blk_fops): byte-granular read/write at the file position,
// lseek relative to the device size, fsync, and the block ioctls.
import { Errno } from '../errno.js';
import { EACCES, EBADF, EBUSY, EINVAL, ENOSPC, ENOTTY, EOPNOTSUPP, EPERM, EROFS } from '../abi/errno.js';
import { O_ACCMODE, O_RDONLY, S_IFBLK, SEEK_CUR, SEEK_END, SEEK_SET } from '../abi/fcntl.js';
import { File } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { SECTOR_SIZE, type BlockDevice } from './block-device.js';

export const BLKROSET = 0x125d, BLKROGET = 0x125e, BLKRRPART = 0x125f, BLKGETSIZE = 0x1260,
  BLKFLSBUF = 0x1261, BLKSSZGET = 0x1268, BLKBSZGET = 0x80081270, BLKBSZSET = 0x40081271,
  BLKGETSIZE64 = 0x80081272, BLKDISCARD = 0x1277, BLKIOMIN = 0x1278, BLKIOOPT = 0x1279,
  BLKALIGNOFF = 0x127a, BLKPBSZGET = 0x127b, BLKDISCARDZEROES = 0x127c, BLKSECDISCARD = 0x127d,
  BLKROTATIONAL = 0x127e, BLKZEROOUT = 0x127f, HDIO_GETGEO = 0x0301;

/** ubd_getgeo's fake geometry: 128 heads, 32 sectors per track. */
const GEO_HEADS = 128, GEO_SECTORS = 32;

/** Linux's default soft block size: the largest power of two up to a page dividing the size. */
function softBlockSize(size: number): number {
  let bs = 4096;
  while (bs > SECTOR_SIZE && size % bs !== 0) bs >>= 1;
  return bs;
}

export class BlockDeviceFile extends File {
  private released = false;

  constructor(readonly dev: BlockDevice, flags: number, private readonly rescan: (disk: BlockDevice) => void) {
    super(flags);
    if ((flags & O_ACCMODE) !== O_RDONLY && dev.readOnly) throw new Errno(EROFS);
    dev.openCount++;
  }

  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    const t = { sec: 0, nsec: 0 };
    return { dev: 0, ino: 0, mode: S_IFBLK | 0o660, nlink: 1, uid: 0, gid: 6, rdev: this.dev.rdev, size: 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t };
  }

  override read(t: Task, len: number): Buffer {
    const b = this.pread(t, len, this.pos);
    this.pos += b.length;
    return b;
  }

  override pread(_t: Task, len: number, off: number): Buffer {
    if (!this.readable) throw new Errno(EBADF);
    if (off < 0) throw new Errno(EINVAL);
    if (off >= this.dev.size || len <= 0) return Buffer.alloc(0);
    return this.dev.read(off, Math.min(len, this.dev.size - off));
  }

  override write(t: Task, data: Buffer): number {
    const n = this.pwrite(t, data, this.pos);
    this.pos += n;
    return n;
  }

  override pwrite(_t: Task, data: Buffer, off: number): number {
    if (!this.writable) throw new Errno(EBADF);
    if (this.dev.readOnly) throw new Errno(EPERM);
    if (off < 0) throw new Errno(EINVAL);
    if (data.length === 0) return 0;
    if (off >= this.dev.size) throw new Errno(ENOSPC);
    const n = Math.min(data.length, this.dev.size - off);
    this.dev.write(off, n === data.length ? data : data.subarray(0, n));
    return n;
  }

  override seek(off: number, whence: number): number {
    let base: number;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = this.pos; break;
      case SEEK_END: base = this.dev.size; break;
      default: throw new Errno(EINVAL);
    }
    const n = base + off;
    if (n < 0 || n > this.dev.size) throw new Errno(EINVAL);
    this.pos = n;
    return n;
  }

  override fsync(): void {
    this.dev.flush();
  }

  override ioctl(t: Task, req: number, arg: number): number {
    const d = this.dev;
    switch (req >>> 0) {
      case BLKGETSIZE64: t.mem.writeU64(arg, d.size); return 0;
      case BLKGETSIZE: t.mem.writeU64(arg, d.sectors); return 0;
      case BLKSSZGET: case BLKPBSZGET: case BLKIOMIN: t.mem.writeI32(arg, SECTOR_SIZE); return 0;
      case BLKIOOPT: case BLKALIGNOFF: case BLKDISCARDZEROES: case BLKROTATIONAL: t.mem.writeI32(arg, 0); return 0;
      case BLKBSZGET: t.mem.writeI32(arg, softBlockSize(d.size)); return 0;
      case BLKBSZSET: {
        const bs = t.mem.i32(arg);
        if (bs < SECTOR_SIZE || bs > 4096 || (bs & (bs - 1))) throw new Errno(EINVAL);
        return 0;
      }
      case BLKROGET: t.mem.writeI32(arg, d.readOnly ? 1 : 0); return 0;
      case BLKROSET: {
        if (!t.cred.fsRoot) throw new Errno(EACCES);
        const ro = t.mem.i32(arg) !== 0;
        if (!ro && d.store.readOnly) throw new Errno(EROFS);
        d.readOnly = ro;
        return 0;
      }
      case BLKFLSBUF: d.flush(); return 0;
      case BLKRRPART:
        if (d.isPartition) throw new Errno(EINVAL);
        if (d.partitions.some((p) => p.openCount > 0 || p.holder) || d.holder) throw new Errno(EBUSY);
        this.rescan(d);
        return 0;
      case BLKDISCARD: case BLKZEROOUT: case BLKSECDISCARD: {
        if (!this.writable) throw new Errno(EBADF);
        const b = t.mem.read(arg, 16);
        const start = Number(b.readBigUInt64LE(0));
        const len = Number(b.readBigUInt64LE(8));
        if (start % SECTOR_SIZE || len % SECTOR_SIZE) throw new Errno(EINVAL);
        if (start + len > d.size) throw new Errno(EINVAL);
        if (req === BLKSECDISCARD) throw new Errno(EOPNOTSUPP);
        if (req === BLKDISCARD) d.discard(start, len);
        else d.zeroOut(start, len);
        return 0;
      }
      case HDIO_GETGEO: {
        const g = Buffer.alloc(16);
        g[0] = GEO_HEADS;
        g[1] = GEO_SECTORS;
        const disk = d.disk ?? d;
        g.writeUInt16LE(Math.floor(disk.size / (GEO_HEADS * GEO_SECTORS * SECTOR_SIZE)) & 0xffff, 2);
        g.writeBigUInt64LE(BigInt(Math.floor(d.start / SECTOR_SIZE) - Math.floor(disk.start / SECTOR_SIZE)), 8);
        t.mem.write(arg, g);
        return 0;
      }
      default: throw new Errno(ENOTTY);
    }
  }

  protected override release(): void {
    if (this.released) return;
    this.released = true;
    this.dev.openCount--;
    if (this.writable) this.dev.flush();
  }
}
