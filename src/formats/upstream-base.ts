/**
 * The configured upstream as formats compare URLs against it: without credentials (they are how
 * the mirror logs in, never part of what it writes or compares), query or fragment, its path
 * ending in "/" so relative URLs resolve beneath it.
 */
export function upstreamBaseUrl(upstream: string | undefined): URL {
  const url = new URL(upstream ?? 'http://upstream.invalid/');
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
