/**
 * Registry token auth: an upstream answers 401 with `WWW-Authenticate: Bearer realm=…,
 * service=…,scope=…`; the client fetches a token from the realm (with Basic credentials
 * when configured, anonymously otherwise) and repeats the request with it. Tokens are
 * cached per (realm, service, scope) until shortly before they expire.
 * https://distribution.github.io/distribution/spec/auth/token/ (RFC 6750 challenge syntax).
 * The challenge and the token response are attacker-controlled: parsed defensively, the
 * realm judged by the OriginPolicy (no request to a realm it refuses), and the maps keyed
 * by upstream-chosen scopes and client-chosen image names are bounded LRUs.
 */
import { LRUCache } from 'lru-cache';
import { MirrorError, redactUrl } from '../errors.js';
import type { OriginPolicy, Route } from './origin-policy.js';

export interface BearerChallenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** Parses a Bearer challenge; undefined for other schemes or one without a realm. */
export function parseBearerChallenge(header: string | undefined): BearerChallenge | undefined {
  if (!header) return undefined;
  const m = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (let p = re.exec(m[1]!); p; p = re.exec(m[1]!)) {
    params.set(p[1]!.toLowerCase(), (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1'));
    if (p[0] === '') break;
  }
  const realm = params.get('realm');
  if (!realm) return undefined;
  const out: BearerChallenge = { realm };
  const service = params.get('service');
  const scope = params.get('scope');
  if (service) out.service = service;
  if (scope) out.scope = scope;
  return out;
}

/** Fetches a URL with optional headers the way `route` says; returns status and body (the client's own transport). */
export type TokenTransport = (url: URL, headers: Record<string, string>, route: Exclude<Route, { kind: 'refused' }>) => Promise<{ status: number; body: Buffer }>;

const DEFAULT_EXPIRES_S = 60;
const MAX_TOKEN_RESPONSE = 64 * 1024;

/** Default bounds: a busy mirror pulls a few hundred images at once; past that, tokens are simply fetched again. */
export const DEFAULT_TOKEN_BOUNDS = { tokens: 1024, challenges: 4096 };

export class BearerTokens {
  readonly #tokens: LRUCache<string, { token: string; expiresAt: number }>;
  /** Which challenge a request path met last (keyed by the path minus its last two segments). */
  readonly #challengeFor: LRUCache<string, BearerChallenge>;
  /** Bounded by the requests in flight, each of which holds at most one entry. */
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #basic: string | undefined;
  readonly #policy: OriginPolicy;
  readonly #transport: TokenTransport;

  constructor(options: { policy: OriginPolicy; basicAuthorization?: string; transport: TokenTransport; bounds?: { tokens: number; challenges: number } }) {
    this.#policy = options.policy;
    this.#basic = options.basicAuthorization;
    this.#transport = options.transport;
    const bounds = options.bounds ?? DEFAULT_TOKEN_BOUNDS;
    this.#tokens = new LRUCache({ max: bounds.tokens });
    this.#challengeFor = new LRUCache({ max: bounds.challenges });
  }

  /** Entries held (for tests and metrics): both stay at or under their bounds. */
  get size(): { tokens: number; challenges: number; inFlight: number } {
    return { tokens: this.#tokens.size, challenges: this.#challengeFor.size, inFlight: this.#inFlight.size };
  }

  /** A still-valid token for a path whose scope is known from an earlier challenge. */
  cachedFor(path: string): string | undefined {
    const challenge = this.#challengeFor.get(pathKey(path));
    if (!challenge) return undefined;
    const known = this.#tokens.get(challengeKey(challenge));
    return known && known.expiresAt > Date.now() ? known.token : undefined;
  }

  /** Answers a challenge: a token from the realm (cached), remembered for the path's siblings. */
  async answer(path: string, challenge: BearerChallenge, rejected: string | undefined): Promise<string> {
    this.#challengeFor.set(pathKey(path), challenge);
    const key = challengeKey(challenge);
    const known = this.#tokens.get(key);
    if (known && known.expiresAt > Date.now() && known.token !== rejected) return known.token;
    let flight = this.#inFlight.get(key);
    if (!flight) {
      flight = this.#fetchToken(challenge).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, flight);
    }
    return flight;
  }

  async #fetchToken(challenge: BearerChallenge): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw new MirrorError('UPSTREAM_BAD_STATUS', `The upstream's token realm is not a URL: "${challenge.realm.slice(0, 200)}"`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new MirrorError('UPSTREAM_BAD_STATUS', `The upstream's token realm has an unsupported scheme: "${realm.protocol}"`);
    }
    const route = this.#policy.realm(realm);
    if (route.kind === 'refused') {
      throw new MirrorError('UPSTREAM_BAD_STATUS', `The upstream's token realm is refused: ${route.reason}`, { upstream: redactUrl(realm), reason: 'realm-refused' });
    }
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    if (challenge.scope) for (const s of challenge.scope.split(' ')) if (s) realm.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    // The configured credentials go only to a realm on the upstream's origin or one the operator listed.
    if (this.#basic && route.kind === 'trusted' && route.credentials) headers['authorization'] = this.#basic;
    const res = await this.#transport(realm, headers, route);
    if (res.status !== 200) {
      throw new MirrorError('UPSTREAM_BAD_STATUS', `The upstream's token endpoint answered ${res.status}`, { upstream: redactUrl(realm), status: res.status });
    }
    if (res.body.byteLength > MAX_TOKEN_RESPONSE) throw new MirrorError('UPSTREAM_BAD_STATUS', 'The upstream token response is too large', { upstream: redactUrl(realm) });
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new MirrorError('UPSTREAM_BAD_STATUS', 'The upstream token response is not JSON', { upstream: redactUrl(realm) });
    }
    const d = (doc ?? {}) as Record<string, unknown>;
    const token = typeof d.token === 'string' && d.token ? d.token : typeof d.access_token === 'string' ? d.access_token : '';
    if (!token || /[\r\n]/.test(token)) throw new MirrorError('UPSTREAM_BAD_STATUS', 'The upstream token response has no token', { upstream: redactUrl(realm) });
    const expiresIn = typeof d.expires_in === 'number' && d.expires_in > 0 ? d.expires_in : DEFAULT_EXPIRES_S;
    // Renew a little early so a request never leaves with a token about to lapse.
    const expiresAt = Date.now() + Math.max(1, expiresIn * 0.9 - 5) * 1000;
    this.#tokens.set(challengeKey(challenge), { token, expiresAt });
    return token;
  }
}

function challengeKey(c: BearerChallenge): string {
  return `${c.realm}\0${c.service ?? ''}\0${c.scope ?? ''}`;
}

/** `v2/library/alpine/manifests/latest` and `…/blobs/<digest>` share `v2/library/alpine`: one scope. */
function pathKey(path: string): string {
  const clean = path.split('?')[0]!.replace(/^\/+/, '');
  const parts = clean.split('/');
  return parts.slice(0, Math.max(1, parts.length - 2)).join('/');
}
