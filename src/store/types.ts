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

export type VerifyMode = 'require' | 'warn' | 'off';

/** How an object's upstream bytes were verified. */
export interface VerificationRecord {
  /** 'verified' | 'unverified' (verify: warn/off) */
  status: 'verified' | 'unverified';
  /** What vouched for it: e.g. "openpgp:<fingerprint>", "sha256:<path>", "expectation:<source>". */
  by: string[];
  at: number;
  mode: VerifyMode;
  /** Why it is unverified, for warn mode. */
  reason?: string;
  /** Parts of an index refused while the rest verified (e.g. versions with a bad signature). */
  rejected?: { item: string; reason: string }[];
  /** The upstream's own signature that verified this object, stored beside it as an object of its own. */
  upstreamSignature?: KeptSignature;
}

/** An upstream signature object kept with what it signs (OCI: the cosign `.sig` manifest). */
export interface KeptSignature {
  /** SHA-256 of the stored signature object. */
  sha256: string;
  /** The signatures in it that verified, by position (several signers may sign the same payload). */
  verified: { index: number; sha256: string; keyId: string; identity: string }[];
}

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

export interface Expectation {
  repository: string;
  path: string;
  algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha1';
  /** Lowercase hex. */
  digest: string;
  size?: number;
  /** What vouched for this digest, e.g. "Release@<sha256>" or "sha256-file". */
  source: string;
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
  putExpectations(list: Expectation[]): void;
  getExpectations(repository: string, path: string): Expectation[];
  getDerived(key: DerivedKey): string | undefined;
  putDerived(key: DerivedKey, sha256: string): void;
  logSignature(entry: SignatureLogEntry): void;
  /** Signatures over small messages (npm versions), reused across index revisions. */
  getCachedSignature(keyId: string, messageSha256: string): Buffer | undefined;
  putCachedSignature(keyId: string, messageSha256: string, signature: Buffer): void;
  signatureLog(limit?: number): SignatureLogEntry[];
  /** Every blob digest the index references (objects and derived views). */
  referencedBlobs(): Set<string>;
  close(): void;
}
