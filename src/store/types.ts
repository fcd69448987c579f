/**
 * Store interfaces. The embedded default is SQLite + local disk; these interfaces are kept
 * small so PostgreSQL and object storage can implement them without touching formats.
 */
import type { Readable } from 'node:stream';

export interface BlobStat {
  sha256: string;
  size: number;
}

/** A blob being written: bytes go to a temp file on the blob store's filesystem while hashing. */
export interface TempBlob {
  /** Appends bytes; resolves when they are accepted (respecting backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and fsyncs; after this, sha256/size are final and the bytes can be read back. */
  finish(): Promise<BlobStat>;
  /** Reads the finished temp bytes (for verification before commit). */
  read(): Readable;
  /** Moves the finished bytes into the content-addressed store (atomic rename). */
  commit(): Promise<BlobStat>;
  /**
   * Follows the bytes as they are written, for clients served while the download runs. The
   * stream ends after commit and errors (before its last byte) if the blob is aborted instead.
   */
  readGrowing(): Readable;
  /** Discards the temp file; `reason` is what readers of readGrowing see. Safe to call more than once and after commit. */
  abort(reason?: unknown): Promise<void>;
  readonly bytesWritten: number;
}

export interface BlobStore {
  createTemp(): Promise<TempBlob>;
  put(bytes: Uint8Array): Promise<BlobStat>;
  has(sha256: string): Promise<boolean>;
  stat(sha256: string): Promise<BlobStat | undefined>;
  /** Streams a blob, optionally a byte range (inclusive end). */
  open(sha256: string, range?: { start: number; end: number }): Readable;
  readAll(sha256: string): Promise<Buffer>;
  delete(sha256: string): Promise<void>;
  /** Every stored digest (for verify-store). */
  list(): AsyncIterable<string>;
  /** Temp files left by a crash (for verify-store). */
  listTemp(): AsyncIterable<string>;
  removeTemp(name: string): Promise<void>;
  /** Re-hashes a stored blob; returns the digest of its actual bytes. */
  rehash(sha256: string): Promise<string>;
}

export type { Expectation, KeptSignature, VerificationRecord, VerifyMode } from '../formats/verification.js';
import type { Expectation, VerificationRecord } from '../formats/verification.js';

export interface ObjectEntry {
  repository: string;
  path: string;
  sha256: string;
  size: number;
  contentType?: string;
  etag?: string;
  lastModified?: string;
  /** When the entry was last confirmed fresh with the upstream (ms since epoch). */
  checkedAt: number;
  mutable: boolean;
  verification: VerificationRecord;
}

export interface DerivedKey {
  repository: string;
  /** What was derived, e.g. "openpgp-detached". */
  kind: string;
  /** The digest of the bytes the view was derived from. */
  subject: string;
  /** The signing key id the view was made with ('' if none). */
  keyId: string;
}

/** Material pinned on first use (VerifyContext.firstUse). */
export interface TrustPin {
  name: string;
  sha256: string;
  pinnedAt: number;
}

export interface DerivedRow {
  sha256: string;
  unverified: boolean;
}

export interface SignatureLogEntry {
  repository: string;
  object: string;
  subjectSha256: string;
  keyId: string;
  kind: string;
  signatureSha256: string;
  at: number;
}

export interface IndexStore {
  getObject(repository: string, path: string): ObjectEntry | undefined;
  putObject(entry: ObjectEntry): void;
  touchObject(repository: string, path: string, checkedAt: number, validators?: { etag?: string; lastModified?: string }): void;
  deleteObjectsByBlob(sha256: string): number;
  /**
   * Records what `source` (an index) vouches for now, and forgets what it vouched for earlier, no
   * longer lists, and last recorded before `forgetUnlistedBefore` (ms since epoch): the table holds
   * what stored indexes list plus what they listed recently (clients still on a previous revision
   * fetch its files by hash), not everything they ever listed.
   */
  recordExpectations(repository: string, source: string, list: Expectation[], forgetUnlistedBefore: number): void;
  getExpectations(repository: string, path: string): Expectation[];
  /** Paths ending with `mark` that verified indexes vouched for under `epoch`, most recently vouched first. */
  vouchedPaths(repository: string, epoch: string, mark: string, limit: number): string[];
  /** Removes a repository's expectations recorded under any other trust epoch (they vouch for nothing); returns how many. */
  pruneExpectations(repository: string, epoch: string): number;
  /**
   * Keeps the `keep` most recently checked objects whose path starts with `prefix` and forgets the
   * rest (their blobs become orphans that `verify-store --repair` removes); returns how many.
   */
  trimObjects(repository: string, prefix: string, keep: number): number;
  getDerived(key: DerivedKey): DerivedRow | undefined;
  /** `unverified`: the bytes were made from, or signed over, something that did not verify (see DerivedBytes). */
  putDerived(key: DerivedKey, sha256: string, unverified?: boolean): void;
  logSignature(entry: SignatureLogEntry): void;
  /** Signatures over small messages (npm versions), reused across index revisions. */
  getCachedSignature(keyId: string, messageSha256: string): Buffer | undefined;
  putCachedSignature(keyId: string, messageSha256: string, signature: Buffer): void;
  signatureLog(limit?: number): SignatureLogEntry[];
  /**
   * Trust on first use: pins `sha256` under (repository, name) unless something is pinned there
   * already, and returns what is pinned (the caller compares).
   */
  pinFirstUse(repository: string, name: string, sha256: string, at: number): TrustPin;
  trustPins(repository: string): TrustPin[];
  /**
   * The operator accepts a change: the next material seen is pinned, and the repository's trust
   * generation goes up (when anything was removed). Returns how many pins were removed.
   */
  forgetPins(repository: string, name?: string): number;
  /** How many times pins of the repository were forgotten (accepted changes): part of its trust epoch. */
  trustGeneration(repository: string): number;
  /** Raises the trust generation: no epoch made before can equal the next one (see open-repositories.ts). */
  bumpTrustGeneration(repository: string): void;
  /** Every blob digest the index references (objects and derived views). */
  referencedBlobs(): Set<string>;
  close(): void;
}
