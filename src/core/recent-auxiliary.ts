/**
 * Auxiliary upstream files (signatures, key lists) fetched within the last `metadataTtl`, shared
 * by every verification that asks for the same path: npm's one key list is not fetched again for
 * each packument, and concurrent verifications make one request. Freshness reads the repository's
 * clock, like every other TTL. Only what a verification that succeeded used is kept (a tampered
 * signature file must not be reused for the next attempt), in a bounded LRU.
 */
import { LRUCache } from 'lru-cache';
import type { SmallResult } from '../formats/types.js';
import { SingleFlight } from '../upstream/single-flight.js';

type Fetch = (path: string, maxBytes: number, options?: { accept?: string }) => Promise<SmallResult>;
type Fetched = Extract<SmallResult, { kind: 'fetched' }>;

const MAX_ENTRIES = 1024;
const MAX_BYTES = 16 * 1024 * 1024;

export class RecentAuxiliary {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new LRUCache<string, { result: Fetched; at: number }>({
    max: MAX_ENTRIES, maxSize: MAX_BYTES, sizeCalculation: (e) => Math.max(1, e.result.bytes.byteLength),
  });
  readonly #flights = new SingleFlight<string, SmallResult>();

  constructor(ttlMs: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** A fetch for one verification; `keep()` once it verified makes what it fetched reusable. */
  session(fetch: Fetch): { fetch: Fetch; keep(): void } {
    const fetched = new Map<string, { result: Fetched; at: number }>();
    return {
      fetch: async (path, maxBytes, options) => {
        const key = `${options?.accept ?? ''}\0${path}`;
        const kept = this.#entries.get(key);
        if (kept && this.#now() - kept.at < this.#ttlMs && kept.result.bytes.byteLength <= maxBytes) return kept.result;
        const result = await this.#flights.run(key, () => fetch(path, maxBytes, options));
        if (result.kind === 'fetched') fetched.set(key, { result, at: this.#now() });
        return result;
      },
      keep: () => {
        for (const [key, entry] of fetched) this.#entries.set(key, entry);
      },
    };
  }
}
