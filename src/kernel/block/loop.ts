// Loop devices (drivers/block/loop.c): /dev/loopN (major 7) shows a guest file as a block
// device once LOOP_SET_FD or LOOP_CONFIGURE binds it; /dev/loop-control (10:237) hands out
// free ones. I/O goes through the bound File (any file system), so `mount -o loop img`
// works on files in ext4, tmpfs or hostfs alike.
import { Errno } from '../errno.js';
import { EBADF, EBUSY, EEXIST, EINVAL, ENOTTY, ENXIO, EPERM } from '../abi/errno.js';
import { O_ACCMODE, O_RDONLY, S_IFBLK, S_IFCHR } from '../abi/fcntl.js';
import { File } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { Task } from '../task/task.js';
import { registerBlockDevice, registerCharDevice, ANY_MINOR } from '../fs/dev/registry.js';
import { BlockDevice, SECTOR_SIZE, type BlockStore } from './block-device.js';
import { BlockDeviceFile } from './block-file.js';
import { blockDevices, DISK_GID } from './registry.js';

export const LOOP_MAJOR = 7, MISC_MAJOR = 10, LOOP_CTRL_MINOR = 237;
export const LOOP_SET_FD = 0x4c00, LOOP_CLR_FD = 0x4c01, LOOP_SET_STATUS = 0x4c02, LOOP_GET_STATUS = 0x4c03,
  LOOP_SET_STATUS64 = 0x4c04, LOOP_GET_STATUS64 = 0x4c05, LOOP_CHANGE_FD = 0x4c06, LOOP_SET_CAPACITY = 0x4c07,
  LOOP_SET_DIRECT_IO = 0x4c08, LOOP_SET_BLOCK_SIZE = 0x4c09, LOOP_CONFIGURE = 0x4c0a,
  LOOP_CTL_ADD = 0x4c80, LOOP_CTL_REMOVE = 0x4c81, LOOP_CTL_GET_FREE = 0x4c82;
export const LO_FLAGS_READ_ONLY = 1, LO_FLAGS_AUTOCLEAR = 4, LO_FLAGS_PARTSCAN = 8, LO_FLAGS_DIRECT_IO = 16;
const LOOP_INFO64_SIZE = 232;
/** Loop devices created at boot (max_loop's default). */
const DEFAULT_LOOPS = 8;
const MAX_LOOPS = 256;

interface Binding {
  file: File;
  task: Task;
  dev: BlockDevice;
  offset: number;
  sizeLimit: number;
  flags: number;
  name: Buffer;
}

/** A store over the bound file's bytes. */
function fileStore(file: File, task: Task, readOnly: boolean): BlockStore {
  return {
    size: Math.floor(file.stat().size / SECTOR_SIZE) * SECTOR_SIZE,
    readOnly,
    read: (off, len) => {
      const b = file.pread(task, len, off);
      return b.length === len ? b : Buffer.concat([b, Buffer.alloc(len - b.length)]);
    },
    write: (off, data) => {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      for (let done = 0; done < buf.length;) done += file.pwrite(task, buf.subarray(done), off + done);
    },
    flush: () => file.fsync(),
    close: () => {},
  };
}

class LoopSlot {
  binding: Binding | null = null;
  opens = 0;
  constructor(readonly index: number) {}

  get name(): string {
    return `loop${this.index}`;
  }

  private makeDevice(file: File, task: Task, readOnly: boolean, offset: number, sizeLimit: number, flags: number): BlockDevice {
    const store = fileStore(file, task, readOnly);
    let size = Math.max(0, store.size - offset);
    if (sizeLimit > 0) size = Math.min(size, sizeLimit);
    size = Math.floor(size / SECTOR_SIZE) * SECTOR_SIZE;
    const dev = new BlockDevice(store, { name: this.name, major: LOOP_MAJOR, minor: this.index, start: offset, size, readOnly });
    dev.onRelease = () => this.maybeAutoclear();
    blockDevices.addDisk(dev, flags & LO_FLAGS_PARTSCAN ? 16 : 1, null);
    return dev;
  }

  bind(t: Task, fd: number, info: Buffer | null, openedReadOnly: boolean): void {
    if (this.binding) throw new Errno(EBUSY);
    const file = t.fds.get(fd);
    if (!file.readable) throw new Errno(EBADF);
    let flags = info ? info.readUInt32LE(52) : 0;
    const readOnly = openedReadOnly || !file.writable || (flags & LO_FLAGS_READ_ONLY) !== 0;
    if (readOnly) flags |= LO_FLAGS_READ_ONLY;
    const offset = info ? Number(info.readBigUInt64LE(24)) : 0;
    const sizeLimit = info ? Number(info.readBigUInt64LE(32)) : 0;
    if (offset % SECTOR_SIZE) throw new Errno(EINVAL);
    file.ref();
    try {
      const dev = this.makeDevice(file, t, readOnly, offset, sizeLimit, flags);
      const name = info ? info.subarray(56, 120) : Buffer.alloc(64);
      this.binding = { file, task: t, dev, offset, sizeLimit, flags, name: Buffer.from(name) };
    } catch (e) {
      file.unref();
      throw e;
    }
  }

  /** LOOP_SET_STATUS64: offset, size limit, autoclear/partscan and the name. */
  setStatus(info: Buffer): void {
    const b = this.binding;
    if (!b) throw new Errno(ENXIO);
    if (b.dev.holder) throw new Errno(EBUSY);
    const offset = Number(info.readBigUInt64LE(24));
    const sizeLimit = Number(info.readBigUInt64LE(32));
    if (offset % SECTOR_SIZE) throw new Errno(EINVAL);
    const settable = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN;
    const flags = (b.flags & ~settable) | (info.readUInt32LE(52) & settable);
    blockDevices.removeDisk(b.dev);
    b.dev = this.makeDevice(b.file, b.task, (b.flags & LO_FLAGS_READ_ONLY) !== 0, offset, sizeLimit, flags);
    Object.assign(b, { offset, sizeLimit, flags, name: Buffer.from(info.subarray(56, 120)) });
  }

  getStatus(): Buffer {
    const b = this.binding;
    if (!b) throw new Errno(ENXIO);
    const st = b.file.stat();
    const out = Buffer.alloc(LOOP_INFO64_SIZE);
    out.writeBigUInt64LE(BigInt(st.dev), 0);
    out.writeBigUInt64LE(BigInt(st.ino), 8);
    out.writeBigUInt64LE(BigInt(st.rdev), 16);
    out.writeBigUInt64LE(BigInt(b.offset), 24);
    out.writeBigUInt64LE(BigInt(b.sizeLimit), 32);
    out.writeUInt32LE(this.index, 40);
    out.writeUInt32LE(b.flags, 52);
    b.name.copy(out, 56, 0, 63);
    return out;
  }

  /** LOOP_CLR_FD: unbinds now, or when the mounted file system lets go (autoclear). */
  clear(): void {
    const b = this.binding;
    if (!b) throw new Errno(ENXIO);
    if (b.dev.holder || this.opens > 1) {
      b.flags |= LO_FLAGS_AUTOCLEAR;
      return;
    }
    this.unbind();
  }

  private unbind(): void {
    const b = this.binding;
    if (!b) return;
    this.binding = null;
    blockDevices.removeDisk(b.dev);
    try { b.file.fsync(); } catch { /* the file may be gone read-only */ }
    b.file.unref();
  }

  maybeAutoclear(): void {
    const b = this.binding;
    if (b && (b.flags & LO_FLAGS_AUTOCLEAR) && !b.dev.holder && this.opens === 0) this.unbind();
  }
}

const slots: LoopSlot[] = [];

function slot(index: number): LoopSlot {
  let s = slots[index];
  if (!s) {
    s = slots[index] = new LoopSlot(index);
    blockDevices.addNodes([{ name: s.name, major: LOOP_MAJOR, minor: index, mode: S_IFBLK | 0o660, gid: DISK_GID }]);
  }
  return s;
}

/** An open /dev/loopN: the loop ioctls, and block I/O once bound. */
class LoopFile extends File {
  private io: BlockDeviceFile | null = null;
  private ioDev: BlockDevice | null = null;
  private released = false;

  constructor(readonly slot: LoopSlot, flags: number) {
    super(flags);
    slot.opens++;
  }

  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    const t = { sec: 0, nsec: 0 };
    return { dev: 0, ino: 0, mode: S_IFBLK | 0o660, nlink: 1, uid: 0, gid: DISK_GID, rdev: LOOP_MAJOR << 8 | this.slot.index, size: 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t };
  }

  /** The block file of the current binding (re-made when the binding changes). */
  private block(): BlockDeviceFile | null {
    const dev = this.slot.binding?.dev ?? null;
    if (dev !== this.ioDev) {
      this.io?.unref();
      this.io = dev ? new BlockDeviceFile(dev, this.flags, () => {}) : null;
      this.ioDev = dev;
    }
    if (this.io) this.io.pos = this.pos;
    return this.io;
  }

  override read(t: Task, len: number): Buffer {
    const f = this.block();
    if (!f) return Buffer.alloc(0);
    const b = f.read(t, len);
    this.pos = f.pos;
    return b;
  }
  override pread(t: Task, len: number, off: number): Buffer {
    return this.block()?.pread(t, len, off) ?? Buffer.alloc(0);
  }
  override write(t: Task, data: Buffer): number {
    const f = this.block();
    if (!f) throw new Errno(ENXIO);
    const n = f.write(t, data);
    this.pos = f.pos;
    return n;
  }
  override pwrite(t: Task, data: Buffer, off: number): number {
    const f = this.block();
    if (!f) throw new Errno(ENXIO);
    return f.pwrite(t, data, off);
  }
  override seek(off: number, whence: number): number {
    const f = this.block();
    if (!f) { this.pos = 0; return 0; }
    this.pos = f.seek(off, whence);
    return this.pos;
  }
  override fsync(): void {
    this.block()?.fsync();
  }

  override ioctl(t: Task, req: number, arg: number): number {
    const ro = (this.flags & O_ACCMODE) === O_RDONLY;
    switch (req >>> 0) {
      case LOOP_SET_FD: this.slot.bind(t, arg | 0, null, ro); return 0;
      case LOOP_CONFIGURE: {
        const cfg = t.mem.read(arg, 8 + LOOP_INFO64_SIZE + 64);
        const bs = cfg.readUInt32LE(4);
        if (bs && (bs < 512 || bs > 4096 || (bs & (bs - 1)))) throw new Errno(EINVAL);
        this.slot.bind(t, cfg.readInt32LE(0), cfg.subarray(8, 8 + LOOP_INFO64_SIZE), ro);
        return 0;
      }
      case LOOP_CLR_FD: this.slot.clear(); return 0;
      case LOOP_SET_STATUS64: this.slot.setStatus(t.mem.read(arg, LOOP_INFO64_SIZE)); return 0;
      case LOOP_GET_STATUS64: t.mem.write(arg, this.slot.getStatus()); return 0;
      case LOOP_SET_CAPACITY: {
        const b = this.slot.binding;
        if (!b) throw new Errno(ENXIO);
        const info = this.slot.getStatus();
        this.slot.setStatus(info);
        return 0;
      }
      case LOOP_SET_DIRECT_IO: case LOOP_SET_BLOCK_SIZE:
        if (!this.slot.binding) throw new Errno(ENXIO);
        return 0;
      case LOOP_SET_STATUS: case LOOP_GET_STATUS: case LOOP_CHANGE_FD: throw new Errno(EINVAL);
      default: {
        const f = this.block();
        if (!f) {
          if ((req >>> 0) === 0x80081272 /* BLKGETSIZE64 */) { t.mem.writeU64(arg, 0); return 0; }
          throw new Errno(ENXIO);
        }
        return f.ioctl(t, req, arg);
      }
    }
  }

  protected override release(): void {
    if (this.released) return;
    this.released = true;
    this.io?.unref();
    this.slot.opens--;
    this.slot.maybeAutoclear();
  }
}

/** /dev/loop-control: LOOP_CTL_GET_FREE / ADD / REMOVE. */
class LoopControlFile extends File {
  stat(): Stat {
    const ino = this.path?.dentry.inode;
    if (ino) return ino.getattr();
    const t = { sec: 0, nsec: 0 };
    return { dev: 0, ino: 0, mode: S_IFCHR | 0o660, nlink: 1, uid: 0, gid: DISK_GID, rdev: MISC_MAJOR << 8 | LOOP_CTRL_MINOR, size: 0, blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t };
  }
  override ioctl(t: Task, req: number, arg: number): number {
    if (!t.cred.fsRoot) throw new Errno(EPERM);
    switch (req >>> 0) {
      case LOOP_CTL_GET_FREE: {
        for (let i = 0; i < MAX_LOOPS; i++) if (!slot(i).binding) return i;
        throw new Errno(ENXIO);
      }
      case LOOP_CTL_ADD: {
        const i = arg | 0;
        if (i < 0) { for (let j = 0; j < MAX_LOOPS; j++) if (!slots[j]) { slot(j); return j; } throw new Errno(ENXIO); }
        if (i >= MAX_LOOPS) throw new Errno(EINVAL);
        if (slots[i]) throw new Errno(EEXIST);
        slot(i);
        return i;
      }
      case LOOP_CTL_REMOVE: {
        const s = slots[arg | 0];
        if (!s) throw new Errno(ENXIO);
        if (s.binding || s.opens) throw new Errno(EBUSY);
        return arg | 0;
      }
      default: throw new Errno(ENOTTY);
    }
  }
}

let registered = false;

/** Registers the loop driver and creates loop0…loop7 and loop-control. */
export function setupLoopDevices(): void {
  if (registered) return;
  registered = true;
  registerBlockDevice(LOOP_MAJOR, ANY_MINOR, (flags, _task, rdev) => new LoopFile(slot(rdev & 0xff), flags), 'loop');
  registerCharDevice(MISC_MAJOR, LOOP_CTRL_MINOR, (flags) => new LoopControlFile(flags), 'misc');
  for (let i = 0; i < DEFAULT_LOOPS; i++) slot(i);
  blockDevices.addNodes([{ name: 'loop-control', major: MISC_MAJOR, minor: LOOP_CTRL_MINOR, mode: S_IFCHR | 0o660, gid: DISK_GID }]);
}
