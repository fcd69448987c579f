/**
 * URL handling for one upstream: the base URL (credentials split off so they can never be
 * echoed), joining a request path under the base path, and resolving redirects.
 */
import { MirrorError, redactUrl } from '../errors.js';

export interface UpstreamBase {
  /** The base URL without userinfo, query or fragment; pathname always ends with "/". */
  url: URL;
  /** Credentials that were embedded in the base URL's userinfo, decoded. */
  username?: string;
  password?: string;
}

export function parseBaseUrl(baseUrl: string): UpstreamBase {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new MirrorError('CONFIG_INVALID', `Invalid upstream URL: "${redactUrl(baseUrl)}"`, {}, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MirrorError('CONFIG_INVALID', `Unsupported upstream URL scheme: "${url.protocol}"`, { upstream: redactUrl(url) });
  }
  const base: UpstreamBase = { url };
  if (url.username) base.username = decodeURIComponent(url.username);
  if (url.password) base.password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return base;
}

/**
 * Joins `path` (relative to the base; a leading "/" is ignored) under the base path. The
 * path was validated upstream of here, but dot segments or encoded tricks must still not
 * climb out of the base path, so the normalised result is checked against it.
 */
export function joinUpstreamPath(base: URL, path: string): URL {
  const q = path.indexOf('?');
  const rawPath = (q === -1 ? path : path.slice(0, q)).replace(/^\/+/, '');
  const query = q === -1 ? '' : path.slice(q);
  let url: URL;
  try {
    url = new URL(`${base.origin}${base.pathname}${rawPath}${query}`);
  } catch (cause) {
    throw new MirrorError('BAD_PATH', `Cannot join path to upstream URL: "${path}"`, { object: path }, { cause });
  }
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || url.hash !== '') {
    throw new MirrorError('BAD_PATH', `Path escapes the upstream base path: "${path}"`, { object: path });
  }
  return url;
}

/** Resolves a Location header against the URL that sent it; undefined if not followable. */
export function resolveRedirect(current: URL, location: string): URL | undefined {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    return undefined;
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') return undefined;
  // Userinfo in a Location header would smuggle credentials chosen by the upstream.
  if (next.username || next.password) return undefined;
  next.hash = '';
  return next;
}
