/** Derived bytes (views, signatures) by their derivation key: the index names the blob, memory keeps it hot. */
import type { Store } from '../store/open-store.js';
import type { DerivedKey } from '../store/types.js';
import { SingleFlight } from '../upstream/single-flight.js';
import { primaryNeeded } from './primary-needed.js';

export interface DerivedBytes {
  bytes: Buffer;
  sha256: string;
  /**
   * Made from, or signed over, something that did not verify (a view built on a package that did
   * not verify, a signature by the unverified key): nothing derived from these bytes may be signed
   * by the primary key.
   */
  unverified?: boolean;
}

export async function loadDerived(store: Store, key: DerivedKey): Promise<DerivedBytes | undefined> {
  const known = store.index.getDerived(key);
  if (!known) return undefined;
  const flag = known.unverified ? { unverified: true } : {};
  const hot = store.hot.get(known.sha256);
  if (hot) return { bytes: hot, sha256: known.sha256, ...flag };
  if (!(await store.blobs.has(known.sha256))) return undefined;
  const bytes = await store.blobs.readAll(known.sha256);
  store.hot.set(known.sha256, bytes);
  return { bytes, sha256: known.sha256, ...flag };
}

export async function saveDerived(store: Store, key: DerivedKey, bytes: Buffer, unverified = false): Promise<DerivedBytes> {
  const stat = await store.blobs.put(bytes);
  store.index.putDerived(key, stat.sha256, unverified);
  store.hot.set(stat.sha256, bytes);
  return { bytes, sha256: stat.sha256, ...(unverified ? { unverified } : {}) };
}

/** Bytes a repository published by digest (DeriveContext.putContent), served through `content` classifications. */
export function contentKey(repository: string, sha256: string): DerivedKey {
  return { repository, kind: 'content', subject: sha256, keyId: '' };
}

/** What a maker returns: the bytes, and whether they depend on anything unverified. */
export interface Made {
  bytes: Buffer;
  unverified: boolean;
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

  async get(key: DerivedKey, make: () => Promise<Made>, onMade?: (made: DerivedBytes) => void): Promise<DerivedBytes> {
    const known = await loadDerived(this.#store, key);
    if (known) return known;
    if (this.#store.replica) throw primaryNeeded(key.repository, key.subject);
    return this.#flights.run(`${key.repository}\0${key.kind}\0${key.subject}\0${key.keyId}`, async () => {
      const { bytes, unverified } = await make();
      const made = await saveDerived(this.#store, key, bytes, unverified);
      onMade?.(made);
      return made;
    });
  }
}
