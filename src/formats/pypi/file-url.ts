/**
 * Where an upstream file lives, as a path under the upstream base URL. The URL comes from the
 * upstream's page (attacker-controlled): it may be relative to the page, and it must stay on the
 * upstream's origin and under its base path, since the mirror fetches files from there only.
 */
import { isDistFileName } from './names.js';

export type FileLocation = { ok: true; path: string } | { ok: false; reason: string };

/**
 * `pageUrl`: the URL the page was fetched from (`<base>simple/<project>/`). Returns the decoded
 * path relative to `base`, whose last segment must be `fileName`.
 */
export function locateFile(url: string, fileName: string, pageUrl: URL, base: URL): FileLocation {
  if (!isDistFileName(fileName)) return { ok: false, reason: `"${fileName.slice(0, 100)}" is not a file name the mirror serves` };
  const located = locateUnderBase(url, pageUrl, base);
  if (!located.ok) return located;
  const last = located.path.slice(located.path.lastIndexOf('/') + 1);
  if (last !== fileName) return { ok: false, reason: `its URL names ${last.slice(0, 100)}, not ${fileName}` };
  return located;
}

/** Any URL from the page (a file's, a provenance's) as a decoded path under the upstream base. */
export function locateUnderBase(url: string, pageUrl: URL, base: URL): FileLocation {
  let resolved: URL;
  try {
    resolved = new URL(url, pageUrl);
  } catch {
    return { ok: false, reason: 'its URL does not parse' };
  }
  if (resolved.origin !== base.origin) return { ok: false, reason: `it is hosted on ${resolved.origin}, not on the upstream's origin` };
  if (resolved.search !== '') return { ok: false, reason: 'its URL has a query string' };
  if (!resolved.pathname.startsWith(base.pathname)) return { ok: false, reason: 'its URL is outside the upstream base path' };
  let segments: string[];
  try {
    segments = resolved.pathname.slice(base.pathname.length).split('/').map((s) => decodeURIComponent(s));
  } catch {
    return { ok: false, reason: 'its URL has invalid percent-encoding' };
  }
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || /[\u0000-\u001f\u007f]/.test(s))) {
    return { ok: false, reason: 'its URL path has empty, dot or control-character segments' };
  }
  return { ok: true, path: segments.join('/') };
}
