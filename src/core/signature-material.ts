/**
 * Upstream signature material fetched while an object was verified (a raw `<path>.asc`, npm's
 * registry keys, an OCI `.sig` manifest), kept beside the object it verified. When trust changes,
 * the stored object is re-verified against this material first, without asking the upstream (an
 * offline mirror can still re-verify); only what was never kept is fetched again.
 */
import { createHash } from 'node:crypto';
import { redactUrl } from '../errors.js';
import type { SmallResult } from '../formats/types.js';
import type { Store } from '../store/open-store.js';
import type { DerivedKey } from '../store/types.js';
import { loadDerived, saveDerived } from './derived-blob.js';

type Fetch = (path: string, maxBytes: number, options?: { accept?: string }) => Promise<SmallResult>;

export class SignatureMaterial {
  readonly #store: Store;
  readonly #repository: string;
  readonly #upstream: string;

  /** `upstream`: material is kept per upstream: another upstream's signature files say nothing about this one's paths. */
  constructor(store: Store, repository: string, upstream: string) {
    this.#store = store;
    this.#repository = repository;
    this.#upstream = createHash('sha256').update(redactUrl(upstream)).digest('hex').slice(0, 16);
  }

  /** Wraps an upstream fetch so that what it fetched can be kept with the object afterwards. */
  recording(fetch: Fetch): { fetch: Fetch; fetched: Map<string, Buffer> } {
    const fetched = new Map<string, Buffer>();
    return {
      fetched,
      fetch: async (path, maxBytes, options) => {
        const result = await fetch(path, maxBytes, options);
        if (result.kind === 'fetched') fetched.set(path, result.bytes);
        return result;
      },
    };
  }

  /** A fetch that answers from the material kept with `objectSha256`, and asks `fallback` for the rest. */
  storedFirst(objectSha256: string, fallback: Fetch): Fetch {
    return async (path, maxBytes, options) => {
      const kept = await loadDerived(this.#store, this.#key(objectSha256, path));
      if (kept && kept.bytes.byteLength <= maxBytes) return { kind: 'fetched', bytes: kept.bytes };
      return fallback(path, maxBytes, options);
    };
  }

  async keep(objectSha256: string, fetched: Map<string, Buffer>): Promise<void> {
    for (const [path, bytes] of fetched) await saveDerived(this.#store, this.#key(objectSha256, path), bytes);
  }

  #key(objectSha256: string, path: string): DerivedKey {
    return { repository: this.#repository, kind: `signature-material:${path}`, subject: objectSha256, keyId: this.#upstream };
  }
}
