/** Hot derived bytes (signatures, rewritten indexes) kept in memory, keyed by blob digest. */
import { LRUCache } from 'lru-cache';

export type MemoryCache = LRUCache<string, Buffer>;

export function createMemoryCache(maxBytes: number): MemoryCache {
  return new LRUCache<string, Buffer>({
    maxSize: Math.max(1, maxBytes),
    sizeCalculation: (value) => Math.max(1, value.byteLength),
    // A single entry larger than an eighth of the cache would evict everything hot.
    maxEntrySize: Math.max(1, Math.floor(maxBytes / 8)),
  });
}
