// Write-back cache of metadata blocks (bitmaps, inode tables, directory, extent-tree,
// indirect and xattr blocks). File data bypasses it and goes straight to the device; a
// freed block must be forgotten here so a stale copy is never written over new data.
// Dirty blocks leave only through flush(), which hands them to the volume's committer
// (straight to disk, or through the jbd2 journal first).

const MAX_CLEAN = 8192;

export class BlockCache {
  private readonly blocks = new Map<number, Buffer>();
  private readonly dirty = new Set<number>();

  constructor(
    readonly blockSize: number,
    private readonly readRaw: (block: number) => Buffer,
  ) {}

  /** The cached, mutable copy of a block; call markDirty after changing it. */
  get(block: number): Buffer {
    let b = this.blocks.get(block);
    if (b) {
      // Least recently used goes first: an operation holding a block it fetched (to change
      // it and markDirty it) must not see it evicted by the blocks it fetches next.
      this.blocks.delete(block);
      this.blocks.set(block, b);
    } else {
      b = this.readRaw(block);
      if (b.length !== this.blockSize) throw new Error(`short read of block ${block}`);
      this.evictSome();
      this.blocks.set(block, b);
    }
    return b;
  }

  /** A zero-filled block that will replace whatever the disk holds there. */
  fresh(block: number): Buffer {
    const b = Buffer.alloc(this.blockSize);
    this.evictSome();
    this.blocks.set(block, b);
    this.dirty.add(block);
    return b;
  }

  markDirty(block: number): void {
    if (!this.blocks.has(block)) throw new Error(`markDirty of uncached block ${block}`);
    this.dirty.add(block);
  }

  /** Drop a block (freed): its cached contents, dirty or not, must never reach disk. */
  forget(block: number): void {
    this.blocks.delete(block);
    this.dirty.delete(block);
  }

  /** If file data was written to a block directly, any cached copy is stale. */
  invalidate(block: number): void {
    if (!this.dirty.has(block)) this.blocks.delete(block);
  }

  get dirtyCount(): number { return this.dirty.size; }

  /** Dirty blocks in ascending order; they count as clean after this. */
  takeDirty(): Array<{ block: number; data: Buffer }> {
    const out = [...this.dirty].sort((a, b) => a - b).map((block) => ({ block, data: this.blocks.get(block)! }));
    this.dirty.clear();
    return out;
  }

  private evictSome(): void {
    if (this.blocks.size < MAX_CLEAN + this.dirty.size) return;
    for (const k of this.blocks.keys()) {
      if (this.blocks.size < MAX_CLEAN / 2 + this.dirty.size) break;
      if (!this.dirty.has(k)) this.blocks.delete(k);
    }
  }
}
