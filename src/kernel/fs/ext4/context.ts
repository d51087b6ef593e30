// What the pieces of the filesystem (allocator, mappings, directories, xattrs) need from
// the mounted volume. Volume implements it; the pieces never see the block device.
import type { BlockCache } from './block-cache.js';
import type { BitmapAllocator } from './bitmap-alloc.js';
import type { GroupDescTable } from './group-desc.js';
import type { Inode } from './inode.js';
import type { Superblock } from './superblock.js';

export interface Ext4Context {
  readonly sb: Superblock;
  readonly gdt: GroupDescTable;
  readonly blockSize: number;
  readonly cache: BlockCache;
  readonly alloc: BitmapAllocator;
  /** Checksum seed of the filesystem (metadata_csum), 0 when checksums are off. */
  readonly csumSeed: number;
  readonly metadataCsum: boolean;
  /** Persist an inode's fields (checksum refreshed) into its inode-table block. */
  writeInode(inode: Inode): void;
  /** Read whole data blocks straight from the device. */
  readBlocks(block: number, count: number): Buffer;
}

/** A run of a file's logical blocks: pblk 0 is a hole. */
export interface Mapping { pblk: number; len: number; unwritten: boolean }

/** Physical blocks given to logical blocks by allocate(); fresh = contents are zeros. */
export interface Allocated { lblk: number; pblk: number; len: number; fresh: boolean }

/** A file's logical → physical block map: extent tree or indirect blocks. */
export interface FileMap {
  /** Mapping of lblk and how many following blocks share it (at most max). */
  map(lblk: number, max: number): Mapping;
  /** Make [lblk, lblk+count) mapped and written; returns the runs in order. */
  allocate(lblk: number, count: number): Allocated[];
  /** Free every block at or after lblk. */
  truncate(lblk: number): void;
  /** Every block the map itself uses (index / indirect blocks), for accounting. */
  metaBlocks(): number[];
}
