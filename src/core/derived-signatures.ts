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
import { SingleFlight } from '../upstream/single-flight.js';

export class DerivedSignatures {
  readonly #store: Store;
  readonly #keys: KeyStore;
  readonly #metrics: Metrics;
  readonly #flights = new SingleFlight<string, { bytes: Buffer; sha256: string }>();

  constructor(store: Store, keys: KeyStore, metrics: Metrics) {
    this.#store = store;
    this.#keys = keys;
    this.#metrics = metrics;
  }

  async get(repository: string, object: string, scheme: SignatureScheme, subject: string): Promise<{ bytes: Buffer; sha256: string }> {
    const signer = this.#signer(scheme);
    const key = { repository, kind: scheme, subject, keyId: signer.id };
    const known = this.#store.index.getDerived(key);
    if (known) {
      const hot = this.#store.hot.get(known);
      if (hot) return { bytes: hot, sha256: known };
      if (await this.#store.blobs.has(known)) {
        const bytes = await this.#store.blobs.readAll(known);
        this.#store.hot.set(known, bytes);
        return { bytes, sha256: known };
      }
    }
    return this.#flights.run(`${repository}\0${scheme}\0${subject}\0${signer.id}`, async () => {
      let signature: string;
      try {
        signature = await signer.sign(this.#store.blobs.open(subject));
      } catch (err) {
        if (isMirrorError(err)) throw err;
        throw new MirrorError('KEY_ERROR', `Signing ${object} failed: ${(err as Error).message}`, { repository, object }, { cause: err });
      }
      const out = Buffer.from(signature, 'utf8');
      const stat = await this.#store.blobs.put(out);
      this.#store.index.putDerived(key, stat.sha256);
      this.#store.index.logSignature({ repository, object, subjectSha256: subject, keyId: signer.id, kind: scheme, signatureSha256: stat.sha256, at: Date.now() });
      this.#store.hot.set(stat.sha256, out);
      this.#metrics.signatures.inc({ repository, kind: scheme });
      return { bytes: out, sha256: stat.sha256 };
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
