/**
 * Views a format derives from verified upstream bytes (rewritten URLs, org signatures).
 * Each is made once per (upstream digest, view, signing context), stored as a blob and kept
 * hot; a new upstream revision, a key rotation or a trust change gives a new view, nothing is
 * edited in place. The signing context includes the verification record the view is made
 * from, so a re-verification that refuses more (or less) makes the view anew.
 */
import { createHash } from 'node:crypto';
import { MirrorError } from '../errors.js';
import { assertFitsInMemory } from './verify-object.js';
import type { DeriveContext, FormatRepository, ObjectRef } from '../formats/types.js';
import type { Store } from '../store/open-store.js';
import type { ObjectEntry } from '../store/types.js';
import { contentKey, DerivedCache, type DerivedBytes, type Made } from './derived-blob.js';
import type { RepositoryTrust, SigningLedger } from './signing-ledger.js';

interface ViewArgs {
  trust: RepositoryTrust;
  repositoryUrl: string;
  format: FormatRepository;
  view: string;
  entry: ObjectEntry;
  /** The largest object read whole to derive a view (limits.maxInMemorySize). */
  maxInMemorySize: number;
  /** Made anew for this request and not stored (see the `transient` view classification). */
  transient?: boolean;
  /** How the repository serves a view of another of its objects, with its unverified mark. */
  derivedOf(ref: ObjectRef, view: string): Promise<DerivedBytes>;
}

export class DerivedViews {
  readonly #store: Store;
  readonly #ledger: SigningLedger;
  readonly #cache: DerivedCache;

  constructor(store: Store, ledger: SigningLedger) {
    this.#store = store;
    this.#ledger = ledger;
    this.#cache = new DerivedCache(store);
  }

  async get(args: ViewArgs): Promise<DerivedBytes> {
    const { trust, view, entry } = args;
    if (args.transient) {
      const { bytes, unverified } = await this.#make(args, false);
      return { bytes, sha256: sha256Of(bytes), ...(unverified ? { unverified } : {}) };
    }
    const key = { repository: trust.repository, kind: `view:${view}`, subject: entry.sha256, keyId: this.#contextId(args) };
    return this.#cache.get(key, async () => {
      const first = await this.#make(args, false);
      if (!first.inputsUnverified || !first.signedPrimary) return first;
      // Something unverified came in after the primary key had signed part of the view: make it
      // again with every signature by the unverified key, so the view never mixes the two.
      return this.#make(args, true);
    });
  }

  /**
   * Makes the view once. Its inputs are unverified when its own object's record does not let the
   * primary key vouch, or when a view it is built on (derivedOf) is marked unverified; then every
   * signature it makes is by the unverified key (or refused under require), and the view is marked
   * unverified in turn, as it is when any signature in it is the unverified key's.
   */
  async #make(args: ViewArgs, startUnverified: boolean): Promise<Made & { inputsUnverified: boolean; signedPrimary: boolean }> {
    const { trust, entry } = args;
    let inputsUnverified = startUnverified || !this.#ledger.vouches(trust, entry.verification);
    let signedUnverified = false;
    let signedPrimary = false;
    const ctx: DeriveContext = {
      ...this.#context(args),
      sign: async (request) => {
        // Signatures are logged and counted once each: a view made on every request must not sign.
        if (args.transient) throw new MirrorError('INTERNAL', `The transient view ${args.view} of ${entry.path} may not sign`, { repository: trust.repository, object: entry.path });
        const made = await this.#ledger.sign(trust, entry.verification, request, { unverifiedInputs: inputsUnverified });
        if (made.role === 'primary') signedPrimary = true;
        else signedUnverified = true;
        return made;
      },
      derivedOf: async (ref, inner) => {
        const made = await args.derivedOf(ref, inner);
        if (made.unverified) inputsUnverified = true;
        return made;
      },
    };
    let upstreamBytes = this.#store.hot.get(entry.sha256);
    if (!upstreamBytes) {
      assertFitsInMemory(trust.repository, entry.path, entry.size, args.maxInMemorySize);
      upstreamBytes = await this.#store.blobs.readAll(entry.sha256);
    }
    const bytes = await args.format.derive!(ctx, args.view, {
      path: entry.path,
      sha256: entry.sha256,
      bytes: upstreamBytes,
      verification: entry.verification,
      checkedAt: entry.checkedAt,
    });
    return { bytes, unverified: inputsUnverified || signedUnverified, inputsUnverified, signedPrimary };
  }

  /** What a view depends on besides the upstream bytes: keys, trust, the record, where clients reach us. */
  #contextId(args: { trust: RepositoryTrust; repositoryUrl: string; entry: ObjectEntry }): string {
    const { status, by, rejected, anchor, reason } = args.entry.verification;
    const record = createHash('sha256').update(JSON.stringify({ status, by, rejected, anchor, reason })).digest('hex');
    return this.#ledger.cacheKey(args.trust, args.repositoryUrl, record);
  }

  /** Everything but `sign` and `derivedOf`, which #make binds to this object's record and inputs. */
  #context(args: ViewArgs): Omit<DeriveContext, 'sign' | 'derivedOf'> {
    const { trust } = args;
    return {
      repository: trust.repository,
      repositoryUrl: args.repositoryUrl,
      mode: trust.mode,
      putContent: async (bytes) => {
        const stat = await this.#store.blobs.put(bytes);
        this.#store.index.putDerived(contentKey(trust.repository, stat.sha256), stat.sha256);
        this.#store.hot.set(stat.sha256, bytes);
        return stat.sha256;
      },
    };
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
