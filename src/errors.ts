/**
 * One error class for every failure the mirror reports, with a stable `code` from one
 * table. Expected outcomes (hit, stale, not-modified, absent) are values, not errors.
 */

export const ERROR_CODES = {
  BAD_PATH: { status: 400, summary: 'The request path is not allowed' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'The method is not allowed here' },
  NOT_FOUND: { status: 404, summary: 'The object does not exist' },
  REPOSITORY_NOT_FOUND: { status: 404, summary: 'No repository is configured under this name' },
  UPSTREAM_NOT_FOUND: { status: 404, summary: 'The upstream does not have the object' },
  UPSTREAM_UNAVAILABLE: { status: 502, summary: 'The upstream could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, summary: 'The upstream did not answer in time' },
  UPSTREAM_BAD_STATUS: { status: 502, summary: 'The upstream answered with an unexpected status' },
  UPSTREAM_TOO_LARGE: { status: 502, summary: 'The upstream response exceeds the size limit' },
  TOO_LARGE_IN_MEMORY: { status: 502, summary: 'The object is larger than the mirror reads into memory to verify or re-sign it' },
  UPSTREAM_TOO_MANY_REDIRECTS: { status: 502, summary: 'The upstream redirected too many times' },
  UPSTREAM_TRUNCATED: { status: 502, summary: 'The upstream response ended early' },
  VERIFICATION_FAILED: { status: 502, summary: 'The upstream signature did not verify' },
  DIGEST_MISMATCH: { status: 502, summary: 'The upstream bytes do not match the digest they are vouched for' },
  SIGNING_REFUSED: { status: 502, summary: 'The mirror refuses to sign bytes that did not verify under the trust configured today' },
  MALFORMED: { status: 502, summary: 'The upstream bytes are not a valid object of this format' },
  ROLLBACK: { status: 502, summary: 'The upstream served an older revision than the one the mirror serves' },
  TRUST_CHANGED: { status: 502, summary: 'The upstream changed trust material pinned on first use' },
  OFFLINE_MISS: { status: 504, summary: 'The mirror is offline and the object is not cached' },
  CONFIG_INVALID: { status: 500, summary: 'The configuration is invalid' },
  KEY_ERROR: { status: 500, summary: 'A key could not be loaded or used' },
  STORE_ERROR: { status: 500, summary: 'The store failed' },
  STORE_FULL: { status: 507, summary: 'The data directory is full: nothing was stored, retry when space returns' },
  PRIMARY_NEEDED: { status: 503, summary: 'A worker cannot answer this alone and the primary process did not' },
  INTERNAL: { status: 500, summary: 'Internal error' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  repository?: string;
  object?: string;
  /** Upstream URL without credentials or query secrets. */
  upstream?: string;
  [key: string]: unknown;
}

export class MirrorError extends Error {
  override readonly name = 'MirrorError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  /** The JSON body a client sees: repository, object and reason, nothing internal. */
  toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code, ...this.details };
  }
}

export function isMirrorError(value: unknown): value is MirrorError {
  return value instanceof MirrorError;
}

/** errno codes that mean the data directory has no room (disk or quota), not a bug in the mirror. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A full data directory as the client and the log should see it (507 STORE_FULL), from the
 * error or any error in its `cause` chain; undefined for any other failure.
 */
export function storeFullError(err: unknown): MirrorError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isMirrorError(e) && e.code === 'STORE_FULL') return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && NO_SPACE.has(code)) {
      return new MirrorError('STORE_FULL', 'The mirror could not store the object: its data directory is full', {}, { cause: e });
    }
  }
  return undefined;
}

/** Removes userinfo and query from a URL so it can be logged or returned safely. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url.toString());
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
