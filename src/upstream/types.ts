import type { TempBlob } from '../store/types.js';

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface UpstreamRequest {
  /** Path relative to the upstream base URL (already validated as safe). */
  path: string;
  validators?: Validators;
  accept?: string;
  /** Refuse (and discard) a body larger than this. */
  maxBytes: number;
  /**
   * The SHA-256 the object is named by (ObjectRef.namedBySha256), which the core checks the bytes
   * against: only then may a redirect lead to an origin the operator did not allowlist (a CDN),
   * and only at a public address.
   */
  namedBySha256?: string;
  /**
   * Called when a 200 body starts arriving into `temp` (once per attempt), for callers that let
   * clients follow the download (TempBlob.readGrowing). A failed attempt aborts its temp.
   */
  onBody?(download: { temp: TempBlob; contentLength: number | undefined; contentType: string | undefined }): void;
  /**
   * A body of at most this many bytes is also handed back in memory (`bytes` of the result), so the
   * caller need not read the temp file back to verify and serve it. Bounded: larger bodies are not kept.
   */
  keepInMemory?: number;
}

export type UpstreamResult =
  | {
      kind: 'fetched';
      body: TempBlob;
      etag?: string;
      lastModified?: string;
      contentType?: string;
      /** Final URL after redirects, without credentials. */
      url: string;
      /** The body, when it fit UpstreamRequest.keepInMemory: the very chunks written to `body`. */
      bytes?: Buffer;
    }
  | { kind: 'not-modified'; etag?: string; lastModified?: string }
  | { kind: 'absent'; status: number };

export type { SmallResult } from '../formats/verification.js';

export type HeadResult = { kind: 'present'; value: string | undefined } | { kind: 'absent'; status: number };
