/** Construction options and observability types of UpstreamClient. */
import type { BackoffOptions } from './retry.js';
import type { UpstreamCredentials } from './credentials.js';
import type { Resolver } from './public-lookup.js';

export interface UpstreamTimeouts {
  connectMs?: number;
  /** Until the response headers arrive. */
  headersMs?: number;
  /** Longest pause between two body chunks (not the whole transfer: big blobs take long). */
  bodyMs?: number;
}

/** The subset of a pino logger the client uses. */
export interface UpstreamLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export type UpstreamOutcome =
  | 'fetched'
  | 'not-modified'
  | 'absent'
  | 'redirect'
  | 'bad-status'
  | 'server-error'
  | 'network-error'
  | 'timeout'
  | 'too-large'
  | 'truncated'
  | 'store-error';

/** One HTTP exchange with the upstream (each retry and each redirect hop is reported). */
export interface UpstreamRequestInfo {
  repository: string;
  method: string;
  /** Without credentials or query. */
  url: string;
  status?: number;
  ms: number;
  outcome: UpstreamOutcome;
}

export interface UpstreamClientOptions {
  baseUrl: string;
  repository: string;
  credentials?: UpstreamCredentials;
  timeouts?: UpstreamTimeouts;
  /** Extra attempts after the first for GET/HEAD on 5xx, resets and timeouts. Default 2. */
  retries?: number;
  /** Default 5. */
  maxRedirects?: number;
  /** Connections per upstream origin. */
  connections?: number;
  logger?: UpstreamLogger;
  /** Metrics hook, called once per HTTP exchange. */
  onRequest?: (info: UpstreamRequestInfo) => void;
  /** Retry delays; tests shorten them. */
  backoff?: Partial<BackoffOptions>;
  userAgent?: string;
  /** Origins a redirect may lead to whatever their address (repository `redirects.allow`); see OriginPolicy. */
  redirectOrigins?: readonly string[];
  /** Origins besides the upstream's own that may receive the credentials as token realms (repository `credentialOrigins`). */
  credentialOrigins?: readonly string[];
  /** Bounds of the Bearer token and challenge caches (keyed by upstream- and client-chosen names). */
  tokenBounds?: { tokens: number; challenges: number };
  /** DNS for connections to origins the upstream chose; node:dns unless a test injects one. */
  resolver?: Resolver;
}
