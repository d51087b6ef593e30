// The ext4 metadata block cache evicts least recently used clean blocks: a block an
// operation just fetched survives the fetches that follow, so its markDirty finds it (a
// 50,000-entry htree insert once failed with "markDirty of uncached block" after a commit
// had left every block clean).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockCache } from '../../src/kernel/fs/ext4/block-cache.js';

test('a block fetched again is not the next one evicted', () => {
  let reads = 0;
  const cache = new BlockCache(1024, () => { reads++; return Buffer.alloc(1024); });
  // Fill the cache with clean blocks, 0 first (the oldest by insertion).
  for (let b = 0; b < 8192; b++) cache.get(b);
  const held = cache.get(0);
  held[0] = 1;
  // Enough new blocks to force an eviction pass.
  for (let b = 10000; b < 10100; b++) cache.get(b);
  assert.doesNotThrow(() => cache.markDirty(0));
  assert.equal(cache.get(0), held, 'the same buffer, not a fresh read');
  assert.deepEqual(cache.takeDirty().map((d) => [d.block, d.data[0]]), [[0, 1]]);
  // Blocks not used since the fill were the ones evicted.
  const before = reads;
  cache.get(1);
  assert.equal(reads, before + 1, 'block 1 (least recently used) was evicted');
});
