/**
 * Where one upstream client may send requests, and with which secrets. An upstream (or
 * anything between it and us) chooses redirect targets and token realms, so each is judged
 * here before a byte is sent:
 *
 * - the upstream's own origin (scheme, host, port) is trusted and gets the credentials;
 * - a redirect leaves that origin only for an origin the operator allowlisted
 *   (`redirects.allow`), or, when the object is named by its SHA-256 (the core checks the
 *   bytes against it, so the CDN serving them need not be trusted), for a public address;
 *   loopback, private, link-local and reserved targets only when allowlisted;
 * - credentials never follow a redirect off the origin; Basic credentials go to a token
 *   realm only on the upstream's origin or on one the operator listed (`credentialOrigins`);
 *   another realm is asked anonymously and only at a public address;
 * - a Bearer challenge is answered only when the upstream's own origin sent it.
 */
import { MirrorError } from '../errors.js';
import { addressClass } from './address-class.js';

export interface OriginPolicyOptions {
  /** Origins a redirect may lead to whatever their address (a CDN, an internal blob store). */
  redirectOrigins?: readonly string[];
  /** Origins that may receive the configured credentials as token realms. */
  credentialOrigins?: readonly string[];
}

/**
 * How to reach a URL: `trusted` through the ordinary connection pool (the operator chose the
 * origin), `public-only` through the pool whose DNS lookup refuses non-public addresses.
 */
export type Route =
  | { kind: 'trusted'; credentials: boolean }
  | { kind: 'public-only' }
  | { kind: 'refused'; reason: string };

export class OriginPolicy {
  readonly #base: string;
  readonly #redirectOrigins: ReadonlySet<string>;
  readonly #credentialOrigins: ReadonlySet<string>;

  constructor(base: URL, options: OriginPolicyOptions = {}) {
    this.#base = base.origin;
    this.#redirectOrigins = new Set((options.redirectOrigins ?? []).map((o) => parseOrigin(o, 'redirects.allow')));
    this.#credentialOrigins = new Set((options.credentialOrigins ?? []).map((o) => parseOrigin(o, 'credentialOrigins')));
  }

  /** Only the upstream itself may ask the mirror to fetch a token (anyone else: blind SSRF, leaked secrets). */
  acceptsChallengeFrom(url: URL): boolean {
    return url.origin === this.#base;
  }

  /** Whether a redirect hop to `target` may be followed; `digestKnown` when the object is named by its SHA-256. */
  redirect(target: URL, digestKnown: boolean): Route {
    if (target.origin === this.#base) return { kind: 'trusted', credentials: true };
    if (this.#redirectOrigins.has(target.origin)) return { kind: 'trusted', credentials: false };
    if (!digestKnown) return { kind: 'refused', reason: `a redirect to ${target.origin} leaves the upstream's origin and is not allowlisted` };
    return publicOnly(target, 'a redirect');
  }

  /** Where a Bearer challenge's token realm may be fetched, and whether with the Basic credentials. */
  realm(realm: URL): Route {
    if (realm.origin === this.#base || this.#credentialOrigins.has(realm.origin)) return { kind: 'trusted', credentials: true };
    return publicOnly(realm, 'a token realm');
  }
}

function publicOnly(url: URL, what: string): Route {
  // Names are checked at connect time (public-lookup.ts); IP literals never reach a lookup.
  const host = url.hostname;
  const literal = /^[\d.]+$/.test(host) || host.startsWith('[');
  if (literal || host === 'localhost' || host.endsWith('.localhost')) {
    const kind = literal ? addressClass(host) : 'loopback';
    if (kind !== 'public') return { kind: 'refused', reason: `${what} to ${url.origin} points at a ${kind} address` };
  }
  return { kind: 'public-only' };
}

function parseOrigin(value: string, key: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MirrorError('CONFIG_INVALID', `${key}: "${value}" is not an origin (use e.g. https://cdn.upstream.example)`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    throw new MirrorError('CONFIG_INVALID', `${key}: "${value}" is not an origin (scheme, host and optional port only)`);
  }
  return url.origin;
}
