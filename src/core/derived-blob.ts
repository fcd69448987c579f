/** Derived bytes (views, signatures) by their derivation key: the index names the blob, memory keeps it hot. */
import type { Store } from '../store/open-store.js';
import type { DerivedKey } from '../store/types.js';
import { SingleFlight } from '../upstream/single-flight.js';

export interface DerivedBytes {
  bytes: Buffer;
  sha256: string;
}

export async function loadDerived(store: Store, key: DerivedKey): Promise<DerivedBytes | undefined> {
  const known = store.index.getDerived(key);
  if (!known) return undefined;
  const hot = store.hot.get(known);
  if (hot) return { bytes: hot, sha256: known };
  if (!(await store.blobs.has(known))) return undefined;
  const bytes = await store.blobs.readAll(known);
  store.hot.set(known, bytes);
  return { bytes, sha256: known };
}

export async function saveDerived(store: Store, key: DerivedKey, bytes: Buffer): Promise<DerivedBytes> {
  const stat = await store.blobs.put(bytes);
  store.index.putDerived(key, stat.sha256);
  store.hot.set(stat.sha256, bytes);
  return { bytes, sha256: stat.sha256 };
}

/** Bytes a repository published by digest (DeriveContext.putContent), served through `content` classifications. */
export function contentKey(repository: string, sha256: string): DerivedKey {
  return { repository, kind: 'content', subject: sha256, keyId: '' };
}

/**
 * Derived bytes made at most once: a stored copy is served; otherwise one flight per key makes,
 * stores and returns them however many requests wait. `onMade` runs only for new bytes.
 */
export class DerivedCache {
  readonly #store: Store;
  readonly #flights = new SingleFlight<string, DerivedBytes>();

  constructor(store: Store) {
    this.#store = store;
  }

  async get(key: DerivedKey, make: () => Promise<Buffer>, onMade?: (made: DerivedBytes) => void): Promise<DerivedBytes> {
    const known = await loadDerived(this.#store, key);
    if (known) return known;
    return this.#flights.run(`${key.repository}\0${key.kind}\0${key.subject}\0${key.keyId}`, async () => {
      const made = await saveDerived(this.#store, key, await make());
      onMade?.(made);
      return made;
    });
  }
}
