/**
 * Signatures the mirror makes over bytes it serves. Each is derived once per (subject
 * digest, signing key), stored as a blob, logged, and kept hot in memory; rotation gives a
 * new key id and so a new view, while the old one stays valid for old clients.
 */
import { isMirrorError, MirrorError } from '../errors.js';
import type { SignatureScheme } from '../formats/types.js';
import type { KeyStore } from '../keys/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/open-store.js';
import { DerivedCache, type DerivedBytes } from './derived-blob.js';

export class DerivedSignatures {
  readonly #store: Store;
  readonly #keys: KeyStore;
  readonly #metrics: Metrics;
  readonly #cache: DerivedCache;

  constructor(store: Store, keys: KeyStore, metrics: Metrics) {
    this.#store = store;
    this.#keys = keys;
    this.#metrics = metrics;
    this.#cache = new DerivedCache(store);
  }

  async get(repository: string, object: string, scheme: SignatureScheme, subject: string): Promise<DerivedBytes> {
    const signer = this.#signer(scheme);
    const key = { repository, kind: scheme, subject, keyId: signer.id };
    const sign = async (): Promise<Buffer> => {
      try {
        return Buffer.from(await signer.sign(this.#store.blobs.open(subject)), 'utf8');
      } catch (err) {
        if (isMirrorError(err)) throw err;
        throw new MirrorError('KEY_ERROR', `Signing ${object} failed: ${(err as Error).message}`, { repository, object }, { cause: err });
      }
    };
    return this.#cache.get(key, sign, (saved) => {
      this.#store.index.logSignature({ repository, object, subjectSha256: subject, keyId: signer.id, kind: scheme, signatureSha256: saved.sha256, at: Date.now() });
      this.#metrics.signatures.inc({ repository, kind: scheme });
    });
  }

  #signer(scheme: SignatureScheme): { id: string; sign(data: AsyncIterable<Uint8Array>): Promise<string> } {
    switch (scheme) {
      case 'openpgp-detached': {
        const s = this.#keys.openpgpSigner();
        return { id: s.id, sign: (data) => s.signDetached(data) };
      }
    }
  }
}
