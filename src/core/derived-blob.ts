/** Derived bytes (views, signatures) by their derivation key: the index names the blob, memory keeps it hot. */
import type { Store } from '../store/open-store.js';
import type { DerivedKey } from '../store/types.js';

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
