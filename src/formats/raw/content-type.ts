/**
 * The Content-Type a raw file is served with. The upstream's header is attacker-controlled: a
 * file served on the mirror's origin as text/html, image/svg+xml or JavaScript is stored XSS
 * against everyone who trusts that origin. Only a short list of types that no browser runs as
 * a document is passed on; everything else becomes application/octet-stream (a download).
 * Media types: RFC 9110 §8.3.1 (type "/" subtype *( OWS ";" OWS parameter )).
 */

export const RAW_FALLBACK_TYPE = 'application/octet-stream';

/** Types a browser shows as inert text or downloads; never html, xml, svg or script. */
const SAFE_TYPES = new Set([
  'text/plain',
  'application/json',
  'application/pgp-signature',
  'application/pgp-keys',
  'application/octet-stream',
  'application/gzip',
  'application/x-gzip',
  'application/x-tar',
  'application/x-xz',
  'application/x-bzip2',
  'application/zstd',
  'application/zip',
  'application/java-archive',
]);

/** Charsets passed on for text/plain; any other parameter is dropped (nothing reaches the header unparsed). */
const SAFE_CHARSETS = new Set(['utf-8', 'us-ascii', 'iso-8859-1']);

export function rawContentType(upstream: string | undefined): string {
  if (!upstream || upstream.length > 256) return RAW_FALLBACK_TYPE;
  const [essence = '', ...params] = upstream.split(';');
  const type = essence.trim().toLowerCase();
  if (!SAFE_TYPES.has(type)) return RAW_FALLBACK_TYPE;
  if (type !== 'text/plain') return type;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([A-Za-z0-9_-]+)"?\s*$/.exec(p);
    const charset = m?.[1]?.toLowerCase();
    if (charset && SAFE_CHARSETS.has(charset)) return `text/plain; charset=${charset}`;
  }
  return type;
}
