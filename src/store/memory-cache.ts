/** Hot derived bytes (signatures, rewritten indexes) kept in memory, keyed by blob digest. */
import { LRUCache } from 'lru-cache';

export type MemoryCache = LRUCache<string, Buffer>;

export function createMemoryCache(maxBytes: number): MemoryCache {
  return new LRUCache<string, Buffer>({
    maxSize: Math.max(1, maxBytes),
    sizeCalculation: (value) => Math.max(1, value.byteLength),
    // Big derived documents (8 MB+ packuments) are exactly what must stay hot; a quarter of the
    // cache per entry keeps one of them from evicting everything else.
    maxEntrySize: Math.max(1, Math.floor(maxBytes / 4)),
  });
}
