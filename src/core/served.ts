import type { Readable } from 'node:stream';
import type { VerificationRecord } from '../store/types.js';

export type CacheResult = 'hit' | 'miss' | 'revalidated' | 'stale' | 'offline';
export type StaleReason = 'upstream-unavailable' | 'verification-failed' | 'rollback' | 'companions-unavailable' | 'offline';

/**
 * A request the format passes to the upstream unchanged (NuGet search): the server proxies it to
 * `url` with the client's query; nothing is verified, stored or signed. `url` passed the
 * repository's origin policy (the upstream's origin, or one in `redirects.allow`).
 */
export interface PassedThrough {
  passThrough: URL;
}

/** What the core hands the server to send: a stored blob, or bytes already in memory. */
export interface Served {
  sha256: string;
  size: number;
  contentType: string;
  cache: CacheResult;
  stale?: StaleReason;
  verification?: VerificationRecord;
  /** Present when the bytes are hot in memory (derived views); otherwise read the blob. */
  bytes?: Buffer;
  /** A cold object's bytes as they download (errors before its end if they turn out wrong). */
  body?: Readable;
  /** The upstream's Last-Modified, passed on to clients. */
  lastModified?: string;
  /** Extra response headers the format adds (FormatRepository.responseHeaders). */
  headers?: Record<string, string>;
}
