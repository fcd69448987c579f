/**
 * One configured repository: classify the path, then serve from the store, the upstream
 * (one flight per object however many clients wait), or a derived signature view.
 */
import type { RepositoryConfig } from '../config/load-config.js';
import { isMirrorError, MirrorError, redactUrl } from '../errors.js';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { encodePath } from '../formats/encode-path.js';
import type { Classified, FirstUseResult, FormatRepository, ObjectRef, PathPolicy, VerifyContext } from '../formats/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/open-store.js';
import type { ObjectEntry, TempBlob } from '../store/types.js';
import { SingleFlight } from '../upstream/single-flight.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { UpstreamResult } from '../upstream/types.js';
import type { DerivedSignatures } from './derived-signatures.js';
import type { DerivedViews } from './derived-views.js';
import { contentKey, loadDerived, type DerivedBytes } from './derived-blob.js';
import { FollowedDownloads, type FollowedDownload } from './followed-downloads.js';
import { NotFoundCache } from './not-found-cache.js';
import type { PassedThrough, Served, StaleReason } from './served.js';
import { RecentAuxiliary } from './recent-auxiliary.js';
import { SignatureMaterial } from './signature-material.js';
import type { RepositoryTrust } from './signing-ledger.js';
import { assertFitsInMemory, currentExpectations, verifyObject, type BytesToVerify, type ObjectVerification } from './verify-object.js';
import { mapLimit } from '../formats/map-limit.js';
import { primaryNeeded } from './primary-needed.js';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Failures after which a cached copy is better than an error. */
const STALE_FALLBACK_CODES = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_BAD_STATUS', 'UPSTREAM_TRUNCATED', 'UPSTREAM_TOO_MANY_REDIRECTS']);

export interface MirrorRepositoryDeps {
  store: Store;
  signatures: DerivedSignatures;
  views: DerivedViews;
  publicUrl: string;
  pathPolicy: PathPolicy;
  metrics: Metrics;
  log: Logger;
  offline: boolean;
  /** The clock cache freshness is judged by (ms since epoch): Date.now, or one tests advance instead of sleeping. */
  now: () => number;
  /** The repository's trust epoch today (trust-epoch.ts) and how it anchors unpinned trust. */
  trust: { epoch: string; anchor: 'pinned' | 'first-use' };
}

/** The most `requiresVouched` objects tried for one object (Debian: the package lists of the suites served). */
const VOUCHED_REQUIREMENTS = 64;
/** Files served with a new index revision (its companions) fetched at once. */
const COMPANION_CONCURRENCY = 6;
/**
 * A cold download of at most this size is also kept in memory while it is verified, then served
 * from the memory cache, instead of being read back from its file twice (most npm tarballs and
 * small packuments). Bounds the memory per download in flight.
 */
const KEEP_IN_MEMORY = 128 * 1024;

export class MirrorRepository {
  readonly config: RepositoryConfig;
  readonly format: FormatRepository;
  readonly #upstream: UpstreamClient | undefined;
  readonly #deps: MirrorRepositoryDeps;
  readonly #flights = new SingleFlight<string, Served>();
  readonly #downloads = new FollowedDownloads();
  readonly #log: Logger;
  readonly #material: SignatureMaterial;
  readonly #recentAuxiliary: RecentAuxiliary;
  readonly #missCache: NotFoundCache;

  constructor(config: RepositoryConfig, format: FormatRepository, upstream: UpstreamClient | undefined, deps: MirrorRepositoryDeps) {
    this.config = config;
    this.format = format;
    this.#upstream = upstream;
    this.#deps = deps;
    this.#log = deps.log.child({ repo: config.name, format: config.format });
    this.#material = new SignatureMaterial(deps.store, config.name, config.upstream);
    this.#recentAuxiliary = new RecentAuxiliary(config.metadataTtlMs, deps.now);
    this.#missCache = new NotFoundCache(config.notFoundTtl, deps.now);
  }

  get name(): string {
    return this.config.name;
  }

  get pathPolicy(): PathPolicy {
    return this.#deps.pathPolicy;
  }

  /** What this repository trusts today: everything served as verified was verified under it. */
  get trust(): RepositoryTrust {
    return { repository: this.name, mode: this.config.verify, epoch: this.#deps.trust.epoch };
  }

  /** `follow`: the client can take a cold object while it downloads (a GET without Range). */
  async serve(path: string, request: ServeRequest = {}): Promise<Served | PassedThrough> {
    const served = await this.#serveClassified(this.format.classify(path, request), path, request);
    if ('passThrough' in served) return served;
    const extra = this.format.responseHeaders?.(path, served);
    return extra ? { ...served, headers: { ...served.headers, ...extra } } : served;
  }

  async #serveClassified(c: Classified, path: string, request: ServeRequest): Promise<Served | PassedThrough> {
    switch (c.kind) {
      case 'object':
        return this.fetchObject(c, request);
      case 'view': {
        const { made, from } = await this.#view(c.of, c.view, path, c.transient === true);
        return this.#bytes(made, c.contentType, from);
      }
      case 'signature': {
        const subject = this.format.classify(c.of, request);
        if (subject.kind !== 'object') throw this.#notFound(path, `${c.of} is not an object this repository serves`);
        const obj = await this.fetchObject(subject);
        if (!obj.verification) throw new MirrorError('INTERNAL', `${subject.path} was served without a verification record`, { repository: this.name, object: path });
        const sig = await this.#deps.signatures.get(this.trust, obj.verification, subject.path, c.scheme, obj.sha256);
        return this.#bytes(sig, c.contentType, obj);
      }
      case 'indexed': {
        const idx = await this.fetchObject(c.index);
        // Blobs are content-addressed, so these are the bytes just served even if a flight replaced the entry since.
        const bytes = await this.#readBlob(c.index.path, idx.sha256, idx.size);
        const inner = c.resolve({
          path: c.index.path, sha256: idx.sha256, bytes, expectations: (p) => currentExpectations(this.#deps.store.index, this.trust, p),
        });
        if (inner.kind === 'indexed') throw new MirrorError('INTERNAL', `${path} resolves to another indexed object`, { repository: this.name, object: path });
        return this.#serveClassified(inner, path, request);
      }
      case 'generated': {
        const bytes = c.generate();
        return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength, contentType: c.contentType, bytes, cache: 'hit' };
      }
      case 'content': {
        const known = await loadDerived(this.#deps.store, contentKey(this.name, c.sha256));
        if (!known) return this.#serveClassified(c.otherwise, path, request);
        this.#count('hit');
        return { sha256: known.sha256, size: known.bytes.byteLength, contentType: c.contentType(known.bytes), bytes: known.bytes, cache: 'hit' };
      }
      case 'pass-through':
        return { passThrough: this.#requireUpstream(path).passThroughUrl(c.url) };
      case 'not-found':
        throw this.#notFound(path, c.reason);
      default:
        return assertNever(c);
    }
  }

  /** A view of an object: the object is fetched (and verified) first, the view made once per revision. */
  async #view(of: ObjectRef, view: string, path: string, transient = false): Promise<{ made: DerivedBytes; from: Served }> {
    const from = await this.fetchObject(of);
    const entry = this.#deps.store.index.getObject(this.name, of.path);
    if (!entry || entry.sha256 !== from.sha256) throw new MirrorError('INTERNAL', `${of.path} changed while its view was made`, { repository: this.name, object: path });
    const made = await this.#deps.views.get({
      trust: this.trust, repositoryUrl: this.#repositoryUrl, format: this.format, view, entry, transient, maxInMemorySize: this.config.maxInMemorySize,
      derivedOf: async (ref, inner) => (await this.#view(ref, inner, ref.path)).made,
    });
    return { made, from };
  }

  /** Serves an object from the store when fresh, else from the upstream through verification. */
  async fetchObject(ref: ObjectRef, request: { follow?: boolean } = {}): Promise<Served> {
    const { path } = ref;
    const entry = this.#deps.store.index.getObject(this.name, path);
    // The hot cache answers most hits without a promise; only a cold blob costs a file check.
    if (entry && (this.#deps.store.hot.has(entry.sha256) || (await this.#deps.store.blobs.has(entry.sha256)))) {
      if (this.#isCurrent(entry) && this.#isFresh(ref, entry)) return this.#served(entry, 'hit');
      if (this.#deps.offline && this.#isCurrent(entry)) return this.#served(entry, 'offline', 'offline');
    } else if (this.#deps.offline) {
      this.#count('offline');
      throw new MirrorError('OFFLINE_MISS', `The mirror is offline and ${path} is not cached`, { repository: this.name, object: path });
    } else {
      const missed = this.#missCache.recent(path);
      if (missed !== undefined) {
        this.#count('not-found-cached');
        throw new MirrorError('UPSTREAM_NOT_FOUND', `The upstream has no ${path} (HTTP ${missed}, remembered for notFoundTtl)`, { repository: this.name, object: path });
      }
    }
    if (this.#deps.store.replica) throw primaryNeeded(this.name, path);
    // Prerequisites are fetched outside this object's flight: verifying them may fetch this very
    // object (an RPM primary takes its packages as companions), which would otherwise wait on itself.
    const prerequisites = this.#fetchPrerequisites(ref);
    if (ref.downloadWithRequires) {
      // The flight awaits them before it looks at the bytes; until then nothing else does.
      prerequisites.catch(() => undefined);
    } else {
      await prerequisites;
    }
    const flight = this.#flights.run(path, () => this.#refresh(ref, prerequisites));
    if (!request.follow || !ref.namedBySha256) return flight;
    const download = await this.#downloads.whenStarted(path, flight);
    return download ? this.#following(ref, ref.namedBySha256, download) : flight;
  }

  /** A cold object served as it downloads; its stream ends only once the flight has verified and stored it. */
  #following(ref: ObjectRef, sha256: string, download: FollowedDownload): Served {
    return {
      sha256, size: download.contentLength, contentType: ref.contentType ?? download.contentType ?? DEFAULT_CONTENT_TYPE,
      cache: 'miss', body: download.temp.readGrowing(),
    };
  }

  /** Indexes that vouch for an object are verified before the object is fetched, so it has something to match. */
  async #fetchPrerequisites(ref: ObjectRef): Promise<void> {
    if ((!ref.requires?.length && !ref.requiresVouched) || this.config.verify === 'off') return;
    const vouched = (): boolean => currentExpectations(this.#deps.store.index, this.trust, ref.path).length > 0;
    if (vouched()) return;
    for (const req of ref.requires ?? []) await this.fetchObject(req);
    if (!ref.requiresVouched) return;
    const { mark, ref: refOf } = ref.requiresVouched;
    let failed: unknown;
    for (const path of this.#deps.store.index.vouchedPaths(this.name, this.trust.epoch, mark, VOUCHED_REQUIREMENTS)) {
      if (vouched()) return;
      try {
        await this.fetchObject(refOf(path));
      } catch (err) {
        // Another one may vouch for the object: the failure is the answer only if none does.
        failed = err;
        const reason = isMirrorError(err) ? `${err.code}: ${err.message}` : String(err);
        this.#log.warn({ object: ref.path, requirement: path, err: reason }, 'a vouched requirement could not be fetched');
      }
    }
    if (failed !== undefined && !vouched()) throw failed;
  }

  /** `prerequisites`: the fetch of what vouches for this object, awaited before any bytes of it are used. */
  async #refresh(ref: ObjectRef, prerequisites: Promise<void>): Promise<Served> {
    const { path } = ref;
    const { index } = this.#deps.store;
    // Another flight may have finished between our lookup and this one starting.
    const found = index.getObject(this.name, path);
    let usable = found && (await this.#blobPresent(found)) ? found : undefined;
    if (usable && this.#isCurrent(usable) && this.#isFresh(ref, usable)) return this.#served(usable, 'hit');
    // Only a download may overlap them: stored bytes are re-verified or served stale after them.
    if (usable) await prerequisites;
    if (usable && !this.#isCurrent(usable)) {
      // Verified under trust that is no longer configured: re-verify the stored bytes under today's
      // (no refetch when the stored material allows it); what no longer verifies is not used at all.
      usable = await this.#reestablish(ref, usable);
      if (usable && this.#isFresh(ref, usable)) return this.#served(usable, 'revalidated');
    }
    if (this.#deps.offline) {
      if (usable) return this.#served(usable, 'offline', 'offline');
      throw new MirrorError('OFFLINE_MISS', `The mirror is offline and ${path} does not verify under today's trust without the upstream`, { repository: this.name, object: path });
    }
    try {
      return await this.#fetchAndVerify(ref, usable, prerequisites);
    } catch (err) {
      if (usable && isMirrorError(err) && STALE_FALLBACK_CODES.has(err.code)) {
        this.#log.warn({ code: err.code, object: path, err: err.message }, 'upstream failed; serving the cached copy stale');
        return this.#served(usable, 'stale', 'upstream-unavailable');
      }
      throw err;
    }
  }

  async #fetchAndVerify(ref: ObjectRef, entry: ObjectEntry | undefined, prerequisites: Promise<void>): Promise<Served> {
    try {
      return await this.#fetchVerifyCommit(ref, entry, prerequisites);
    } finally {
      this.#downloads.ended(ref.path);
    }
  }

  /** Lets clients follow a download of announced length (see FollowedDownloads). */
  #followable(path: string) {
    return (d: { temp: TempBlob; contentLength: number | undefined; contentType: string | undefined }): void => {
      if (d.contentLength !== undefined) this.#downloads.started(path, { temp: d.temp, contentLength: d.contentLength, contentType: d.contentType });
    };
  }

  async #fetchVerifyCommit(ref: ObjectRef, entry: ObjectEntry | undefined, prerequisites: Promise<void>): Promise<Served> {
    const { path, mutable, contentType } = ref;
    const upstream = this.#requireUpstream(path);
    const { index, blobs } = this.#deps.store;
    const validators = entry ? { etag: entry.etag, lastModified: entry.lastModified } : undefined;
    if (entry && ref.revalidateByHead) {
      const head = await upstream.head(ref.upstreamPath ?? encodePath(path), ref.revalidateByHead, ref.accept ? { accept: ref.accept } : {});
      if (head.kind === 'present' && head.value === `sha256:${entry.sha256}`) return this.#confirmed(ref, entry, {});
    }
    const request = {
      path: ref.upstreamPath ?? encodePath(path), validators, maxBytes: this.config.maxObjectSize, keepInMemory: KEEP_IN_MEMORY,
      ...(ref.accept ? { accept: ref.accept } : {}),
      // A redirect to a CDN is allowed for bytes the mirror checks against their name (see OriginPolicy).
      ...(ref.namedBySha256 ? { namedBySha256: ref.namedBySha256 } : {}),
      ...(ref.namedBySha256 ? { onBody: this.#followable(path) } : {}),
    };
    let result: UpstreamResult;
    try {
      result = await upstream.fetch(request, () => blobs.createTemp());
      for (const fallback of ref.upstreamFallbacks ?? []) {
        if (result.kind !== 'absent') break;
        result = await upstream.fetch({ ...request, path: fallback }, () => blobs.createTemp());
      }
    } catch (err) {
      // The download failed (every attempt): from now on nobody joins this flight or follows its
      // aborted download, so a client retrying once its stream was cut starts afresh.
      this.#flights.release(path);
      this.#downloads.ended(path);
      await prerequisites; // Their failure comes first, as if they had been fetched first.
      throw err;
    }
    // A download that overlapped its prerequisites (ObjectRef.downloadWithRequires) is looked at only
    // once they are in: their failure is this object's (as if they had been fetched first), the
    // downloaded bytes are discarded, and the digests they vouch for are there to check against.
    try {
      await prerequisites;
    } catch (err) {
      if (result.kind === 'fetched') await result.body.abort(err);
      throw err;
    }
    switch (result.kind) {
      case 'absent':
        if (!entry) this.#missCache.remember(path, result.status);
        throw new MirrorError('UPSTREAM_NOT_FOUND', `The upstream has no ${path} (HTTP ${result.status})`, { repository: this.name, object: path });
      case 'not-modified':
        if (!entry) throw new MirrorError('UPSTREAM_BAD_STATUS', `The upstream answered 304 to an unconditional request for ${path}`, { repository: this.name, object: path });
        return this.#confirmed(ref, entry, { etag: result.etag, lastModified: result.lastModified });
      case 'fetched':
        break;
      default:
        return assertNever(result);
    }
    const temp = result.body;
    try {
      const stat = await temp.finish();
      // The copy in memory is used only if it is the bytes the file holds.
      const inMemory = result.bytes && createHash('sha256').update(result.bytes).digest('hex') === stat.sha256 ? result.bytes : undefined;
      if (entry && entry.sha256 === stat.sha256) {
        // The upstream sent the bytes we hold (it ignored our validators).
        return await this.#confirmed(ref, entry, { etag: result.etag, lastModified: result.lastModified });
      }
      const verification = await this.#verify(path, { sha256: stat.sha256, size: stat.size, read: () => (inMemory ? Readable.from([inMemory]) : temp.read()) }, 'upstream');
      if (!verification.ok) {
        this.#deps.metrics.verificationFailures.inc({ repository: this.name, code: verification.code });
        this.#log.error({ code: verification.code, object: path, upstream: redactUrl(result.url), sha256: stat.sha256 }, verification.reason);
        if (entry) {
          this.#log.warn({ object: path, sha256: entry.sha256 }, 'serving the previously verified copy');
          return this.#served(entry, 'stale', verification.code === 'ROLLBACK' ? 'rollback' : 'verification-failed');
        }
        throw new MirrorError(verification.code, `Refused ${path}: ${verification.reason}`, { repository: this.name, object: path, upstream: redactUrl(result.url) });
      }
      if (verification.record.status === 'unverified' && this.config.verify === 'warn') {
        this.#log.warn({ code: 'VERIFICATION_FAILED', object: path, reason: verification.record.reason }, 'serving unverified upstream bytes (verify: warn)');
      }
      if (verification.companions.length > 0) {
        try {
          // Fetched side by side: a Release lists a dozen index files, each a round trip upstream.
          await mapLimit(verification.companions, COMPANION_CONCURRENCY, (companion) => this.fetchObject(companion));
        } catch (err) {
          const reason = isMirrorError(err) ? `${err.code}: ${err.message}` : String(err);
          this.#log.warn({ object: path, sha256: stat.sha256, err: reason }, 'a file served with this revision is not available; keeping the previous revision');
          if (entry) return this.#served(entry, 'stale', 'companions-unavailable');
          throw err;
        }
      }
      await temp.commit();
      const stored: ObjectEntry = {
        repository: this.name,
        path,
        sha256: stat.sha256,
        size: stat.size,
        contentType: contentType ?? result.contentType,
        etag: result.etag,
        lastModified: result.lastModified,
        checkedAt: this.#deps.now(),
        mutable,
        verification: verification.record,
      };
      index.putObject(stored);
      // Committed and indexed: the server sends them from memory instead of opening the blob.
      if (inMemory) this.#deps.store.hot.set(stat.sha256, inMemory);
      if (ref.retain) index.trimObjects(this.name, ref.retain.group, ref.retain.keep);
      await this.#material.keep(stat.sha256, verification.material);
      return this.#served(stored, 'miss');
    } catch (err) {
      // Refused: from now on nobody joins this flight or follows its download (a client that retries
      // once its stream was cut starts afresh), while followers see why (their streams end short of
      // the last byte) and the temp file is removed.
      this.#flights.release(path);
      this.#downloads.ended(path);
      await temp.abort(err);
      throw err;
    } finally {
      await temp.abort();
    }
  }

  /**
   * The upstream confirmed the stored bytes (304, an unchanged digest, identical bytes): their
   * verification is run again, since time alone can end it (Valid-Until, key expiry), and only
   * then is the confirmation recorded.
   */
  async #confirmed(ref: ObjectRef, entry: ObjectEntry, validators: { etag?: string; lastModified?: string }): Promise<Served> {
    // The upstream's signature material is fetched anew too: it may have been withdrawn.
    const again = await this.#verify(ref.path, this.#storedBytes(entry), 'upstream', entry.verification.revision);
    if (!again.ok) {
      // The upstream's new signature material does not verify the bytes. If what was kept with them
      // still does today (only the upstream's answer is wrong), they stay served, marked stale; if
      // that fails too (time ended it: Valid-Until, key expiry), they are refused.
      const kept = await this.#verify(ref.path, this.#storedBytes(entry), 'stored-first', entry.verification.revision).catch(() => undefined);
      if (kept?.ok && kept.record.status === 'verified') {
        this.#deps.metrics.verificationFailures.inc({ repository: this.name, code: again.code });
        this.#log.error({ code: again.code, object: ref.path, sha256: entry.sha256 }, `the upstream's signature material no longer verifies the served copy: ${again.reason}; serving it stale`);
        return this.#served(entry, 'stale', 'verification-failed');
      }
      this.#refusedStored(entry, again);
      throw new MirrorError(again.code, `Refused ${ref.path}: ${again.reason}`, { repository: this.name, object: ref.path });
    }
    await this.#material.keep(entry.sha256, again.material);
    const confirmed: ObjectEntry = {
      ...entry, verification: again.record, checkedAt: this.#deps.now(),
      ...(validators.etag ? { etag: validators.etag } : {}), ...(validators.lastModified ? { lastModified: validators.lastModified } : {}),
    };
    this.#deps.store.index.putObject(confirmed);
    return this.#served(confirmed, 'revalidated');
  }

  /**
   * Re-verifies a stored object under today's trust epoch (after a mode, trust or upstream change)
   * and records the new verification; `undefined` when it no longer verifies, or when the files
   * served with it (companions) cannot be re-established.
   */
  async #reestablish(ref: ObjectRef, entry: ObjectEntry): Promise<ObjectEntry | undefined> {
    let again: ObjectVerification & { material: Map<string, Buffer> };
    try {
      again = await this.#verify(ref.path, this.#storedBytes(entry), 'stored-first', entry.verification.revision);
      if (again.ok) for (const companion of again.companions) await this.fetchObject(companion);
      if (again.ok) await this.#material.keep(entry.sha256, again.material);
    } catch (err) {
      const reason = isMirrorError(err) ? `${err.code}: ${err.message}` : String(err);
      this.#log.warn({ object: ref.path, sha256: entry.sha256, err: reason }, 'the stored copy could not be re-verified under today\'s trust');
      return undefined;
    }
    if (!again.ok) {
      this.#refusedStored(entry, again);
      return undefined;
    }
    const updated: ObjectEntry = { ...entry, verification: again.record };
    this.#deps.store.index.putObject(updated);
    this.#log.info({ object: ref.path, sha256: entry.sha256, status: again.record.status }, 're-verified the stored copy under today\'s trust');
    return updated;
  }

  #refusedStored(entry: ObjectEntry, refusal: { code: string; reason: string }): void {
    this.#deps.metrics.verificationFailures.inc({ repository: this.name, code: refusal.code });
    this.#log.error({ code: refusal.code, object: entry.path, sha256: entry.sha256 }, `the stored copy no longer verifies: ${refusal.reason}`);
  }

  /**
   * Verifies bytes under today's trust. `material`: where the upstream's signature material comes
   * from — the upstream, or first what was kept with these bytes when they last verified. What was
   * fetched comes back in `material` so the caller keeps it once the bytes are committed.
   */
  async #verify(
    path: string, object: BytesToVerify, material: 'upstream' | 'stored-first', served?: ObjectEntry['verification']['revision'],
  ): Promise<ObjectVerification & { material: Map<string, Buffer> }> {
    const revision = served ?? this.#deps.store.index.getObject(this.name, path)?.verification.revision;
    const recent = this.#recentAuxiliary.session((auxPath, maxBytes, options) => this.#requireUpstream(auxPath).fetchSmall(auxPath, maxBytes, options));
    const recording = this.#material.recording(recent.fetch);
    const fetchAuxiliary = material === 'upstream' ? recording.fetch : this.#material.storedFirst(object.sha256, recording.fetch);
    const outcome = await verifyObject({
      trust: this.trust, path, format: this.format, ctx: { ...this.#verifyContext(), fetchAuxiliary }, object, index: this.#deps.store.index,
      maxInMemorySize: this.config.maxInMemorySize,
      ...(revision ? { served: revision } : {}),
    });
    if (outcome.ok && outcome.record.status === 'verified') recent.keep();
    return { ...outcome, material: recording.fetched };
  }

  #storedBytes(entry: ObjectEntry): BytesToVerify {
    return { sha256: entry.sha256, size: entry.size, read: () => this.#deps.store.blobs.open(entry.sha256) };
  }

  #isCurrent(entry: ObjectEntry): boolean {
    return entry.verification.epoch === this.#deps.trust.epoch;
  }

  #isFresh(ref: ObjectRef, entry: ObjectEntry): boolean {
    return ref.pinned === true || !entry.mutable || this.#deps.now() - entry.checkedAt < this.config.metadataTtlMs;
  }

  #verifyContext(): VerifyContext {
    const { index } = this.#deps.store;
    return {
      repository: this.name,
      mode: this.config.verify,
      anchor: this.#deps.trust.anchor,
      firstUse: (name, material) => this.#firstUse(name, material),
      fetchAuxiliary: (auxPath, maxBytes, options) => this.#requireUpstream(auxPath).fetchSmall(auxPath, maxBytes, options),
      // Only digests a verified index vouched for under today's trust make bytes verified.
      expectations: (p) => currentExpectations(index, this.trust, p).filter((e) => e.verified),
      stored: (p) => {
        const e = this.#deps.store.index.getObject(this.name, p);
        return e ? { sha256: e.sha256, size: e.size, readAll: () => this.#readBlob(p, e.sha256, e.size) } : undefined;
      },
    };
  }

  #firstUse(name: string, material: Buffer): FirstUseResult {
    if (this.#deps.trust.anchor !== 'first-use') return { ok: false, reason: `repository ${this.name} does not trust on first use (anchor: first-use)` };
    const sha256 = createHash('sha256').update(material).digest('hex');
    const now = this.#deps.now();
    const pin = this.#deps.store.index.pinFirstUse(this.name, name, sha256, now);
    if (pin.sha256 === sha256) {
      if (pin.pinnedAt === now) this.#log.warn({ pin: name, sha256 }, 'pinned trust material on first use');
      return { ok: true, pinnedAt: pin.pinnedAt, firstSeen: pin.pinnedAt === now };
    }
    return {
      ok: false,
      reason: `${name} changed since it was pinned on first use (${new Date(pin.pinnedAt).toISOString()}: sha256 ${pin.sha256}, now ${sha256}); `
        + `if the change is expected, stop the mirror and run: countersign trust accept ${this.name} ${name}`,
    };
  }

  /** A stored object read whole, for a format to parse: bounded by limits.maxInMemorySize. */
  async #readBlob(path: string, sha256: string, size: number): Promise<Buffer> {
    const { hot, blobs } = this.#deps.store;
    const known = hot.get(sha256);
    if (known) return known;
    assertFitsInMemory(this.name, path, size, this.config.maxInMemorySize);
    const bytes = await blobs.readAll(sha256);
    hot.set(sha256, bytes);
    return bytes;
  }

  get #repositoryUrl(): string {
    return `${this.#deps.publicUrl}/${this.name}`;
  }

  #bytes(made: { bytes: Buffer; sha256: string }, contentType: string, from: Served): Served {
    return {
      sha256: made.sha256, size: made.bytes.byteLength, contentType, bytes: made.bytes, cache: from.cache,
      ...(from.stale ? { stale: from.stale } : {}),
      ...(from.verification ? { verification: from.verification } : {}),
    };
  }

  #requireUpstream(path: string): UpstreamClient {
    if (!this.#upstream) {
      throw new MirrorError('OFFLINE_MISS', `The mirror is offline and ${path} is not cached`, { repository: this.name, object: path });
    }
    return this.#upstream;
  }

  async #blobPresent(entry: ObjectEntry): Promise<boolean> {
    return this.#deps.store.hot.has(entry.sha256) || this.#deps.store.blobs.has(entry.sha256);
  }

  #served(entry: ObjectEntry, cache: Served['cache'], stale?: StaleReason): Served {
    this.#count(cache);
    return {
      sha256: entry.sha256,
      size: entry.size,
      contentType: entry.contentType ?? DEFAULT_CONTENT_TYPE,
      cache,
      verification: entry.verification,
      ...(entry.lastModified ? { lastModified: entry.lastModified } : {}),
      ...(stale ? { stale } : {}),
    };
  }

  #count(result: string): void {
    this.#deps.metrics.cache.inc({ repository: this.name, result });
  }

  #notFound(path: string, reason: string): MirrorError {
    return new MirrorError('NOT_FOUND', `${path}: ${reason}`, { repository: this.name, object: path });
  }
}

function assertNever(value: never): never {
  throw new MirrorError('INTERNAL', `Unhandled case ${JSON.stringify(value)}`);
}

export type { Classified };

export interface ServeRequest {
  accept?: string;
  /** The query string without "?" (Swift: `?swift-version=`, `identifiers?url=`); not part of the object name unless the format makes it so. */
  query?: string;
  /** The client takes the body as it downloads (GET without Range): see FollowedDownloads. */
  follow?: boolean;
}
