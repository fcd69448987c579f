/**
 * Chart URLs in an index.yaml (attacker-controlled) and the repository paths they map to.
 * Helm resolves a relative `urls[0]` against the repository URL and downloads `<url>.prov` beside
 * it, matching the provenance by file name (https://helm.sh/docs/topics/chart_repository/,
 * helm/helm pkg/repo/chartrepo.go ResolveReferenceURL). The mirror serves a chart under the path
 * it has below the upstream base, so the file name never changes. A URL outside the upstream base
 * (another host, a query string) cannot be fetched through this repository and maps to nothing.
 */

/** The decoded repository path a chart URL names, or undefined when it is outside the upstream base. */
export function chartPathOf(url: string, base: URL): string | undefined {
  if (url.length > 4096) return undefined;
  let resolved: URL;
  try {
    resolved = new URL(url, new URL('index.yaml', base));
  } catch {
    return undefined;
  }
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') return undefined;
  if (resolved.origin !== base.origin || resolved.search !== '' || resolved.username || resolved.password) return undefined;
  if (!resolved.pathname.startsWith(base.pathname)) return undefined;
  const segments = resolved.pathname.slice(base.pathname.length).split('/');
  const decoded: string[] = [];
  for (const segment of segments) {
    let s: string;
    try {
      s = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (!isSafeSegment(s)) return undefined;
    decoded.push(s);
  }
  const path = decoded.join('/');
  return isChartPath(path) ? path : undefined;
}

/** A path the mirror serves as a chart archive: safe segments, ending in `.tgz`. */
export function isChartPath(path: string): boolean {
  return path.length <= 1024 && path.endsWith('.tgz') && path.length > 4 && path.split('/').every(isSafeSegment);
}

/** The file name Helm matches a `.prov` by. */
export function chartFileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function isSafeSegment(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return s !== '' && s !== '.' && s !== '..' && s !== '-' && !/[/\\\u0000-\u001f\u007f]/.test(s);
}
