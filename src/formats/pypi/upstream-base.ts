/** The upstream base URL without credentials, query or fragment, ending in "/": file URLs are judged against it. */
export function upstreamBase(upstream: string | undefined): URL {
  const url = new URL(upstream ?? 'http://upstream.invalid/');
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Where the upstream's project page is: relative URLs in it resolve against this. */
export function pageUrl(base: URL, project: string): URL {
  return new URL(`simple/${encodeURIComponent(project)}/`, base);
}
