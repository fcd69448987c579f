/**
 * The contract of a format adapter. Adapters are pure: they never import the HTTP server,
 * undici, SQLite or `fs`; what they need comes through the context objects below. The
 * core owns caching, single-flight, verification records, keys and errors.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { KeyStore } from '../keys/types.js';
import type { DigestAlgorithm, Expectation, KeptSignature, Revision, SmallResult, TrustAnchor, VerificationRecord, VerifyMode } from './verification.js';

export type * from './verification.js';

/** An upstream object as a format names it. */
export interface ObjectRef {
  /** Store key: the decoded path relative to the repository. */
  path: string;
  /** Revalidated after metadataTtl (indexes); immutable objects are fetched once. */
  mutable: boolean;
  contentType?: string;
  /**
   * URL path relative to the upstream base, already percent-encoded (default: `path` encoded per segment);
   * or an absolute URL on an origin the operator allowed (`redirects.allow`), fetched as if the upstream
   * had redirected there (no credentials).
   */
  upstreamPath?: string;
  /** Accept header for the upstream request. */
  accept?: string;
  /** Objects whose verification vouches for this one; the core fetches them first when nothing vouched yet. */
  requires?: ObjectRef[];
  /**
   * The object's download may start while its `requires` are still fetched and verified (its URL
   * does not depend on them): the bytes wait in a temp file and are checked, stored and served
   * only once the requirements are in, exactly as if they had been fetched first. Only for objects
   * the requirements never fetch in turn (as companions), which would otherwise wait on themselves.
   */
  downloadWithRequires?: boolean;
  /**
   * `requires` named by the store instead of the format: the objects a verified index vouched for
   * under today's trust whose path ends with `mark`, most recently vouched first, fetched (through
   * `ref`) one after another while nothing vouches for this object yet, one failing not stopping the
   * others. Lazily read package lists (Debian's) are found this way after a restart and in every
   * worker alike, as what vouched for them is stored, not remembered.
   */
  requiresVouched?: { mark: string; ref(path: string): ObjectRef };
  /**
   * The object's SHA-256 is its name (OCI blobs and manifests by digest): on a cold miss clients
   * may take the bytes as they download, since the mirror withholds the end until they match.
   */
  namedBySha256?: string;
  /**
   * A stale copy is first checked with a HEAD whose response header of this name holds the
   * current revision as `sha256:<hex>` (registries' Docker-Content-Digest): when it names the
   * stored bytes nothing is downloaded. Any other answer falls through to the GET.
   */
  revalidateByHead?: string;
  /** URL paths tried in order when the upstream has no `upstreamPath` (404/410), e.g. a by-hash file's plain name. */
  upstreamFallbacks?: string[];
  /**
   * Serve the stored verified copy whatever its age, fetching only when none is stored: for requests
   * that must match what clients were already served (a detached signature, a file a signed index names).
   */
  pinned?: boolean;
  /**
   * The object is named by parameters the client chooses (a tag list page's `n` and `last`): the
   * core keeps at most `keep` objects whose paths start with `group` (the least recently checked are
   * forgotten), so a client varying the parameters cannot grow the store without bound.
   */
  retain?: { group: string; keep: number };
}

/** The verified bytes of an index, handed to the format to pick the object a request names from it. */
export interface IndexedInput {
  path: string;
  sha256: string;
  /** Verified upstream bytes (still attacker-shaped: parse defensively). */
  bytes: Buffer;
  /** Digests that verified indexes vouched for a path. */
  expectations(path: string): Expectation[];
}

/** What a request path names, as the format sees it. */
export type Classified =
  /** Bytes fetched from the upstream, verified, cached, and served as they came. */
  | ({ kind: 'object' } & ObjectRef)
  /** A view the format derives from a verified upstream object (rewritten, re-signed), made once per revision. */
  | {
      kind: 'view'; of: ObjectRef; view: string; contentType: string;
      /**
       * Made on every request and never stored: for cheap unsigned views named by parameters the
       * client chooses (a tag list page), whose stored copies would grow with every new spelling.
       */
      transient?: boolean;
    }
  /** A signature the mirror makes over the served bytes of another object. */
  | { kind: 'signature'; scheme: 'openpgp-detached'; of: string; contentType: string }
  /** Bytes the format makes from the mirror's own state (e.g. its public keys). */
  | { kind: 'generated'; contentType: string; generate(): Buffer }
  /**
   * An object named by a verified index (a Debian index file named by its suite's Release): the core
   * serves `index` (revalidating it unless pinned), then the format picks the object from its bytes.
   */
  | { kind: 'indexed'; index: ObjectRef; resolve(index: IndexedInput): Classified }
  /**
   * Bytes this repository made earlier and published by digest (DeriveContext.putContent, e.g. the
   * payload and config blobs of an OCI signature image), looked up by SHA-256; `otherwise` when absent.
   */
  | { kind: 'content'; sha256: string; contentType(bytes: Buffer): string; otherwise: Classified }
  /**
   * Answered by the upstream as it is, with the client's query (NuGet search and autocomplete):
   * never verified, stored or signed. Only the upstream's own origin or one the operator listed in
   * `redirects.allow` is passed to; any other is refused.
   */
  | { kind: 'pass-through'; url: string }
  | { kind: 'not-found'; reason: string };

/**
 * Every kind of signature the mirror makes, each by the org key of the role the signing ledger
 * picks (primary for verified bytes, unverified otherwise):
 * - `openpgp-detached`: armored detached signature over the bytes (`.asc`, Release.gpg, repomd.xml.asc);
 * - `openpgp-cleartext`: a cleartext-signed text (InRelease);
 * - `openpgp-binary`: binary detached signature packet that depends on the key and bytes alone
 *   (dated at the key's creation, no salt notation), for signatures embedded in artifacts whose
 *   digests other indexes list (RPM header signatures);
 * - `ecdsa`: DER ECDSA with SHA-256 over the bytes (npm, cosign), made once per key and message;
 * - `rsa-sha1` / `rsa-sha256` / `rsa-sha512`: RSASSA-PKCS1-v1_5 (Alpine);
 * - `cms`: CMS SignedData (RFC 5652) by an org X.509 code-signing leaf (NuGet, Swift), see CmsSignOptions.
 */
export type SignatureScheme = 'openpgp-detached' | 'openpgp-cleartext' | 'openpgp-binary' | 'ecdsa' | 'rsa-sha1' | 'rsa-sha256' | 'rsa-sha512' | 'cms';

/** CMS SignedData (RFC 5652) by the org X.509 leaf of the role the ledger picks, chain included. */
export interface CmsSignOptions {
  /** Which org leaf signs: 'rsa' (NuGet: RSA ≥ 2048, SHA-256) or 'ecdsa' (Swift: P-256). */
  leaf: 'rsa' | 'ecdsa';
  /** true: eContent absent (a detached signature over `data`); false: `data` encapsulated. */
  detached: boolean;
  /**
   * 'none': no signed attributes at all (Swift cms-1.0.0: SignerInfo v1 issuer-and-serial, the
   * signature computed over the content itself, SHA-256 AlgorithmIdentifier without parameters);
   * otherwise these attributes, besides content-type and message-digest which the ledger adds.
   */
  signedAttributes: 'none' | CmsAttribute[];
  /**
   * Adds an ESS signing-certificate-v2 attribute (RFC 5035; SHA-256 of the signing leaf, with its
   * issuer and serial) naming whichever leaf the ledger picks: NuGet requires it.
   */
  signingCertificateV2?: boolean;
  /**
   * Countersign instead of sign (RFC 5652 §11.4): `data` is a DER ContentInfo (SignedData) with
   * exactly one SignerInfo; the ledger adds a countersignature over that SignerInfo's signature
   * value as its unsigned attribute 1.2.840.113549.1.9.6 (no content-type attribute, as §11.4
   * requires), adds the leaf's chain to `certificates`, and returns the whole ContentInfo. Every
   * other byte of the SignerInfo (signed attributes, signature) is kept as it was. `detached` is
   * ignored. Existing countersignatures are kept: remove them first where a format must.
   */
  countersign?: boolean;
}

/** A signed attribute of a CMS SignerInfo. */
export interface CmsAttribute {
  oid: string;
  /** DER of each AttributeValue. */
  values: Buffer[];
}

/** What a format asks the signing ledger to sign, always on behalf of the object being derived. */
export interface SignRequest {
  scheme: SignatureScheme;
  /** Names what is signed, for the signature log: a path, or e.g. `name@version`. */
  object: string;
  /** The bytes (or text, UTF-8) to sign. */
  data: Buffer | string;
  /**
   * The part of the derived object this signature vouches for, when its verification refused some
   * parts (VerificationRecord.rejected, e.g. one npm version): a refused part is never signed by
   * the primary key.
   */
  item?: string;
  /** Required when scheme is 'cms'. */
  cms?: CmsSignOptions;
}

/** A signature the ledger made. `role` says which org key signed: `primary` means verified. */
export interface MadeSignature {
  keyId: string;
  role: 'primary' | 'unverified';
  /**
   * Armored text for `openpgp-detached`/`openpgp-cleartext` (as UTF-8 bytes), the DER ContentInfo
   * (SignedData) for `cms`, raw bytes otherwise.
   */
  signature: Buffer;
  /** RSA: the key file name clients look the key up by (Alpine `<name>.rsa.pub`). */
  keyFileName?: string;
  /** `cms`: DER of the signing leaf certificate, then its issuers (what clients pin by fingerprint). */
  certificates?: Buffer[];
}

/** A digest the verified bytes vouch for (e.g. a file listed in a signed index). */
export interface VouchedDigest {
  path: string;
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  digest: string;
  size?: number;
}

/** A part of an index the format refused (e.g. one version of a package) while accepting the rest. */
export interface RejectedItem {
  item: string;
  reason: string;
}

export type VerifyOutcome =
  | {
      ok: true;
      by: string[];
      vouches?: VouchedDigest[];
      rejected?: RejectedItem[];
      /** Recorded in the verification record (VerificationRecord.upstreamSignature). */
      upstreamSignature?: KeptSignature;
      /**
       * The index revision these bytes are (its Date, revision counter, modification time): the core
       * refuses a revision older than the one it serves (rollback) and keeps the newer one served.
       */
      revision?: Revision;
      /** The anchor of the trust that vouched; default: `pinned` (trust from the configuration). */
      anchor?: TrustAnchor;
      /**
       * Objects (usually listed in `vouches`) the core fetches and verifies before it commits this
       * revision: an index and the files clients use with it are served as a set. If one fails, the
       * previous revision stays served.
       */
      companions?: ObjectRef[];
    }
  /**
   * `MALFORMED`: the bytes are not an object of this format at all (they do not parse): refused
   * under `warn` too, since there is nothing a client could use — the previous copy stays served.
   */
  | { ok: false; code: 'VERIFICATION_FAILED' | 'DIGEST_MISMATCH' | 'TRUST_CHANGED' | 'MALFORMED'; reason: string; vouches?: VouchedDigest[] };

export interface UpstreamObject {
  path: string;
  sha256: string;
  size: number;
  /** Reads the upstream bytes (already on disk, not yet committed). Attacker-controlled. */
  read(): Readable;
  readAll(): Promise<Buffer>;
}

export interface VerifyContext {
  repository: string;
  mode: VerifyMode;
  /** How the repository anchors trust it cannot take from the configuration (see firstUse). */
  anchor: 'pinned' | 'first-use';
  /**
   * Trust on first use (`anchor: first-use` only): the first `material` seen under `name` (e.g. the
   * upstream's signing keys) is pinned in the data directory; later calls say whether `material` is
   * still what was pinned. A change is refused until the operator accepts it (`countersign trust accept`).
   */
  firstUse(name: string, material: Buffer): FirstUseResult;
  /**
   * Fetches a small auxiliary upstream file (signature, checksum, keys) into memory, uncached. `path`
   * is URL-encoded. `accept` is sent as the Accept header (registries answer OCI manifests only to it).
   */
  fetchAuxiliary(path: string, maxBytes: number, options?: { accept?: string }): Promise<SmallResult>;
  /** Digests that verified indexes vouched for this path. */
  expectations(path: string): Expectation[];
  /** The verified revision the store holds for a path now (before this fetch is committed), if any. */
  stored(path: string): StoredObject | undefined;
}

export type FirstUseResult =
  | { ok: true; pinnedAt: number; firstSeen: boolean }
  | { ok: false; reason: string };

export interface StoredObject {
  sha256: string;
  size: number;
  readAll(): Promise<Buffer>;
}

export interface DeriveInput {
  path: string;
  sha256: string;
  bytes: Buffer;
  verification: VerificationRecord;
  /** When the mirror last confirmed this revision with the upstream (ms since epoch). */
  checkedAt?: number;
}

export interface DeriveContext {
  repository: string;
  mode: VerifyMode;
  /** `publicUrl` + "/" + repository name: where clients reach this repository. */
  repositoryUrl: string;
  /**
   * The one signing path (the signing ledger): signs with the org key of the role this object's
   * verification earns under today's trust (primary when verified, the separately published
   * unverified key under warn/off), refuses otherwise, and logs and counts every signature.
   */
  sign(request: SignRequest): Promise<MadeSignature>;
  /**
   * The view `view` of another object, fetched and verified through the core and derived once like
   * any other view: for views built on other views (RPM metadata listing re-signed packages).
   */
  derivedOf(ref: ObjectRef, view: string): Promise<{ sha256: string; bytes: Buffer }>;
  /**
   * Publishes bytes the view refers to by digest (served through a `content` classification),
   * stored content-addressed for this repository; returns their SHA-256. Optional so test doubles
   * of this context need not provide it.
   */
  putContent?(bytes: Buffer): Promise<string>;
}

export interface FormatRepository {
  classify(path: string, request: { accept?: string; query?: string }): Classified;
  /** Checks the upstream's own signatures/checksums over the bytes. */
  verify(ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome>;
  /** Makes a view from verified upstream bytes (views the format returned from classify). */
  derive?(ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> | Buffer;
  /**
   * Extra response headers for what a path served (OCI: Docker-Content-Digest, a tag list page's
   * Link). `bytes` are there when the core holds them in memory, as it does for every view.
   */
  responseHeaders?(path: string, served: { sha256: string; contentType: string; bytes?: Buffer }): Record<string, string>;
  /** Renders an error the way this format's clients read them (OCI: `{"errors":[…]}`); default JSON otherwise. */
  renderError?(path: string, error: MirrorErrorView): RenderedError;
}

/** What a format sees of a failure to render it. */
export interface MirrorErrorView {
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
}

export interface RenderedError {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

export interface FormatOpenOptions<TTrust> {
  repository: string;
  trust: TTrust;
  verify: VerifyMode;
  /** Directory relative paths in `trust` are resolved against (the config file's). */
  configDir: string;
  /** `publicUrl` + "/" + repository name. */
  repositoryUrl: string;
  /**
   * The repository over HTTPS (`publicUrl` when it is https, else the HTTPS listener's first host),
   * for client setup of formats that require TLS (Swift, NuGet); absent without an HTTPS listener.
   */
  secureRepositoryUrl?: string;
  /** The resolved upstream base URL (may carry credentials: never log or serve it). */
  upstream?: string;
  /** Origins besides the upstream's the operator lets the mirror fetch from (`redirects.allow`). */
  redirectOrigins?: readonly string[];
  /** How trust the configuration does not pin is anchored (`anchor` in the repository config). */
  anchor: 'pinned' | 'first-use';
  /** Public keys of the organisation (signing goes through DeriveContext.sign). */
  keys: OrgPublicKeys;
  /** Reads a trust file (keyring, certificate) the operator named in the config. */
  readTrustFile(path: string): Promise<Buffer>;
  /** Names of the files in a trust directory the operator named (Alpine: /etc/apk/keys). */
  listTrustDir(path: string): Promise<string[]>;
  /**
   * The clock the core judges cache freshness by and stamps `checkedAt` with (ms since epoch):
   * what a format derives from `checkedAt` must read the same clock.
   */
  now(): number;
}

/** What formats see of the key store: public material only, no signers. */
export type OrgPublicKeys = Pick<KeyStore, 'list' | 'exportPublic' | 'openpgpPublicArmored' | 'cosignPublicPem' | 'rsaPublic'>;

export interface AutoUpstream<TTrust> {
  upstream: string;
  trust?: Partial<TTrust>;
}

export interface PathPolicy {
  /** npm: `@scope%2fname` is one package name; the encoded slash is allowed there and nowhere else. */
  scopedEncodedSlash?: boolean;
}

export interface FormatAdapter<TTrust = unknown> {
  readonly name: string;
  /** Schema of this format's `trust` block (strict: unknown keys are rejected). */
  readonly trustSchema: z.ZodType<TTrust>;
  readonly pathPolicy?: PathPolicy;
  /**
   * Resolves `upstream: auto` from the machine's own client configuration, if the format has one;
   * it may also name trust that client uses (e.g. apt's signed-by keyring), which fills keys the
   * repository's `trust` leaves unset.
   */
  resolveAutoUpstream?(env: NodeJS.ProcessEnv, repository: { name: string; trust: TTrust }): Promise<string | AutoUpstream<TTrust> | undefined>;
  open(options: FormatOpenOptions<TTrust>): Promise<FormatRepository>;
}
