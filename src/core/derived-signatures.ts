/**
 * Signatures the mirror makes over bytes it serves (a raw file's `.asc`). Each is made through
 * the signing ledger once per (subject digest, signing key, trust epoch), stored as a blob and
 * kept hot; rotation gives a new key id and a trust change a new epoch, so a new signature, while
 * old ones stay stored for nothing to serve.
 */
import type { SignatureScheme, VerificationRecord } from '../formats/types.js';
import type { Store } from '../store/open-store.js';
import { DerivedCache, type DerivedBytes } from './derived-blob.js';
import type { RepositoryTrust, SigningLedger } from './signing-ledger.js';

export class DerivedSignatures {
  readonly #store: Store;
  readonly #ledger: SigningLedger;
  readonly #cache: DerivedCache;

  constructor(store: Store, ledger: SigningLedger) {
    this.#store = store;
    this.#ledger = ledger;
    this.#cache = new DerivedCache(store);
  }

  async get(trust: RepositoryTrust, record: VerificationRecord, object: string, scheme: 'openpgp-detached', subject: string): Promise<DerivedBytes> {
    // The role is decided before the cache is consulted: a stored signature is served only while
    // today's trust would still make it.
    const role = this.#ledger.role(trust, record, object);
    const key = { repository: trust.repository, kind: scheme, subject, keyId: this.#ledger.cacheKey(trust, role) };
    return this.#cache.get(key, async () => {
      const made = await this.#ledger.sign(trust, record, { scheme, object, data: this.#store.blobs.open(subject), subjectSha256: subject });
      return { bytes: made.signature, unverified: made.role !== 'primary' };
    });
  }
}
