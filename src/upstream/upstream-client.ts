/**
 * The one way the mirror talks to an upstream registry: undici with one connection pool
 * per upstream, explicit timeouts, bounded retries of idempotent requests, redirects
 * followed by hand and judged hop by hop by the OriginPolicy (so credentials stay with
 * their origin and the upstream cannot point the mirror at internal addresses) and bodies
 * streamed into a TempBlob under a size limit. Expected outcomes (not-modified, absent) are values;
 * failures are MirrorErrors whose details never carry credentials.
 */
import { Agent, type Dispatcher } from 'undici';
import { isMirrorError, MirrorError, redactUrl } from '../errors.js';
import type { TempBlob } from '../store/types.js';
import { abandonBody, drainBody, KeepSmallSink, MemorySink, parseContentLength, type ByteSink, type DrainLimits, type DrainResult } from './body-sink.js';
import type { UpstreamClientOptions, UpstreamOutcome } from './client-options.js';
import { authorizationHeader, mergeCredentials, type UpstreamCredentials } from './credentials.js';
import { BearerTokens, parseBearerChallenge } from './bearer-tokens.js';
import { ExchangeLog } from './exchange-log.js';
import { OriginPolicy, type Route } from './origin-policy.js';
import { publicOnlyLookup } from './public-lookup.js';
import { header, validatorsOf } from './response-headers.js';
import { DEFAULT_BACKOFF, Retryable, withRetries, type BackoffOptions, type RetryPolicy } from './retry.js';
import { isTimeout, transportReason } from './transport-errors.js';
import type { HeadResult, SmallResult, UpstreamRequest, UpstreamResult } from './types.js';
import { joinUpstreamPath, parseBaseUrl, resolveRedirect } from './upstream-url.js';

export type { UpstreamClientOptions, UpstreamLogger, UpstreamOutcome, UpstreamRequestInfo, UpstreamTimeouts } from './client-options.js';

interface Opened {
  res: Dispatcher.ResponseData;
  url: URL;
  started: number;
}

/** A route that may be taken (refusals are thrown before a request leaves). */
type OpenRoute = Exclude<Route, { kind: 'refused' }>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ABSENT = new Set([404, 410]);
const DEFAULT_TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

export class UpstreamClient {
  readonly repository: string;
  readonly #base: URL;
  readonly #authorization: string | undefined;
  readonly #agent: Agent;
  /** For origins the upstream chose (a CDN named by a redirect, a foreign token realm): public addresses only. */
  readonly #publicAgent: Agent;
  readonly #policy: OriginPolicy;
  readonly #retries: number;
  readonly #maxRedirects: number;
  readonly #backoff: BackoffOptions;
  readonly #log: ExchangeLog;
  readonly #userAgent: string;
  readonly #tokens: BearerTokens;
  #closed = false;

  constructor(options: UpstreamClientOptions) {
    const base = parseBaseUrl(options.baseUrl);
    this.repository = options.repository;
    this.#base = base.url;
    const fromUrl: UpstreamCredentials = {};
    if (base.username !== undefined) fromUrl.username = base.username;
    if (base.password !== undefined) fromUrl.password = base.password;
    this.#authorization = authorizationHeader(mergeCredentials(fromUrl, options.credentials));
    this.#retries = Math.max(0, options.retries ?? 2);
    this.#maxRedirects = Math.max(0, options.maxRedirects ?? 5);
    this.#backoff = {
      baseMs: options.backoff?.baseMs ?? DEFAULT_BACKOFF.baseMs,
      capMs: options.backoff?.capMs ?? DEFAULT_BACKOFF.capMs,
    };
    this.#log = new ExchangeLog(options.repository, options.logger, options.onRequest);
    this.#userAgent = options.userAgent ?? 'countersign';
    this.#policy = new OriginPolicy(this.#base, {
      ...(options.redirectOrigins ? { redirectOrigins: options.redirectOrigins } : {}),
      ...(options.credentialOrigins ? { credentialOrigins: options.credentialOrigins } : {}),
    });
    this.#tokens = new BearerTokens({
      policy: this.#policy,
      ...(options.tokenBounds ? { bounds: options.tokenBounds } : {}),
      ...(this.#authorization?.startsWith('Basic ') ? { basicAuthorization: this.#authorization } : {}),
      transport: (url, headers, route) => this.#tokenRequest(url, headers, route),
    });
    const t = options.timeouts ?? {};
    // undici checks header/body timeouts on a ~0.5 s tick: fine for second-scale limits.
    const agentOptions = {
      headersTimeout: t.headersMs ?? DEFAULT_TIMEOUTS.headersMs,
      bodyTimeout: t.bodyMs ?? DEFAULT_TIMEOUTS.bodyMs,
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
    };
    const connectTimeout = t.connectMs ?? DEFAULT_TIMEOUTS.connectMs;
    this.#agent = new Agent({ ...agentOptions, connect: { timeout: connectTimeout } });
    // The lookup runs for the very connection made, so a name cannot pass the check and then rebind.
    this.#publicAgent = new Agent({ ...agentOptions, connect: { timeout: connectTimeout, lookup: publicOnlyLookup(options.resolver) } });
  }

  /** The base URL without credentials (for logs and the UI). */
  get baseUrl(): string {
    return redactUrl(this.#base);
  }

  /** Entries in the Bearer token caches; each stays at its bound however many names are pulled. */
  get tokenCacheSize(): { tokens: number; challenges: number; inFlight: number } {
    return this.#tokens.size;
  }

  /** GETs `req.path` into a temp blob made by `createTemp`; the caller owns the returned blob. */
  fetch(req: UpstreamRequest, createTemp: () => Promise<TempBlob>): Promise<UpstreamResult> {
    const headers: Record<string, string> = {};
    if (req.accept) headers['accept'] = req.accept;
    if (req.validators?.etag) headers['if-none-match'] = req.validators.etag;
    if (req.validators?.lastModified) headers['if-modified-since'] = req.validators.lastModified;
    const digestKnown = req.namedBySha256 !== undefined;
    return withRetries(this.#retryPolicy('GET', req.path), async () => {
      const opened = await this.#open('GET', req.path, headers, digestKnown);
      const { res, url } = opened;
      if (res.statusCode === 200) return this.#receiveToTemp(opened, req, createTemp);
      if (res.statusCode === 304) {
        await this.#finishExchange(opened, 'GET', 'not-modified');
        return { kind: 'not-modified', ...validatorsOf(res.headers) };
      }
      if (ABSENT.has(res.statusCode)) {
        await this.#finishExchange(opened, 'GET', 'absent');
        return { kind: 'absent', status: res.statusCode };
      }
      return this.#failStatus(opened, 'GET', req.path, url);
    });
  }

  /** GETs a small auxiliary file (signature, checksum list) into memory. */
  fetchSmall(path: string, maxBytes: number, options: { accept?: string } = {}): Promise<SmallResult> {
    return this.#answered('GET', path, options, async (opened) => {
      const contentLength = this.#checkAnnouncedLength(opened, path, maxBytes);
      const sink = new MemorySink();
      await this.#receive(opened, path, { maxBytes, contentLength }, sink);
      this.#log.report('GET', opened.url, opened.started, 'fetched', 200);
      const contentType = header(opened.res.headers, 'content-type');
      return contentType === undefined ? { kind: 'fetched', bytes: sink.bytes() } : { kind: 'fetched', bytes: sink.bytes(), contentType };
    });
  }

  /**
   * HEADs `path` and returns the response header `name`: a cheap check of whether a mutable
   * object changed when the upstream names its revision in a header (registries' Docker-Content-Digest,
   * and HEADs do not count against their pull limits).
   */
  head(path: string, name: string, options: { accept?: string } = {}): Promise<HeadResult> {
    return this.#answered('HEAD', path, options, async (opened) => {
      await this.#finishExchange(opened, 'HEAD', 'fetched');
      return { kind: 'present', value: header(opened.res.headers, name) };
    });
  }

  /** One request with retries: 200 goes to `onOk`, 404/410 is `absent`, anything else an error. */
  #answered<T>(method: 'GET' | 'HEAD', path: string, options: { accept?: string }, onOk: (opened: Opened) => Promise<T>): Promise<T | { kind: 'absent'; status: number }> {
    const headers: Record<string, string> = options.accept ? { accept: options.accept } : {};
    return withRetries(this.#retryPolicy(method, path), async () => {
      const opened = await this.#open(method, path, headers, false);
      if (ABSENT.has(opened.res.statusCode)) {
        await this.#finishExchange(opened, method, 'absent');
        return { kind: 'absent', status: opened.res.statusCode };
      }
      if (opened.res.statusCode !== 200) return this.#failStatus(opened, method, path, opened.url);
      return onOk(opened);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#agent.close(), this.#publicAgent.close()]);
  }

  async #receiveToTemp(opened: Opened, req: UpstreamRequest, createTemp: () => Promise<TempBlob>): Promise<UpstreamResult> {
    const { res, url } = opened;
    // Refuse before touching the store when the upstream announces too much.
    const contentLength = this.#checkAnnouncedLength(opened, req.path, req.maxBytes);
    let temp: TempBlob;
    try {
      temp = await createTemp();
    } catch (err) {
      abandonBody(res.body);
      this.#log.report('GET', url, opened.started, 'store-error', 200);
      throw err;
    }
    // Only when the body announces a length that fits: an unannounced one is not copied at all.
    const keep = req.keepInMemory !== undefined && contentLength !== undefined && contentLength <= req.keepInMemory ? new KeepSmallSink(temp, req.keepInMemory) : undefined;
    try {
      req.onBody?.({ temp, contentLength, contentType: header(res.headers, 'content-type') });
      await this.#receive(opened, req.path, { maxBytes: req.maxBytes, contentLength }, keep ?? temp);
      await temp.finish();
    } catch (err) {
      await temp.abort(err instanceof Retryable ? err.error : err).catch(() => undefined);
      throw err;
    }
    this.#log.report('GET', url, opened.started, 'fetched', 200);
    const contentType = header(res.headers, 'content-type');
    const bytes = keep?.bytes();
    return {
      kind: 'fetched',
      body: temp,
      ...validatorsOf(res.headers),
      ...(contentType === undefined ? {} : { contentType }),
      url: redactUrl(url),
      ...(bytes ? { bytes } : {}),
    };
  }

  /** Streams a 200 body into `sink`; throws (Retryable where another attempt may help). */
  async #receive(opened: Opened, path: string, limits: DrainLimits, sink: ByteSink): Promise<void> {
    const { maxBytes } = limits;
    let drained: DrainResult;
    try {
      drained = await drainBody(opened.res.body, sink, limits);
    } catch (err) {
      this.#log.report('GET', opened.url, opened.started, 'store-error', 200);
      throw err;
    }
    const { url, started } = opened;
    switch (drained.kind) {
      case 'complete':
        return;
      case 'too-large':
        this.#log.report('GET', url, started, 'too-large', 200);
        throw this.#log.error('UPSTREAM_TOO_LARGE', `Upstream response for "${path}" exceeds the limit of ${maxBytes} bytes`, path, url, { limit: maxBytes });
      case 'length-mismatch':
        this.#log.report('GET', url, started, 'truncated', 200);
        throw new Retryable(
          this.#log.error('UPSTREAM_TRUNCATED', `Upstream response for "${path}" has ${drained.bytes} of ${drained.expected} announced bytes`, path, url),
        );
      case 'transport': {
        const timeout = isTimeout(drained.cause);
        this.#log.report('GET', url, started, timeout ? 'timeout' : 'truncated', 200);
        const reason = transportReason(drained.cause);
        throw new Retryable(
          timeout
            ? this.#log.error('UPSTREAM_TIMEOUT', `Upstream stalled while sending "${path}": ${reason}`, path, url, {}, drained.cause)
            : this.#log.error('UPSTREAM_TRUNCATED', `Upstream response for "${path}" ended after ${drained.bytes} bytes: ${reason}`, path, url, {}, drained.cause),
        );
      }
      default:
        return assertNever(drained);
    }
  }

  #checkAnnouncedLength(opened: Opened, path: string, maxBytes: number): number | undefined {
    const contentLength = parseContentLength(header(opened.res.headers, 'content-length'));
    if (contentLength !== undefined && contentLength > maxBytes) {
      abandonBody(opened.res.body);
      this.#log.report('GET', opened.url, opened.started, 'too-large', 200);
      throw this.#log.error('UPSTREAM_TOO_LARGE', `Upstream announces ${contentLength} bytes for "${path}", over the limit of ${maxBytes}`, path, opened.url, {
        limit: maxBytes,
      });
    }
    return contentLength;
  }

  /**
   * Sends the request (see #openOnce); a 401 with a Bearer challenge is answered once with a
   * token from the challenge's realm (registry token auth) and the request repeated. Only a
   * challenge from the upstream's own origin is answered: one from a redirect target would let
   * that host name the realm, i.e. where the mirror sends its credentials and requests.
   */
  async #open(method: string, path: string, headers: Record<string, string>, digestKnown: boolean): Promise<Opened> {
    const cached = this.#tokens.cachedFor(path);
    const opened = await this.#openOnce(method, path, headers, digestKnown, cached);
    if (opened.res.statusCode !== 401 || !this.#policy.acceptsChallengeFrom(opened.url)) return opened;
    const challenge = parseBearerChallenge(header(opened.res.headers, 'www-authenticate'));
    if (!challenge) return opened;
    await this.#finishExchange(opened, method, 'bad-status');
    let token: string;
    try {
      token = await this.#tokens.answer(path, challenge, cached);
    } catch (err) {
      // BearerTokens knows the realm, not which repository and object asked: add them.
      if (!isMirrorError(err)) throw err;
      throw new MirrorError(err.code, err.message, { repository: this.repository, object: path, ...err.details }, { cause: err.cause });
    }
    return this.#openOnce(method, path, headers, digestKnown, token);
  }

  /** Sends the request and follows the redirects the OriginPolicy allows; resolves with the first non-redirect response. */
  async #openOnce(method: string, path: string, headers: Record<string, string>, digestKnown: boolean, bearer?: string): Promise<Opened> {
    let { url, route } = this.#start(path, digestKnown);
    for (let hop = 0; ; hop++) {
      const started = performance.now();
      let res: Dispatcher.ResponseData;
      try {
        res = await this.#dispatcher(route).request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: method as Dispatcher.HttpMethod,
          headers: this.#headersFor(url, headers, bearer),
        });
      } catch (cause) {
        const timeout = isTimeout(cause);
        this.#log.report(method, url, started, timeout ? 'timeout' : 'network-error');
        this.#throwIfNonPublic(cause, path, url);
        const reason = transportReason(cause);
        throw new Retryable(
          timeout
            ? this.#log.error('UPSTREAM_TIMEOUT', `Upstream did not answer in time for "${path}": ${reason}`, path, url, {}, cause)
            : this.#log.error('UPSTREAM_UNAVAILABLE', `Cannot reach upstream for "${path}": ${reason}`, path, url, {}, cause),
        );
      }
      if (!REDIRECTS.has(res.statusCode)) return { res, url, started };

      const location = header(res.headers, 'location');
      await this.#finishExchange({ res, url, started }, method, 'redirect');
      const next = location === undefined ? undefined : resolveRedirect(url, location);
      if (!next) {
        throw this.#log.error('UPSTREAM_BAD_STATUS', `Upstream sent an unusable redirect (${res.statusCode}) for "${path}"`, path, url, {
          status: res.statusCode,
        });
      }
      if (hop >= this.#maxRedirects) {
        throw this.#log.error('UPSTREAM_TOO_MANY_REDIRECTS', `Upstream redirected more than ${this.#maxRedirects} times for "${path}"`, path, url);
      }
      const verdict = this.#policy.redirect(next, digestKnown);
      if (verdict.kind === 'refused') {
        throw this.#log.error('UPSTREAM_BAD_STATUS', `Upstream redirect for "${path}" refused: ${verdict.reason}`, path, url, {
          status: res.statusCode, reason: 'redirect-refused', target: next.origin,
        });
      }
      url = next;
      route = verdict;
    }
  }

  #dispatcher(route: OpenRoute): Agent {
    return route.kind === 'public-only' ? this.#publicAgent : this.#agent;
  }

  /** A name the upstream chose resolved to an internal address: refused, not retried (it is no outage). */
  #throwIfNonPublic(cause: unknown, path: string, url: URL): void {
    const refused = nonPublicCause(cause);
    if (refused === undefined) return;
    throw this.#log.error('UPSTREAM_BAD_STATUS', `Upstream sent the mirror to ${url.origin} for "${path}", refused: ${refused}`, path, url, {
      reason: 'non-public-address',
    }, cause);
  }

  /**
   * The URL a request passed through unchanged may go to (NuGet search): the upstream's own origin
   * or one in `redirects.allow`, whatever the address; anything else is refused (BAD_PATH).
   */
  passThroughUrl(url: string): URL {
    return this.#start(url, false).url;
  }

  /**
   * Where a request starts: a path under the base URL, or an absolute URL a format took from an index
   * (a Python page's file on another host), judged by the OriginPolicy exactly like a redirect target:
   * only the upstream's origin or one in `redirects.allow` (or a public address for a digest-named
   * object), and never with the credentials off the upstream's origin.
   */
  #start(path: string, digestKnown: boolean): { url: URL; route: OpenRoute } {
    if (!/^https?:\/\//i.test(path)) return { url: joinUpstreamPath(this.#base, path), route: { kind: 'trusted', credentials: true } };
    const url = resolveRedirect(this.#base, path);
    const verdict = url ? this.#policy.redirect(url, digestKnown) : { kind: 'refused' as const, reason: 'the URL is not usable' };
    if (!url || verdict.kind === 'refused') {
      throw new MirrorError('BAD_PATH', `Refused to fetch ${redactUrl(path)}: ${verdict.kind === 'refused' ? verdict.reason : ''}`, { repository: this.repository, object: redactUrl(path) });
    }
    return { url, route: verdict };
  }

  #headersFor(url: URL, extra: Record<string, string>, bearer?: string): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, 'accept-encoding': 'identity', ...extra };
    // Credentials (and registry tokens) belong to the configured origin only, never to a redirect target.
    const authorization = bearer !== undefined ? `Bearer ${bearer}` : this.#authorization;
    if (authorization !== undefined && url.origin === this.#base.origin) headers['authorization'] = authorization;
    return headers;
  }

  /** GET for the token endpoint: no redirects, no upstream credentials beyond what BearerTokens adds. */
  async #tokenRequest(url: URL, headers: Record<string, string>, route: OpenRoute): Promise<{ status: number; body: Buffer }> {
    const started = performance.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatcher(route).request({
        origin: url.origin, path: url.pathname + url.search, method: 'GET', headers: { 'user-agent': this.#userAgent, ...headers },
      });
    } catch (cause) {
      this.#log.report('GET', url, started, isTimeout(cause) ? 'timeout' : 'network-error');
      this.#throwIfNonPublic(cause, url.pathname, url);
      throw this.#log.error('UPSTREAM_UNAVAILABLE', `Cannot reach the upstream's token endpoint: ${transportReason(cause)}`, url.pathname, url, {}, cause);
    }
    const sink = new MemorySink();
    const drained = await drainBody(res.body, sink, { maxBytes: 64 * 1024, contentLength: undefined });
    this.#log.report('GET', url, started, drained.kind === 'complete' ? 'fetched' : 'truncated', res.statusCode);
    return { status: res.statusCode, body: drained.kind === 'complete' ? sink.bytes() : Buffer.alloc(0) };
  }

  async #failStatus(opened: Opened, method: string, path: string, url: URL): Promise<never> {
    const status = opened.res.statusCode;
    const serverError = status >= 500;
    await this.#finishExchange(opened, method, serverError ? 'server-error' : 'bad-status');
    if (serverError) {
      throw new Retryable(this.#log.error('UPSTREAM_UNAVAILABLE', `Upstream answered ${status} for "${path}"`, path, url, { status }));
    }
    throw this.#log.error('UPSTREAM_BAD_STATUS', `Upstream answered ${status} for "${path}"`, path, url, { status });
  }

  /** Discards the body of a response we do not keep (so the connection can be reused). */
  async #finishExchange(opened: Opened, method: string, outcome: UpstreamOutcome): Promise<void> {
    await opened.res.body.dump().catch(() => undefined);
    this.#log.report(method, opened.url, opened.started, outcome, opened.res.statusCode);
  }

  #retryPolicy(method: string, path: string): RetryPolicy {
    return {
      method,
      retries: this.#retries,
      backoff: this.#backoff,
      beforeAttempt: () => {
        if (this.#closed) throw this.#log.error('UPSTREAM_UNAVAILABLE', `Upstream client for "${this.repository}" is closed`, path, this.#base);
      },
      onRetry: (error, attempt, delayMs) => this.#log.retrying(error, attempt, delayMs),
    };
  }
}

/** The message of a NonPublicAddressError anywhere in a transport error's chain (undici wraps connect errors). */
function nonPublicCause(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 4) return undefined;
  if ((err as { code?: unknown }).code === 'ERR_NON_PUBLIC_ADDRESS') return (err as Error).message;
  for (const inner of [(err as { cause?: unknown }).cause, ...((err as { errors?: unknown[] }).errors ?? [])]) {
    const found = inner !== err ? nonPublicCause(inner, depth + 1) : undefined;
    if (found) return found;
  }
  return undefined;
}

function assertNever(value: never): never {
  throw new Error(`Unexpected drain result: ${JSON.stringify(value)}`);
}
