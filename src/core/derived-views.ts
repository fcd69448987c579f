/**
 * Views a format derives from verified upstream bytes (rewritten URLs, org signatures).
 * Each is made once per (upstream digest, view, signing context), stored as a blob and kept
 * hot; a new upstream revision or a key rotation gives a new view, nothing is edited in place.
 */
import { createHash } from 'node:crypto';
import type { DeriveContext, FormatRepository } from '../formats/types.js';
import type { KeyStore } from '../keys/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/open-store.js';
import type { ObjectEntry, VerifyMode } from '../store/types.js';
import { SingleFlight } from '../upstream/single-flight.js';
import { loadDerived, saveDerived, type DerivedBytes } from './derived-blob.js';

export class DerivedViews {
  readonly #store: Store;
  readonly #keys: KeyStore;
  readonly #metrics: Metrics;
  readonly #flights = new SingleFlight<string, DerivedBytes>();

  constructor(store: Store, keys: KeyStore, metrics: Metrics) {
    this.#store = store;
    this.#keys = keys;
    this.#metrics = metrics;
  }

  async get(args: { repository: string; repositoryUrl: string; mode: VerifyMode; format: FormatRepository; view: string; entry: ObjectEntry }): Promise<DerivedBytes> {
    const { repository, view, entry } = args;
    const key = { repository, kind: `view:${view}`, subject: entry.sha256, keyId: this.#contextId(args.repositoryUrl) };
    const known = await loadDerived(this.#store, key);
    if (known) return known;
    return this.#flights.run(`${key.kind}\0${key.subject}\0${key.keyId}\0${repository}`, async () => {
      const upstreamBytes = this.#store.hot.get(entry.sha256) ?? (await this.#store.blobs.readAll(entry.sha256));
      const bytes = await args.format.derive!(this.#context(repository, args.repositoryUrl, args.mode), view, {
        path: entry.path,
        sha256: entry.sha256,
        bytes: upstreamBytes,
        verification: entry.verification,
      });
      return saveDerived(this.#store, key, bytes);
    });
  }

  /** Identifies what a view depends on besides the upstream bytes: the signing keys and where clients reach us. */
  #contextId(repositoryUrl: string): string {
    const ids = `${this.#keys.ecdsaSigner().id}|${this.#keys.openpgpSigner().id}|${repositoryUrl}`;
    return createHash('sha256').update(ids).digest('hex').slice(0, 32);
  }

  #context(repository: string, repositoryUrl: string, mode: VerifyMode): DeriveContext {
    const { index } = this.#store;
    return {
      repository,
      repositoryUrl,
      mode,
      ecdsaSignCached: (object, message) => {
        const signer = this.#keys.ecdsaSigner();
        const messageSha256 = createHash('sha256').update(message).digest('hex');
        const cached = index.getCachedSignature(signer.id, messageSha256);
        if (cached) return { keyId: signer.id, signature: cached };
        const signature = signer.sign(Buffer.from(message, 'utf8'));
        index.putCachedSignature(signer.id, messageSha256, signature);
        index.logSignature({
          repository, object, subjectSha256: messageSha256, keyId: signer.id, kind: 'ecdsa-message',
          signatureSha256: createHash('sha256').update(signature).digest('hex'), at: Date.now(),
        });
        this.#metrics.signatures.inc({ repository, kind: 'ecdsa-message' });
        return { keyId: signer.id, signature };
      },
    };
  }
}
