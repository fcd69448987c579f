/** Where the upstream's project page is: relative URLs in it resolve against this. */
export function pageUrl(base: URL, project: string): URL {
  return new URL(`simple/${encodeURIComponent(project)}/`, base);
}
