// A small mkfs of our own, used when the host has no mke2fs: a journal-less ext2, or an
// ext4 with extents (no journal, no flex_bg, no checksums) — both layouts e2fsck accepts.
// Root and lost+found are created through Ext4Volume itself.
import { randomBytes } from 'node:crypto';
import { EINVAL } from '../../abi/errno.js';
import { Errno } from '../../errno.js';
import type { BlockBackend } from './device.js';
import { EXT4_EXTENTS_FL, Inode, S_IFDIR } from './inode.js';
import { EXT4_EXT_MAGIC } from './extents.js';
import {
  COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, EXT4_SUPER_MAGIC, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE,
  RO_COMPAT_DIR_NLINK, RO_COMPAT_EXTRA_ISIZE, RO_COMPAT_HUGE_FILE, RO_COMPAT_LARGE_FILE,
  RO_COMPAT_SPARSE_SUPER, SUPERBLOCK_OFFSET, Superblock,
} from './superblock.js';
import { Ext4Volume } from './volume.js';

export interface FormatOptions { type: 'ext2' | 'ext4'; label?: string; blockSize?: number; inodeRatio?: number }

const INODE_SIZE = 256;

export function formatVolume(dev: BlockBackend, opts: FormatOptions): void {
  const bs = opts.blockSize ?? (dev.size < 512 * 1024 * 1024 ? 1024 : 4096);
  const blocks = Math.floor(dev.size / bs);
  if (blocks < 1024) throw new Errno(EINVAL, 'mkfs: device too small (at least 1024 blocks)');
  const first = bs === 1024 ? 1 : 0;
  const bpg = bs * 8;
  let groups = Math.ceil((blocks - first) / bpg);
  const ratio = opts.inodeRatio ?? (bs === 1024 ? 4096 : 16384);
  const perBlockInodes = bs / INODE_SIZE;
  let ipg = Math.ceil(Math.ceil(blocks * bs / ratio) / groups / perBlockInodes) * perBlockInodes;
  ipg = Math.min(Math.max(ipg, 16), bs * 8);
  const itb = (ipg * INODE_SIZE) / bs;
  const gdtBlocks = Math.ceil((groups * 32) / bs);
  const sbRaw = Buffer.alloc(1024);
  const sb = new Superblock(sbRaw);
  const hasSuper = (g: number): boolean => sb.groupHasSuper(g);
  // The last group must hold its own metadata plus a little room, else drop it.
  const lastLen = blocks - first - (groups - 1) * bpg;
  if (groups > 1 && lastLen < 2 + itb + 50 + (hasSuper(groups - 1) ? 1 + gdtBlocks : 0)) groups--;
  const total = first + Math.min(blocks - first, groups * bpg);

  const ext4 = opts.type === 'ext4';
  const w32 = (o: number, v: number): void => { sbRaw.writeUInt32LE(v >>> 0, o); };
  const w16 = (o: number, v: number): void => { sbRaw.writeUInt16LE(v & 0xffff, o); };
  w32(0x0, ipg * groups);
  w32(0x4, total);
  w32(0x8, Math.floor(total * 0.05));
  w32(0x14, first);
  w32(0x18, Math.log2(bs) - 10);
  w32(0x1c, Math.log2(bs) - 10);
  w32(0x20, bpg);
  w32(0x24, bpg);
  w32(0x28, ipg);
  const now = Math.floor(Date.now() / 1000);
  w32(0x30, now);
  w16(0x36, 0xffff);
  w16(0x38, EXT4_SUPER_MAGIC);
  w16(0x3a, 1);
  w16(0x3c, 1);
  w32(0x40, now);
  w32(0x4c, 1);
  w32(0x54, 11);
  w16(0x58, INODE_SIZE);
  w32(0x5c, COMPAT_EXT_ATTR | COMPAT_DIR_INDEX);
  w32(0x60, INCOMPAT_FILETYPE | (ext4 ? INCOMPAT_EXTENTS : 0));
  w32(0x64, RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE |
    (ext4 ? RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE : 0));
  randomBytes(16).copy(sbRaw, 0x68);
  Buffer.from((opts.label ?? '').slice(0, 16)).copy(sbRaw, 0x78);
  randomBytes(16).copy(sbRaw, 0xec);
  sbRaw[0xfc] = 1; // half_md4
  w16(0x15c, 32);
  w16(0x15e, 32);
  w32(0x160, 1); // signed directory hash, as on x86
  w32(0x108, now);

  // Group layout: [superblock + GDT backup] block bitmap, inode bitmap, inode table.
  const gdt = Buffer.alloc(gdtBlocks * bs);
  let freeBlocks = 0;
  const zero = Buffer.alloc(bs);
  for (let g = 0; g < groups; g++) {
    const start = first + g * bpg;
    const len = Math.min(bpg, total - start);
    const meta = hasSuper(g) ? 1 + gdtBlocks : 0;
    const bb = start + meta;
    const ib = bb + 1;
    const it = ib + 1;
    let used = meta + 2 + itb;
    const bmap = Buffer.alloc(bs);
    const imap = Buffer.alloc(bs);
    for (let i = len; i < bs * 8; i++) bmap[i >> 3]! |= 1 << (i & 7);
    for (let i = ipg; i < bs * 8; i++) imap[i >> 3]! |= 1 << (i & 7);
    let usedInodes = 0;
    if (g === 0) {
      for (let i = 0; i < 10; i++) imap[i >> 3]! |= 1 << (i & 7);
      usedInodes = 10;
      used += 1; // root directory block
    }
    for (let i = 0; i < used; i++) bmap[i >> 3]! |= 1 << (i & 7);
    dev.write(bb * bs, bmap);
    dev.write(ib * bs, imap);
    for (let i = 0; i < itb; i++) dev.write((it + i) * bs, zero);
    const d = g * 32;
    gdt.writeUInt32LE(bb, d);
    gdt.writeUInt32LE(ib, d + 4);
    gdt.writeUInt32LE(it, d + 8);
    gdt.writeUInt16LE(len - used, d + 0xc);
    gdt.writeUInt16LE(ipg - usedInodes, d + 0xe);
    gdt.writeUInt16LE(g === 0 ? 1 : 0, d + 0x10);
    freeBlocks += len - used;
    if (g === 0) {
      // Root directory: "." and ".." in one block right after the inode table.
      const rootBlk = it + itb;
      const dirb = Buffer.alloc(bs);
      dirb.writeUInt32LE(2, 0); dirb.writeUInt16LE(12, 4); dirb[6] = 1; dirb[7] = 2; dirb.write('.', 8);
      dirb.writeUInt32LE(2, 12); dirb.writeUInt16LE(bs - 12, 16); dirb[18] = 2; dirb[19] = 2; dirb.write('..', 20);
      dev.write(rootBlk * bs, dirb);
      const root = new Inode(2, Buffer.alloc(INODE_SIZE));
      root.mode = S_IFDIR | 0o755;
      root.linksCount = 2;
      root.size = bs;
      root.blocksRaw = bs / 512;
      root.extraIsize = 32;
      const ts = { sec: now, nsec: 0 };
      root.atime = ts; root.mtime = ts; root.ctime = ts; root.crtime = ts;
      if (ext4) {
        root.flags = EXT4_EXTENTS_FL;
        const ib2 = root.iblock;
        ib2.writeUInt16LE(EXT4_EXT_MAGIC, 0); ib2.writeUInt16LE(1, 2); ib2.writeUInt16LE(4, 4);
        ib2.writeUInt32LE(0, 12); ib2.writeUInt16LE(1, 16); ib2.writeUInt32LE(rootBlk, 20);
      } else root.iblock.writeUInt32LE(rootBlk, 0);
      dev.write(it * bs + INODE_SIZE, root.raw);
    }
  }
  w32(0xc, freeBlocks);
  w32(0x10, ipg * groups - 10);
  for (let g = 0; g < groups; g++) {
    if (!hasSuper(g)) continue;
    const start = first + g * bpg;
    sbRaw.writeUInt16LE(g, 0x5a);
    dev.write(g === 0 ? SUPERBLOCK_OFFSET : start * bs, sbRaw);
    dev.write((start + 1) * bs, gdt);
  }
  dev.flush();
  // lost+found, as e2fsck expects it.
  const v = Ext4Volume.mount(dev);
  v.mkdir(v.rootIno, 'lost+found', 0o700, 0, 0);
  v.unmount();
}
