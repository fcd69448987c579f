/**
 * tags/list paging (distribution-spec "Listing Tags": `?n=<int>&last=<tag>`, answered with at
 * most n tags after `last` and a `Link: <…>; rel="next"` header while more may follow).
 *
 * The mirror asks the upstream for the same page and caches every page under its own store path,
 * then serves a view of it (see pageView) so that the response headers can be computed from the
 * page itself: no upstream header is kept. Upstreams that ignore n/last (CNCF distribution 2.8
 * answers every tag, unsorted) are paged by the mirror. Store paths and view names carry the page
 * in one normalized form (pageQuery).
 */
import type { Classified, ObjectRef } from '../types.js';
import { TAG } from './reference-grammar.js';

/** Larger requests are clamped (the spec lets a registry answer fewer tags with a Link, distribution 3 does the same). */
export const MAX_PAGE_SIZE = 10_000;
/** The view name prefix; the normalized page query follows after "?". */
export const TAGS_PAGE_VIEW = 'tags-page';
/**
 * Pages of one image kept in the store: `n` and `last` are the client's to choose, so each new
 * spelling would otherwise be a new stored object. Clients walking the Links of a list of up to
 * this many pages find them all cached; older pages are fetched again when asked for.
 */
export const STORED_PAGES_PER_IMAGE = 256;

const COUNT = /^[0-9]{1,9}$/;

export interface TagsPage {
  n?: number;
  last?: string;
}

export type TagsQuery =
  | { ok: true; page: TagsPage | undefined }
  | { ok: false; parameter: 'n' | 'last'; reason: string };

/** Reads n and last from a query string; other parameters (containerd's `ns`) are not part of the page. */
export function parseTagsQuery(query: string): TagsQuery {
  const params = new URLSearchParams(query);
  const ns = params.getAll('n');
  const lasts = params.getAll('last');
  if (ns.length > 1) return { ok: false, parameter: 'n', reason: 'n is given more than once' };
  if (lasts.length > 1) return { ok: false, parameter: 'last', reason: 'last is given more than once' };
  const page: TagsPage = {};
  const n = ns[0];
  if (n !== undefined) {
    if (!COUNT.test(n) || Number(n) < 1) return { ok: false, parameter: 'n', reason: `n must be a positive integer, not "${n.slice(0, 20)}"` };
    page.n = Math.min(Number(n), MAX_PAGE_SIZE);
  }
  const last = lasts[0];
  if (last !== undefined) {
    if (!TAG.test(last)) return { ok: false, parameter: 'last', reason: `last must be a tag, not "${last.slice(0, 80)}"` };
    page.last = last;
  }
  return { ok: true, page: page.n === undefined && page.last === undefined ? undefined : page };
}

/** The page as a query in one fixed order, so that equal pages share one store path and one view. */
export function pageQuery(page: TagsPage): string {
  const parts: string[] = [];
  if (page.n !== undefined) parts.push(`n=${page.n}`);
  if (page.last !== undefined) parts.push(`last=${encodeURIComponent(page.last)}`);
  return parts.join('&');
}

/**
 * The whole list as an object (bytes as the upstream sent them); a page as a view of the
 * upstream's answer to the same page, cached under a store path that names the page.
 */
export function classifyTags(name: string, upstreamName: string, page: TagsPage | undefined): Classified {
  const query = page ? `?${pageQuery(page)}` : '';
  const ref: ObjectRef = {
    path: `${name}/tags/list${query}`, mutable: true, contentType: 'application/json',
    upstreamPath: `v2/${upstreamName}/tags/list${query}`,
  };
  if (!page) return { kind: 'object', ...ref };
  const retained: ObjectRef = { ...ref, retain: { group: `${name}/tags/list?`, keep: STORED_PAGES_PER_IMAGE } };
  return { kind: 'view', of: retained, view: `${TAGS_PAGE_VIEW}${query}`, contentType: 'application/json', transient: true };
}

/**
 * The page a view names, from the upstream's (verified) answer. An answer that is such a page (in
 * code-unit order as distribution sorts, at most n tags, all after `last`) is served byte for byte;
 * any other is paged here, in that order. Re-paging an answer that was already a page changes
 * nothing, and the next page then starts after the last tag served whichever way the upstream
 * pages. (An upstream that sorts case-insensitively has its mixed-case pages re-sorted.)
 */
export function pageView(view: string, upstreamBytes: Buffer): Buffer {
  const parsed = parseTagsQuery(view.slice(TAGS_PAGE_VIEW.length + 1));
  const page = parsed.ok ? parsed.page : undefined;
  if (!page) return upstreamBytes;
  const doc = tagsDocument(upstreamBytes);
  const { n, last } = page;
  const sorted = doc.tags.every((t, i) => i === 0 || doc.tags[i - 1]! < t);
  const first = doc.tags[0];
  const isPage = sorted && (n === undefined || doc.tags.length <= n) && (last === undefined || first === undefined || first > last);
  if (isPage) return upstreamBytes;
  const after = doc.tags.filter((t) => last === undefined || t > last).sort(byCodeUnit);
  const tags = n === undefined ? after : after.slice(0, n);
  return Buffer.from(JSON.stringify(doc.name === undefined ? { tags } : { name: doc.name, tags }));
}

/**
 * The Link to the next page, for a page of n tags served at `/v2/<repository>/<name>/tags/list`.
 * Any non-empty page gets one: a registry may answer fewer than n tags and still have more (the
 * spec allows it with a Link, distribution 3 caps n at 1000), which the page alone cannot tell
 * apart from the end. Listings therefore end with one request answered by an empty page.
 */
export function nextLink(repository: string, name: string, page: TagsPage, pageBytes: Buffer): string | undefined {
  if (page.n === undefined) return undefined;
  const lastTag = tagsDocument(pageBytes).tags.at(-1);
  if (lastTag === undefined) return undefined;
  return `</v2/${repository}/${name}/tags/list?${pageQuery({ n: page.n, last: lastTag })}>; rel="next"`;
}

/** The tags of a tag list the format verified (JSON, `tags` a list or null); non-strings are dropped. */
function tagsDocument(bytes: Buffer): { name?: unknown; tags: string[] } {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { name?: unknown; tags?: unknown };
    const tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];
    return doc.name === undefined ? { tags } : { name: doc.name, tags };
  } catch {
    return { tags: [] };
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
