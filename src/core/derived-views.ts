/**
 * Views a format derives from verified upstream bytes (rewritten URLs, org signatures).
 * Each is made once per (upstream digest, view, signing context), stored as a blob and kept
 * hot; a new upstream revision, a key rotation or a trust change gives a new view, nothing is
 * edited in place. The signing context includes the verification record the view is made
 * from, so a re-verification that refuses more (or less) makes the view anew.
 */
import { createHash } from 'node:crypto';
import type { DeriveContext, FormatRepository } from '../formats/types.js';
import type { Store } from '../store/open-store.js';
import type { ObjectEntry } from '../store/types.js';
import { contentKey, DerivedCache, type DerivedBytes } from './derived-blob.js';
import type { RepositoryTrust, SigningLedger } from './signing-ledger.js';

export class DerivedViews {
  readonly #store: Store;
  readonly #ledger: SigningLedger;
  readonly #cache: DerivedCache;

  constructor(store: Store, ledger: SigningLedger) {
    this.#store = store;
    this.#ledger = ledger;
    this.#cache = new DerivedCache(store);
  }

  async get(args: {
    trust: RepositoryTrust; repositoryUrl: string; format: FormatRepository; view: string; entry: ObjectEntry;
    /** How the repository serves a view of another of its objects (DeriveContext.derivedOf). */
    derivedOf: DeriveContext['derivedOf'];
  }): Promise<DerivedBytes> {
    const { trust, view, entry } = args;
    const key = { repository: trust.repository, kind: `view:${view}`, subject: entry.sha256, keyId: this.#contextId(args) };
    return this.#cache.get(key, async () => {
      const upstreamBytes = this.#store.hot.get(entry.sha256) ?? (await this.#store.blobs.readAll(entry.sha256));
      return args.format.derive!(this.#context(args), view, {
        path: entry.path,
        sha256: entry.sha256,
        bytes: upstreamBytes,
        verification: entry.verification,
        checkedAt: entry.checkedAt,
      });
    });
  }

  /** What a view depends on besides the upstream bytes: keys, trust, the record, where clients reach us. */
  #contextId(args: { trust: RepositoryTrust; repositoryUrl: string; entry: ObjectEntry }): string {
    const { status, by, rejected, anchor, reason } = args.entry.verification;
    const record = createHash('sha256').update(JSON.stringify({ status, by, rejected, anchor, reason })).digest('hex');
    return this.#ledger.cacheKey(args.trust, args.repositoryUrl, record);
  }

  #context(args: { trust: RepositoryTrust; repositoryUrl: string; entry: ObjectEntry; derivedOf: DeriveContext['derivedOf'] }): DeriveContext {
    const { trust, entry } = args;
    return {
      repository: trust.repository,
      repositoryUrl: args.repositoryUrl,
      mode: trust.mode,
      derivedOf: args.derivedOf,
      // Bound to this object's record: a format cannot sign on behalf of anything else.
      sign: (request) => this.#ledger.sign(trust, entry.verification, request),
      putContent: async (bytes) => {
        const stat = await this.#store.blobs.put(bytes);
        this.#store.index.putDerived(contentKey(trust.repository, stat.sha256), stat.sha256);
        this.#store.hot.set(stat.sha256, bytes);
        return stat.sha256;
      },
    };
  }
}
