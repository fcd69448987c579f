/**
 * tags/list paging through the mirror (`?n=<int>&last=<tag>`, `Link: <…>; rel="next"`) against
 * Debian's docker-registry 2.8, which ignores n and last and answers every tag unsorted (the
 * mirror then pages the answer itself), and against the same registry behind a front that pages
 * as distribution 3 does, capping pages below n (the mirror then serves the upstream's pages).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { STORED_PAGES_PER_IMAGE } from '../../src/formats/oci/tags-page.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';
import { OciLayout } from '../helpers/oci-image.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const TAGS = ['v1', 'latest', 'alpha', 'Beta', '2.0', '1.1', '1.0'];
/** Code-unit order, as distribution sorts (upper case before lower case). */
const SORTED = ['1.0', '1.1', '2.0', 'Beta', 'alpha', 'latest', 'v1'];

interface Page { status: number; tags: string[]; link: string | null; cache: string | null }

describe('oci tags/list paging', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let layoutDir: string;

  before(async () => {
    registry = await startFixtureRegistry();
    layoutDir = await mkdtemp(join(tmpdir(), 'countersign-oci-tags-'));
    await new OciLayout(layoutDir).add({ tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64', files: { 'a.txt': 'a\n' } }] });
    await registry.push(layoutDir, 'v1', 'demo/app');
    const manifest = Buffer.from(await (await fetch(`http://${registry.backendHost}/v2/demo/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } })).arrayBuffer());
    for (const tag of TAGS.slice(1)) {
      const put = await fetch(`http://${registry.backendHost}/v2/demo/app/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
      assert.equal(put.status, 201);
    }
    mirror = await startMirror({
      repositories: [
        { name: 'hub', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0 },
        { name: 'paged', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0 },
      ],
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
    if (layoutDir) await rm(layoutDir, { recursive: true, force: true });
  });

  const page = async (path: string): Promise<Page> => {
    const res = await mirror.get(path);
    const body = (await res.json()) as { tags?: string[] | null };
    return { status: res.status, tags: body.tags ?? [], link: res.headers.get('link'), cache: res.headers.get('x-cache') };
  };
  /** Follows Link headers from `first` as clients do; every page must answer 200. */
  const walk = async (first: string): Promise<Page[]> => {
    const pages: Page[] = [];
    for (let next: string | undefined = first; next !== undefined;) {
      const p = await page(next);
      assert.equal(p.status, 200, next);
      pages.push(p);
      assert.ok(pages.length < 20, 'the Link chain ends');
      next = p.link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(p.link)?.[1];
      if (p.link !== null) assert.ok(next, `a Link the client can follow: ${p.link}`);
    }
    return pages;
  };
  const upstreamTagRequests = (): string[] => {
    const seen: string[] = [];
    registry.requests((path) => {
      if (path.includes('/tags/list')) seen.push(path);
      return false;
    });
    return seen;
  };

  test('the fixture registry ignores n and last (so the mirror has to page)', async () => {
    const res = await fetch(`${registry.url}/v2/demo/app/tags/list?n=2&last=alpha`);
    const doc = (await res.json()) as { tags: string[] };
    assert.equal(doc.tags.length, TAGS.length);
    assert.equal(res.headers.get('link'), null);
  });

  test('n pages in code-unit order with a Link to the next page; n and last reach the upstream', async () => {
    registry.resetCounts();
    const pages = await walk('/v2/hub/demo/app/tags/list?n=3');
    assert.deepEqual(pages.map((p) => p.tags), [SORTED.slice(0, 3), SORTED.slice(3, 6), SORTED.slice(6), []]);
    assert.deepEqual(pages.map((p) => p.link), [
      '</v2/hub/demo/app/tags/list?n=3&last=2.0>; rel="next"',
      '</v2/hub/demo/app/tags/list?n=3&last=latest>; rel="next"',
      '</v2/hub/demo/app/tags/list?n=3&last=v1>; rel="next"',
      null,
    ]);
    assert.deepEqual(upstreamTagRequests(), [
      '/v2/demo/app/tags/list?n=3', '/v2/demo/app/tags/list?n=3&last=2.0', '/v2/demo/app/tags/list?n=3&last=latest', '/v2/demo/app/tags/list?n=3&last=v1',
    ]);
  });

  test('each page is cached under its own path; the same page in another spelling is the same object', async () => {
    assert.ok(mirror.app.store.index.getObject('hub', 'demo/app/tags/list?n=3&last=2.0'));
    assert.ok(mirror.app.store.index.getObject('hub', 'demo/app/tags/list?n=3'));
    registry.resetCounts();
    const again = await page('/v2/hub/demo/app/tags/list?n=3&last=2.0');
    assert.equal(again.cache, 'HIT');
    assert.deepEqual(again.tags, SORTED.slice(3, 6));
    // Parameter order, and containerd's ns, do not make another page.
    const respelled = await page('/v2/hub/demo/app/tags/list?ns=upstream.example&last=2.0&n=3');
    assert.equal(respelled.cache, 'HIT');
    assert.equal(respelled.link, '</v2/hub/demo/app/tags/list?n=3&last=latest>; rel="next"');
    assert.equal(registry.requests(), 0);
  });

  test('without n: the whole list as the upstream sent it, no Link; last alone pages without a Link', async () => {
    const res = await mirror.get('/v2/hub/demo/app/tags/list');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('link'), null);
    const upstream = Buffer.from(await (await fetch(`http://${registry.backendHost}/v2/demo/app/tags/list`)).arrayBuffer());
    assert.deepEqual(bytes, upstream);
    const afterAlpha = await page('/v2/hub/demo/app/tags/list?last=alpha');
    assert.deepEqual(afterAlpha.tags, ['latest', 'v1']);
    assert.equal(afterAlpha.link, null);
  });

  test('n above 10000 is clamped to 10000', async () => {
    registry.resetCounts();
    const pages = await walk('/v2/hub/demo/app/tags/list?n=20000');
    assert.deepEqual(pages.map((p) => p.tags), [SORTED, []]);
    assert.equal(pages[0]!.link, '</v2/hub/demo/app/tags/list?n=10000&last=v1>; rel="next"');
    assert.deepEqual(upstreamTagRequests(), ['/v2/demo/app/tags/list?n=10000', '/v2/demo/app/tags/list?n=10000&last=v1']);
  });

  test('invalid n or last: 400 in the distribution error shape, nothing asked upstream', async () => {
    registry.resetCounts();
    for (const [query, code] of [
      ['n=0', 'PAGINATION_NUMBER_INVALID'], ['n=-1', 'PAGINATION_NUMBER_INVALID'], ['n=abc', 'PAGINATION_NUMBER_INVALID'],
      ['n=1&n=2', 'PAGINATION_NUMBER_INVALID'], ['n=', 'PAGINATION_NUMBER_INVALID'],
      ['last=..%2Fx', 'TAG_INVALID'], ['last=', 'TAG_INVALID'], [`last=${'a'.repeat(129)}`, 'TAG_INVALID'],
    ] as const) {
      const res = await mirror.get(`/v2/hub/demo/app/tags/list?${query}`);
      assert.equal(res.status, 400, query);
      const { errors } = (await res.json()) as { errors: { code: string; detail: { code: string } }[] };
      assert.equal(errors[0]?.code, code, query);
      assert.equal(errors[0]?.detail.code, 'BAD_PATH');
    }
    assert.equal(registry.requests(), 0);
  });

  test('an upstream that pages (capped below n, with its own Link): its pages served as sent, continued by the mirror\'s Link', async () => {
    registry.pageTags(2);
    try {
      registry.resetCounts();
      const first = await mirror.get('/v2/paged/demo/app/tags/list?n=3');
      const firstBytes = Buffer.from(await first.arrayBuffer());
      const upstreamFirst = Buffer.from(await (await fetch(`${registry.url}/v2/demo/app/tags/list?n=3`)).arrayBuffer());
      assert.deepEqual(firstBytes, upstreamFirst, 'a page the upstream made is served byte for byte');
      assert.equal(first.headers.get('link'), '</v2/paged/demo/app/tags/list?n=3&last=1.1>; rel="next"');
      const pages = await walk('/v2/paged/demo/app/tags/list?n=3');
      assert.deepEqual(pages.flatMap((p) => p.tags), SORTED);
      assert.deepEqual(pages.map((p) => p.tags.length), [2, 2, 2, 1, 0]);
    } finally {
      registry.pageTags(undefined);
    }
  });

  test('other paths ignore the query (containerd adds ns=<registry> to every request)', async () => {
    const plain = await mirror.get('/v2/hub/demo/app/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    const withNs = await mirror.get('/v2/hub/demo/app/manifests/v1?ns=upstream.example', { headers: { accept: OCI_MANIFEST } });
    assert.equal(withNs.status, 200);
    assert.equal(withNs.headers.get('docker-content-digest'), plain.headers.get('docker-content-digest'));
    const digest = plain.headers.get('docker-content-digest')!;
    const byDigest = await mirror.get(`/v2/hub/demo/app/manifests/${digest}?ns=upstream.example`);
    assert.equal(byDigest.status, 200);
    const encodedQuestionMark = await mirror.get('/v2/hub/demo/app/tags/list%3Fn=1');
    assert.equal(encodedQuestionMark.status, 400, 'a "?" inside a segment is refused, not read as a query');
  });

  test('pages are bounded: a client varying n cannot grow the store past the kept pages, and no page view is stored', async () => {
    const db = new Database(join(mirror.dataDir, 'index.sqlite'), { readonly: true });
    try {
      const pages = (): number => (db.prepare("SELECT count(*) AS c FROM objects WHERE repository = 'hub' AND path LIKE 'demo/app/tags/list?%'").get() as { c: number }).c;
      const views = (): number => (db.prepare("SELECT count(*) AS c FROM derived WHERE repository = 'hub' AND kind LIKE 'view:tags-page%'").get() as { c: number }).c;
      const spellings = STORED_PAGES_PER_IMAGE + 40;
      for (let n = 1; n <= spellings; n++) {
        const p = await page(`/v2/hub/demo/app/tags/list?n=${n}&last=1.0`);
        assert.equal(p.status, 200);
        assert.deepEqual(p.tags, SORTED.slice(1, 1 + n), `n=${n}`);
      }
      assert.equal(pages(), STORED_PAGES_PER_IMAGE, 'the oldest pages were forgotten');
      assert.equal(views(), 0, 'page views are made per request, never stored');
      // Positive control: a kept page is still served from the store without asking the upstream.
      registry.resetCounts();
      const recent = await page(`/v2/hub/demo/app/tags/list?n=${spellings}&last=1.0`);
      assert.equal(recent.cache, 'HIT');
      assert.equal(registry.requests(), 0);
      // A forgotten one is fetched again, correctly.
      const forgotten = await page('/v2/hub/demo/app/tags/list?n=2&last=1.0');
      assert.deepEqual(forgotten.tags, SORTED.slice(1, 3));
      assert.equal(registry.requests(), 1);
    } finally {
      db.close();
    }
  });
});
