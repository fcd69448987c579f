/** tags/list paging of the oci format: query parsing, store paths, pages made from upstream answers, next links. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOciPath } from '../../src/formats/oci/oci-path.js';
import { classifyTags, nextLink, pageView, parseTagsQuery, STORED_PAGES_PER_IMAGE, TAGS_PAGE_VIEW } from '../../src/formats/oci/tags-page.js';

const doc = (tags: string[] | null): Buffer => Buffer.from(JSON.stringify({ name: 'demo/app', tags }));
const tagsOf = (bytes: Buffer): string[] => (JSON.parse(bytes.toString()) as { tags: string[] }).tags;

test('n and last: validated, n clamped to 10000, other parameters ignored', () => {
  assert.deepEqual(parseTagsQuery(''), { ok: true, page: undefined });
  assert.deepEqual(parseTagsQuery('ns=upstream.example'), { ok: true, page: undefined });
  assert.deepEqual(parseTagsQuery('last=v1&n=2&ns=x'), { ok: true, page: { n: 2, last: 'v1' } });
  assert.deepEqual(parseTagsQuery('n=123456'), { ok: true, page: { n: 10_000 } });
  for (const [q, parameter] of [['n=0', 'n'], ['n=-2', 'n'], ['n=2.5', 'n'], ['n=1e3', 'n'], ['n=', 'n'], ['n=1&n=1', 'n'],
    ['last=', 'last'], ['last=.v', 'last'], ['last=a%2Fb', 'last'], ['last=a&last=b', 'last']] as const) {
    const r = parseTagsQuery(q);
    assert.equal(r.ok, false, q);
    if (!r.ok) assert.equal(r.parameter, parameter, q);
  }
});

test('paths: the query is read for tags/list only; store paths and view names carry one normalized page', () => {
  assert.deepEqual(parseOciPath('demo/tags/list?last=b&n=2'), { ok: true, path: { kind: 'tags', name: 'demo', page: { n: 2, last: 'b' } } });
  assert.deepEqual(parseOciPath('demo/tags/list?ns=x'), { ok: true, path: { kind: 'tags', name: 'demo' } });
  assert.deepEqual(parseOciPath('demo/manifests/v1?ns=x&n=abc'), { ok: true, path: { kind: 'manifest', name: 'demo', tag: 'v1' } });
  assert.deepEqual(parseOciPath('demo/tags/list?n=0'), { ok: false, reason: 'n must be a positive integer, not "0"', parameter: 'n' });
  assert.deepEqual(classifyTags('demo', 'library/demo', { last: 'b', n: 2 }), {
    kind: 'view', view: `${TAGS_PAGE_VIEW}?n=2&last=b`, contentType: 'application/json', transient: true,
    of: {
      path: 'demo/tags/list?n=2&last=b', mutable: true, contentType: 'application/json', upstreamPath: 'v2/library/demo/tags/list?n=2&last=b',
      retain: { group: 'demo/tags/list?', keep: STORED_PAGES_PER_IMAGE },
    },
  });
  assert.equal(classifyTags('demo', 'demo', undefined).kind, 'object');
});

test('an upstream page is served byte for byte; an answer that ignored the page is paged in code-unit order', () => {
  const page = doc(['b', 'c']);
  assert.equal(pageView(`${TAGS_PAGE_VIEW}?n=2&last=a`, page), page);
  const everything = doc(['c', 'a', 'B', 'd', 'b']);
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?n=2`, everything)), ['B', 'a']);
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?n=2&last=a`, everything)), ['b', 'c']);
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?n=2&last=d`, everything)), []);
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?last=b`, everything)), ['c', 'd']);
  // All tags fit in n but unsorted: sorted, so the next page (after the last tag) is empty, not a repeat.
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?n=10`, everything)), ['B', 'a', 'b', 'c', 'd']);
  assert.deepEqual(tagsOf(pageView(`${TAGS_PAGE_VIEW}?n=10&last=d`, everything)), []);
  const none = doc(null);
  assert.equal(pageView(`${TAGS_PAGE_VIEW}?n=2`, none), none, 'no tags (null) is a page too');
});

test('next link: from the last tag of any non-empty page when n was given', () => {
  assert.equal(nextLink('hub', 'demo/app', { n: 2 }, doc(['a', 'b'])), '</v2/hub/demo/app/tags/list?n=2&last=b>; rel="next"');
  assert.equal(nextLink('hub', 'demo/app', { n: 5, last: 'a' }, doc(['b'])), '</v2/hub/demo/app/tags/list?n=5&last=b>; rel="next"');
  assert.equal(nextLink('hub', 'demo/app', { n: 2, last: 'b' }, doc([])), undefined);
  assert.equal(nextLink('hub', 'demo/app', { last: 'a' }, doc(['b'])), undefined);
});
