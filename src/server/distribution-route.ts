/**
 * The one routing rule that is not `/<repository>/…`: Docker and OCI clients always address
 * a registry at `/v2/`, so `/v2/<repository>/<image…>/…` goes to the repository named by the
 * first segment, which must have format `oci` (DESIGN.md §3). Everything else about the
 * distribution API lives in src/formats/oci/.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints
 */
import type { ServerResponse } from 'node:http';
import { MirrorError } from '../errors.js';
import type { RenderedError } from '../formats/types.js';
import type { SafePath } from './safe-path.js';

export const DISTRIBUTION_FORMAT = 'oci';

export type DistributionRoute =
  /** `GET /v2/`: the API version check every client makes first. */
  | { kind: 'base' }
  /** `/v2/<repository>/<rest>`; `rest` keeps its percent-encoding for the path checks. */
  | { kind: 'repository'; name: string; rest: string };

export function matchDistribution(url: string): DistributionRoute | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  const m = /^\/v2\/([^/?]+)(\/.*)$/.exec(url);
  if (!m) return path.startsWith('/v2/') ? { kind: 'repository', name: path.slice(4), rest: '/' } : undefined;
  return { kind: 'repository', name: m[1]!, rest: m[2]! };
}

/** Longer queries are refused: the only ones the API reads are tags/list's `n` and `last`. */
const MAX_QUERY_LENGTH = 1024;

/**
 * The path the oci format classifies: the decoded segments, then the request's query after "?"
 * (tags/list paging; containerd adds `ns=<registry>` to every request, which the format ignores).
 * No segment may decode to a "?" of its own: names, tags and digests never hold one, and the
 * query must be unambiguous.
 */
export function distributionPath(safe: SafePath): string {
  if (safe.segments.some((s) => s.includes('?'))) throw new MirrorError('BAD_PATH', 'Refused path: a segment decodes to "?"');
  if (safe.query.length > MAX_QUERY_LENGTH) throw new MirrorError('BAD_PATH', `Refused path: the query is longer than ${MAX_QUERY_LENGTH} characters`);
  const path = safe.segments.join('/');
  return safe.query ? `${path}?${safe.query}` : path;
}

export function sendDistributionBase(res: ServerResponse, head: boolean): number {
  const body = '{}';
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'docker-distribution-api-version': 'registry/2.0',
  });
  res.end(head ? undefined : body);
  return 0;
}

/** A failure before any oci repository took the request, in the distribution-spec error shape. */
export function distributionError(err: MirrorError): RenderedError {
  const code = err.status === 404 ? 'NAME_UNKNOWN' : err.status === 400 ? 'NAME_INVALID' : err.status === 405 ? 'UNSUPPORTED' : 'UNKNOWN';
  return {
    status: err.status,
    contentType: 'application/json',
    body: JSON.stringify({ errors: [{ code, message: err.message, detail: { code: err.code, ...err.details } }] }),
  };
}

export function sendRendered(res: ServerResponse, rendered: RenderedError, head: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(rendered.status, {
    ...rendered.headers,
    'content-type': rendered.contentType,
    'content-length': Buffer.byteLength(rendered.body),
    'cache-control': 'no-store',
    'docker-distribution-api-version': 'registry/2.0',
  });
  res.end(head ? undefined : rendered.body);
}
