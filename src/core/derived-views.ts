/**
 * Views a format derives from verified upstream bytes (rewritten URLs, org signatures).
 * Each is made once per (upstream digest, view, signing context), stored as a blob and kept
 * hot; a new upstream revision or a key rotation gives a new view, nothing is edited in place.
 */
import { createHash } from 'node:crypto';
import { isMirrorError, MirrorError } from '../errors.js';
import type { DeriveContext, FormatRepository } from '../formats/types.js';
import type { KeyStore } from '../keys/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/open-store.js';
import type { ObjectEntry, VerifyMode } from '../store/types.js';
import { contentKey, DerivedCache, type DerivedBytes } from './derived-blob.js';

export class DerivedViews {
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

  async get(args: {
    repository: string; repositoryUrl: string; mode: VerifyMode; format: FormatRepository; view: string; entry: ObjectEntry;
    /** How the repository serves a view of another of its objects (DeriveContext.derivedOf). */
    derivedOf: DeriveContext['derivedOf'];
  }): Promise<DerivedBytes> {
    const { repository, view, entry } = args;
    const key = { repository, kind: `view:${view}`, subject: entry.sha256, keyId: this.#contextId(args.repositoryUrl) };
    return this.#cache.get(key, async () => {
      const upstreamBytes = this.#store.hot.get(entry.sha256) ?? (await this.#store.blobs.readAll(entry.sha256));
      const bytes = await args.format.derive!(this.#context(repository, args.repositoryUrl, args.mode, args.derivedOf), view, {
        path: entry.path,
        sha256: entry.sha256,
        bytes: upstreamBytes,
        verification: entry.verification,
        checkedAt: entry.checkedAt,
      });
      return bytes;
    });
  }

  /** Identifies what a view depends on besides the upstream bytes: the signing keys and where clients reach us. */
  #contextId(repositoryUrl: string): string {
    const ids = `${this.#keys.ecdsaSigner().id}|${this.#keys.openpgpSigner().id}|${this.#keys.rsaSigner().id}|${repositoryUrl}`;
    return createHash('sha256').update(ids).digest('hex').slice(0, 32);
  }

  #context(repository: string, repositoryUrl: string, mode: VerifyMode, derivedOf: DeriveContext['derivedOf']): DeriveContext {
    const { index } = this.#store;
    return {
      repository,
      repositoryUrl,
      mode,
      derivedOf,
      rsaSign: (object, data, hash) => {
        const signer = this.#keys.rsaSigner();
        const signature = signer.sign(data, hash);
        index.logSignature({
          repository, object, subjectSha256: createHash('sha256').update(data).digest('hex'), keyId: signer.id, kind: `rsa-${hash}`,
          signatureSha256: createHash('sha256').update(signature).digest('hex'), at: Date.now(),
        });
        this.#metrics.signatures.inc({ repository, kind: `rsa-${hash}` });
        return { keyId: signer.id, fileName: signer.fileName, signature };
      },
      putContent: async (bytes) => {
        const stat = await this.#store.blobs.put(bytes);
        index.putDerived(contentKey(repository, stat.sha256), stat.sha256);
        this.#store.hot.set(stat.sha256, bytes);
        return stat.sha256;
      },
      openpgpSignBinary: async (object, data) => {
        const signer = this.#keys.openpgpSigner();
        let signature: Buffer;
        try {
          signature = Buffer.from(await signer.signDetachedBinary(data, { deterministic: true }));
        } catch (err) {
          if (isMirrorError(err)) throw err;
          throw new MirrorError('KEY_ERROR', `Signing ${object} failed: ${(err as Error).message}`, { repository, object }, { cause: err });
        }
        index.logSignature({
          repository, object, subjectSha256: createHash('sha256').update(data).digest('hex'), keyId: signer.id, kind: 'openpgp-binary',
          signatureSha256: createHash('sha256').update(signature).digest('hex'), at: Date.now(),
        });
        this.#metrics.signatures.inc({ repository, kind: 'openpgp-binary' });
        return { keyId: signer.id, signature };
      },
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
      openpgpSign: async (object, kind, data) => {
        const signer = this.#keys.openpgpSigner();
        let signature: string;
        try {
          signature = kind === 'cleartext'
            ? await signer.signCleartext(typeof data === 'string' ? data : data.toString('utf8'))
            : await signer.signDetached(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        } catch (err) {
          if (isMirrorError(err)) throw err;
          throw new MirrorError('KEY_ERROR', `Signing ${object} failed: ${(err as Error).message}`, { repository, object }, { cause: err });
        }
        index.logSignature({
          repository, object, subjectSha256: createHash('sha256').update(data).digest('hex'), keyId: signer.id, kind: `openpgp-${kind}`,
          signatureSha256: createHash('sha256').update(signature).digest('hex'), at: Date.now(),
        });
        this.#metrics.signatures.inc({ repository, kind: `openpgp-${kind}` });
        return { keyId: signer.id, signature };
      },
    };
  }
}
