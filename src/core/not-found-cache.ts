/**
 * Upstream misses remembered for `notFoundTtl`: clients that probe several repositories for every
 * artifact (Maven, Gradle, sbt) ask for many paths the upstream does not have, and each probe would
 * otherwise cost an upstream round trip. A 404/410 is remembered per path and answered from memory
 * until it expires; a bounded LRU, since probed paths are chosen by clients. Freshness reads the
 * repository's clock, like every other TTL. Nothing about a miss is ever signed or stored on disk.
 */
import { LRUCache } from 'lru-cache';

const MAX_ENTRIES = 50_000;

export class NotFoundCache {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #misses = new LRUCache<string, { at: number; status: number }>({ max: MAX_ENTRIES });

  constructor(ttlMs: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The upstream status of a miss remembered within the TTL, if any. */
  recent(path: string): number | undefined {
    if (this.#ttlMs <= 0) return undefined;
    const miss = this.#misses.get(path);
    if (!miss) return undefined;
    if (this.#now() - miss.at >= this.#ttlMs) {
      this.#misses.delete(path);
      return undefined;
    }
    return miss.status;
  }

  remember(path: string, status: number): void {
    if (this.#ttlMs > 0) this.#misses.set(path, { at: this.#now(), status });
  }

  forget(path: string): void {
    this.#misses.delete(path);
  }
}
