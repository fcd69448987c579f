/**
 * The contract of a format adapter. Adapters are pure: they never import the HTTP server,
 * undici, SQLite or `fs`; what they need comes through the context objects below. The
 * core owns caching, single-flight, verification records, keys and errors.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { KeyStore } from '../keys/types.js';
import type { Expectation, VerificationRecord, VerifyMode } from '../store/types.js';
import type { SmallResult } from '../upstream/types.js';

/** An upstream object as a format names it. */
export interface ObjectRef {
  /** Store key: the decoded path relative to the repository. */
  path: string;
  /** Revalidated after metadataTtl (indexes); immutable objects are fetched once. */
  mutable: boolean;
  contentType?: string;
  /** URL path relative to the upstream base, already percent-encoded (default: `path` encoded per segment). */
  upstreamPath?: string;
  /** Accept header for the upstream request. */
  accept?: string;
  /** Objects whose verification vouches for this one; the core fetches them first when nothing vouched yet. */
  requires?: ObjectRef[];
}

/** What a request path names, as the format sees it. */
export type Classified =
  /** Bytes fetched from the upstream, verified, cached, and served as they came. */
  | ({ kind: 'object' } & ObjectRef)
  /** A view the format derives from a verified upstream object (rewritten, re-signed), made once per revision. */
  | { kind: 'view'; of: ObjectRef; view: string; contentType: string }
  /** A signature the mirror makes over the served bytes of another object. */
  | { kind: 'signature'; scheme: SignatureScheme; of: string; contentType: string }
  /** Bytes the format makes from the mirror's own state (e.g. its public keys). */
  | { kind: 'generated'; contentType: string; generate(): Buffer }
  | { kind: 'not-found'; reason: string };

export type SignatureScheme = 'openpgp-detached';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'sha1';

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
  | { ok: true; by: string[]; vouches?: VouchedDigest[]; rejected?: RejectedItem[] }
  | { ok: false; code: 'VERIFICATION_FAILED' | 'DIGEST_MISMATCH'; reason: string; vouches?: VouchedDigest[] };

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
  /** Fetches a small auxiliary upstream file (signature, checksum, keys) into memory, uncached. `path` is URL-encoded. */
  fetchAuxiliary(path: string, maxBytes: number): Promise<SmallResult>;
  /** Digests that verified indexes vouched for this path. */
  expectations(path: string): Expectation[];
}

export interface DeriveInput {
  path: string;
  sha256: string;
  bytes: Buffer;
  verification: VerificationRecord;
}

export interface DeriveContext {
  repository: string;
  mode: VerifyMode;
  /** `publicUrl` + "/" + repository name: where clients reach this repository. */
  repositoryUrl: string;
  /**
   * Signs `message` with the active org ECDSA key (DER, SHA-256), or returns the signature made
   * for the same message and key before. Every new signature is logged.
   */
  ecdsaSignCached(object: string, message: string): { keyId: string; signature: Buffer };
}

export interface FormatRepository {
  classify(path: string, request: { accept?: string }): Classified;
  /** Checks the upstream's own signatures/checksums over the bytes. */
  verify(ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome>;
  /** Makes a view from verified upstream bytes (views the format returned from classify). */
  derive?(ctx: DeriveContext, view: string, input: DeriveInput): Promise<Buffer> | Buffer;
}

export interface FormatOpenOptions<TTrust> {
  repository: string;
  trust: TTrust;
  verify: VerifyMode;
  /** Directory relative paths in `trust` are resolved against (the config file's). */
  configDir: string;
  /** `publicUrl` + "/" + repository name. */
  repositoryUrl: string;
  /** Public keys and signers of the organisation (never private bytes). */
  keys: KeyStore;
  /** Reads a trust file (keyring, certificate) the operator named in the config. */
  readTrustFile(path: string): Promise<Buffer>;
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
  /** Resolves `upstream: auto` from the machine's own client configuration, if the format has one. */
  resolveAutoUpstream?(env: NodeJS.ProcessEnv): Promise<string | undefined>;
  open(options: FormatOpenOptions<TTrust>): Promise<FormatRepository>;
}
