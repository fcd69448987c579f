/**
 * Where an upstream file lives, and the path the mirror serves it under. The URL comes from the
 * upstream's page (attacker-controlled): it may be relative to the page, and it must stay on the
 * upstream's origin under its base path, or be on an origin the operator allowed for fetching
 * (`redirects.allow`, e.g. the index's separate files host). Anything else is refused.
 */
import { encodePath } from '../encode-path.js';
import { isDistFileName } from './names.js';

/**
 * `path`: decoded, relative to the repository's `files/<project>/`: the path under the upstream
 * base, or `~/<scheme>/<host>/<path>` for a file on another allowed origin.
 */
export type FileLocation = { ok: true; path: string } | { ok: false; reason: string };

/** The marker segment of files on another origin; a path under the base never starts with it. */
const ELSEWHERE = '~';

/** Allowed origins, normalised the way URL.origin writes them. */
export function originSet(origins: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((origins ?? []).map((o) => new URL(o).origin));
}

/** `pageUrl`: the URL the page was fetched from; the last segment must be `fileName`. */
export function locateFile(url: string, fileName: string, pageUrl: URL, base: URL, origins: ReadonlySet<string> = new Set()): FileLocation {
  if (!isDistFileName(fileName)) return { ok: false, reason: `"${fileName.slice(0, 100)}" is not a file name the mirror serves` };
  const located = locateUnderBase(url, pageUrl, base, origins);
  if (!located.ok) return located;
  const last = located.path.slice(located.path.lastIndexOf('/') + 1);
  if (last !== fileName) return { ok: false, reason: `its URL names ${last.slice(0, 100)}, not ${fileName}` };
  return located;
}

/** Any URL from the page (a file's, a provenance's) as a decoded mirror path (see FileLocation). */
export function locateUnderBase(url: string, pageUrl: URL, base: URL, origins: ReadonlySet<string> = new Set()): FileLocation {
  let resolved: URL;
  try {
    resolved = new URL(url, pageUrl);
  } catch {
    return { ok: false, reason: 'its URL does not parse' };
  }
  if (resolved.search !== '' || resolved.username !== '' || resolved.password !== '') return { ok: false, reason: 'its URL has a query string or credentials' };
  let prefix: string[];
  let rel: string;
  if (resolved.origin === base.origin) {
    if (!resolved.pathname.startsWith(base.pathname)) return { ok: false, reason: 'its URL is outside the upstream base path' };
    prefix = [];
    rel = resolved.pathname.slice(base.pathname.length);
  } else if (origins.has(resolved.origin)) {
    prefix = [ELSEWHERE, resolved.protocol.slice(0, -1), resolved.host];
    rel = resolved.pathname.slice(1);
  } else {
    return { ok: false, reason: `it is hosted on ${resolved.origin}, which is neither the upstream's origin nor in redirects.allow` };
  }
  let segments: string[];
  try {
    segments = rel.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return { ok: false, reason: 'its URL has invalid percent-encoding' };
  }
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || /[\u0000-\u001f\u007f]/.test(s))) {
    return { ok: false, reason: 'its URL path has empty, dot or control-character segments' };
  }
  if (prefix.length === 0 && segments[0] === ELSEWHERE) return { ok: false, reason: `its URL path starts with "${ELSEWHERE}"` };
  return { ok: true, path: [...prefix, ...segments].join('/') };
}

/** Where to fetch a mirror path made by locateUnderBase: a path under the base, or an absolute URL on an allowed origin. */
export function upstreamOf(path: string, origins: ReadonlySet<string>): string | undefined {
  const segments = path.split('/');
  if (segments[0] !== ELSEWHERE) return encodePath(path);
  const [, scheme, host, ...rest] = segments;
  if ((scheme !== 'http' && scheme !== 'https') || !host || rest.length === 0) return undefined;
  let origin: string;
  try {
    origin = new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
  return origins.has(origin) && origin === `${scheme}://${host}` ? `${origin}/${encodePath(rest.join('/'))}` : undefined;
}
