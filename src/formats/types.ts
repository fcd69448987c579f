/**
 * The contract of a format adapter. Adapters are pure: they never import the HTTP server,
 * undici, SQLite or `fs`; what they need comes through the context objects below. The
 * core owns caching, single-flight, verification records, keys and errors.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { VerifyMode } from '../store/types.js';
import type { SmallResult } from '../upstream/types.js';

/** What a request path names, as the format sees it. */
export type Classified =
  /** Bytes fetched from the upstream and cached; `mutable` ones are revalidated after metadataTtl. */
  | { kind: 'object'; path: string; mutable: boolean; contentType?: string }
  /** A signature the mirror makes over the served bytes of another object. */
  | { kind: 'signature'; scheme: SignatureScheme; of: string; contentType: string }
  | { kind: 'not-found'; reason: string };

export type SignatureScheme = 'openpgp-detached';

/** A digest the verified bytes vouch for (e.g. a file listed in a signed index). */
export interface VouchedDigest {
  path: string;
  sha256: string;
  size?: number;
}

export type VerifyOutcome =
  | { ok: true; by: string[]; vouches?: VouchedDigest[] }
  | { ok: false; code: 'VERIFICATION_FAILED' | 'DIGEST_MISMATCH'; reason: string; vouches?: VouchedDigest[] };

export interface UpstreamObject {
  path: string;
  sha256: string;
  size: number;
  /** Reads the upstream bytes (already on disk, not yet committed). Attacker-controlled. */
  read(): Readable;
}

export interface VerifyContext {
  repository: string;
  /** Fetches a small auxiliary upstream file (signature, checksum) into memory, uncached. */
  fetchAuxiliary(path: string, maxBytes: number): Promise<SmallResult>;
}

export interface FormatRepository {
  classify(path: string): Classified;
  /** Checks the upstream's own signatures/checksums over the bytes. */
  verify(ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome>;
}

export interface FormatOpenOptions<TTrust> {
  repository: string;
  trust: TTrust;
  verify: VerifyMode;
  /** Directory relative paths in `trust` are resolved against (the config file's). */
  configDir: string;
  /** Reads a trust file (keyring, certificate) the operator named in the config. */
  readTrustFile(path: string): Promise<Buffer>;
}

export interface FormatAdapter<TTrust = unknown> {
  readonly name: string;
  /** Schema of this format's `trust` block (strict: unknown keys are rejected). */
  readonly trustSchema: z.ZodType<TTrust>;
  /** Resolves `upstream: auto` from the machine's own client configuration, if the format has one. */
  resolveAutoUpstream?(env: NodeJS.ProcessEnv): Promise<string | undefined>;
  open(options: FormatOpenOptions<TTrust>): Promise<FormatRepository>;
}
