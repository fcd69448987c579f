/**
 * The observability seam of one UpstreamClient: every HTTP exchange goes to the metrics
 * hook and the debug log, every retry to the warn log, and every error is built here so
 * its details always name repository, object and the upstream URL without credentials.
 */
import { MirrorError, redactUrl, type ErrorCode, type ErrorDetails } from '../errors.js';
import type { UpstreamLogger, UpstreamOutcome, UpstreamRequestInfo } from './client-options.js';

export class ExchangeLog {
  readonly #repository: string;
  readonly #logger: UpstreamLogger | undefined;
  readonly #onRequest: ((info: UpstreamRequestInfo) => void) | undefined;

  constructor(repository: string, logger?: UpstreamLogger, onRequest?: (info: UpstreamRequestInfo) => void) {
    this.#repository = repository;
    this.#logger = logger;
    this.#onRequest = onRequest;
  }

  /** Records one finished exchange; `started` is a performance.now() timestamp. */
  report(method: string, url: URL, started: number, outcome: UpstreamOutcome, status?: number): void {
    const info: UpstreamRequestInfo = { repository: this.#repository, method, url: redactUrl(url), ms: Math.round(performance.now() - started), outcome };
    if (status !== undefined) info.status = status;
    this.#logger?.debug({ repo: this.#repository, method, upstream: info.url, status, ms: info.ms, outcome }, 'Upstream request');
    try {
      this.#onRequest?.(info);
    } catch {
      // A broken metrics hook must not fail a download.
    }
  }

  retrying(error: MirrorError, attempt: number, delayMs: number): void {
    const { object, upstream } = error.details;
    this.#logger?.warn({ repo: this.#repository, object, upstream, code: error.code, attempt, delayMs }, 'Upstream request failed, retrying');
  }

  error(code: ErrorCode, message: string, path: string, url: URL, extra: ErrorDetails = {}, cause?: unknown): MirrorError {
    const details: ErrorDetails = { repository: this.#repository, object: path, upstream: redactUrl(url), ...extra };
    return new MirrorError(code, message, details, cause === undefined ? undefined : { cause });
  }
}
