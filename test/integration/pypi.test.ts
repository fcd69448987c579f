/**
 * The scenario matrix of STYLE.md for Python, against a fixture index on 127.0.0.1 that serves
 * real wheels (built by Python's zipfile with the wheel layout) with PEP 691 JSON and PEP 503 HTML
 * pages, with the real mirror (`verify: require`, `anchor: first-use`). Every `.asc` is checked
 * with the real gpg against the key the mirror publishes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildDists } from '../helpers/pypi-dists.js';
import { PypiFixture, type PublishedFile } from '../helpers/pypi-fixture.js';

const TTL_MS = 60_000;
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';

interface PageFile { filename: string; url: string; hashes: Record<string, string>; 'gpg-sig': boolean; yanked: boolean | string; 'core-metadata': unknown; 'requires-python'?: string; provenance?: string }
interface Page { meta: Record<string, unknown>; name: string; files: PageFile[]; versions?: string[] }

describe('pypi repository', () => {
  let upstream: FixtureUpstream;
  let index: PypiFixture;
  let mirror: RunningMirror;
  let dataDir: string;
  let beta10: PublishedFile;
  let alpha10: PublishedFile;

  before(async () => {
    upstream = await startFixtureUpstream();
    index = new PypiFixture(upstream);
    const [beta, alpha] = await Promise.all([
      buildDists({ name: 'cs-beta', version: '1.0' }),
      buildDists({ name: 'cs-alpha', version: '1.0', requires: ['cs-beta>=1.0'], requiresPython: '>=3.8' }),
    ]);
    beta10 = index.publish('cs-beta', '1.0', beta.wheel);
    index.publish('cs-beta', '1.0', beta.sdist, { yanked: 'broken <b>"build"</b> & more' });
    alpha10 = index.publish('cs-alpha', '1.0', alpha.wheel, { requiresPython: '>=3.8', provenance: true });
    dataDir = await makeDataDir();
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'py', format: 'pypi', upstream: upstream.url, verify: 'require', anchor: 'first-use', metadataTtl: `${TTL_MS}ms`, retries: 0 }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  const page = async (project: string): Promise<{ res: Response; doc: Page }> => {
    const res = await mirror.get(`/py/simple/${project}/`, { headers: { accept: PIP_ACCEPT } });
    assert.equal(res.status, 200, await res.clone().text());
    return { res, doc: (await res.json()) as Page };
  };
  const bytesOf = async (url: string): Promise<Buffer> => {
    const res = await fetch(url);
    assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const orgKeys = async (): Promise<string> => (await mirror.get('/-/keys/openpgp.asc')).text();

  test('cold miss: the JSON page lists the files on the mirror, hashes, requires-python, yanked and metadata kept', async () => {
    const { res, doc } = await page('cs-beta');
    assert.equal(res.headers.get('content-type'), JSON_TYPE);
    assert.equal(res.headers.get('vary'), 'Accept');
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified; .*anchor=first-use/);
    assert.equal(doc.name, 'cs-beta');
    assert.equal(doc.meta['api-version'], '1.1');
    assert.deepEqual(doc.versions, ['1.0']);
    const wheel = doc.files.find((f) => f.filename === beta10.filename)!;
    assert.ok(wheel.url.startsWith(`${mirror.url}/py/files/cs-beta/packages/`), wheel.url);
    assert.deepEqual(wheel.hashes, { sha256: beta10.sha256 });
    assert.equal(wheel['gpg-sig'], true);
    assert.deepEqual(wheel['core-metadata'], { sha256: beta10.metadataSha256 });
    assert.ok(!('dist-info-metadata' in wheel), 'PEP 714: no legacy key in JSON (older pips fail on it)');
    const sdist = doc.files.find((f) => f.filename.endsWith('.tar.gz'))!;
    assert.equal(sdist.yanked, 'broken <b>"build"</b> & more');
    const alpha = (await page('cs-alpha')).doc.files[0]!;
    assert.equal(alpha['requires-python'], '>=3.8');
  });

  test('HTML by content negotiation: PEP 503 anchors with hash fragments and escaped attributes', async () => {
    const res = await mirror.get('/py/simple/CS_Beta', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.pypi.simple.v1+html');
    const html = await res.text();
    assert.match(html, /<meta name="pypi:repository-version" content="1.1">/);
    assert.ok(html.includes(`${beta10.filename}#sha256=${beta10.sha256}" data-dist-info-metadata="sha256=${beta10.metadataSha256}" data-core-metadata="sha256=${beta10.metadataSha256}" data-gpg-sig="true">${beta10.filename}</a>`), html);
    assert.ok(html.includes('data-yanked="broken &lt;b&gt;&quot;build&quot;&lt;/b&gt; &amp; more"'), html);
    assert.ok(!html.includes('<b>'), 'no upstream markup reaches the page');
    const alphaHtml = await (await mirror.get('/py/simple/cs-alpha/', { headers: { accept: 'application/vnd.pypi.simple.v1+html' } })).text();
    assert.match(alphaHtml, /data-requires-python="&gt;=3.8"/);
  });

  test('files, metadata and their .asc: bytes as published, signatures by the org primary key (gpg)', async () => {
    const { doc } = await page('cs-beta');
    const keys = await orgKeys();
    for (const f of doc.files) {
      const bytes = await bytesOf(f.url);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), f.hashes.sha256);
      const sig = await bytesOf(`${f.url}.asc`);
      const v = await gpgVerify(keys, bytes, sig);
      assert.ok(v.ok, `${f.filename}.asc: ${v.status}`);
      const metadata = await bytesOf(`${f.url}.metadata`);
      assert.equal(createHash('sha256').update(metadata).digest('hex'), beta10.metadataSha256);
      assert.ok((await gpgVerify(keys, metadata, await bytesOf(`${f.url}.metadata.asc`))).ok);
    }
    // Negative control for gpg: the signature over one file does not verify another.
    const [a, b] = doc.files;
    assert.equal((await gpgVerify(keys, await bytesOf(a!.url), await bytesOf(`${b!.url}.asc`))).ok, false);
  });

  test('warm hit: pages and files are served without an upstream request', async () => {
    const { doc } = await page('cs-beta');
    await bytesOf(doc.files[0]!.url);
    upstream.resetCounts();
    const again = await page('cs-beta');
    assert.equal(again.res.headers.get('x-cache'), 'HIT');
    const res = await fetch(doc.files[0]!.url);
    assert.equal(res.headers.get('x-cache'), 'HIT');
    await res.arrayBuffer();
    assert.equal(upstream.requests(), 0);
  });

  test('revalidation after the TTL picks up a new release; the HTML view agrees with the JSON one', async () => {
    const { wheel } = await buildDists({ name: 'cs-beta', version: '1.1' });
    const beta11 = index.publish('cs-beta', '1.1', wheel);
    assert.equal((await page('cs-beta')).doc.files.length, 2, 'still fresh: the old page');
    mirror.advanceClock(TTL_MS + 1);
    const { res, doc } = await page('cs-beta');
    assert.notEqual(res.headers.get('x-cache'), 'HIT');
    assert.ok(doc.files.some((f) => f.filename === beta11.filename && f.hashes.sha256 === beta11.sha256));
    const html = await (await mirror.get('/py/simple/cs-beta/', { headers: { accept: 'text/html' } })).text();
    assert.ok(html.includes(`#sha256=${beta11.sha256}`));
  });

  test('upstream down: the cached page is served stale', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.setMode('/simple/cs-beta/', { status: 503 });
    try {
      const { res } = await page('cs-beta');
      assert.equal(res.headers.get('x-countersign-stale'), 'upstream-unavailable');
    } finally {
      upstream.clearModes();
    }
  });

  test('tampered file: refused with DIGEST_MISMATCH, nothing stored, then served once the upstream is right', async () => {
    const { wheel } = await buildDists({ name: 'cs-beta', version: '1.2' });
    const beta12 = index.publish('cs-beta', '1.2', wheel);
    mirror.advanceClock(TTL_MS + 1);
    const file = (await page('cs-beta')).doc.files.find((f) => f.filename === beta12.filename)!;
    upstream.setMode(beta12.path, 'tamper');
    const refused = await fetch(file.url);
    assert.equal(refused.status, 502);
    assert.equal(((await refused.json()) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal((await fetch(`${file.url}.asc`)).status, 502, 'no signature over refused bytes');
    upstream.clearModes();
    upstream.resetCounts();
    assert.equal(createHash('sha256').update(await bytesOf(file.url)).digest('hex'), beta12.sha256);
    assert.equal(upstream.requests(beta12.path), 1, 'fetched again: the tampered bytes were not stored');
  });

  test('a file whose hash changed after it was pinned is dropped from the page and refused', async () => {
    const { wheel } = await buildDists({ name: 'cs-beta', version: '1.3' });
    const first = index.publish('cs-beta', '1.3', wheel);
    mirror.advanceClock(TTL_MS + 1);
    assert.ok((await page('cs-beta')).doc.files.some((f) => f.filename === first.filename), 'pinned on first sight');
    // The upstream replaces the bytes behind the same file name (file names are never reused on a real index).
    const { wheel: other } = await buildDists({ name: 'cs-beta', version: '1.3', body: 'EVIL = True\n' });
    const replaced = index.publish('cs-beta', '1.3', other);
    assert.notEqual(replaced.sha256, first.sha256);
    mirror.advanceClock(TTL_MS + 1);
    const { doc } = await page('cs-beta');
    assert.ok(!doc.files.some((f) => f.filename === first.filename), 'the changed file is not listed');
    assert.ok(doc.files.some((f) => f.filename === beta10.filename), 'positive control: the other files still are');
    const atNewPath = await mirror.get(`/py/files/cs-beta${replaced.path}`);
    assert.equal(atNewPath.status, 502);
    assert.equal(((await atNewPath.json()) as { code: string }).code, 'VERIFICATION_FAILED', 'no verified page vouches for it');
    // The same bytes behind the URL the first page named: they do not match the hash pinned for it.
    upstream.setFile(first.path, other.bytes);
    const atOldPath = await mirror.get(`/py/files/cs-beta${first.path}`);
    assert.equal(atOldPath.status, 502);
    assert.equal(((await atOldPath.json()) as { code: string }).code, 'DIGEST_MISMATCH');
  });

  test('a malformed page is refused and the previous page stays served', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.setHandler('/simple/cs-alpha/', (_req, res) => {
      res.writeHead(200, { 'content-type': JSON_TYPE });
      res.end('{"meta": {"api-version": "1.1"}, "name": "cs-alpha", "files": [');
    });
    try {
      const { res, doc } = await page('cs-alpha');
      assert.equal(res.headers.get('x-countersign-stale'), 'verification-failed');
      assert.equal(doc.files[0]?.filename, alpha10.filename);
    } finally {
      index.publish('cs-alpha', '1.0', { filename: alpha10.filename, bytes: await bytesOf(`${upstream.url}${alpha10.path}`), metadata: await bytesOf(`${upstream.url}${alpha10.path}.metadata`) }, { requiresPython: '>=3.8', provenance: true });
    }
  });

  test('rollback: a page with an older _last-serial is refused and the newer one stays served', async () => {
    mirror.advanceClock(TTL_MS + 1);
    const served = (await page('cs-beta')).doc.meta['_last-serial'] as number;
    index.serial = served - 50;
    mirror.advanceClock(TTL_MS + 1);
    try {
      const { res, doc } = await page('cs-beta');
      assert.equal(res.headers.get('x-countersign-stale'), 'rollback');
      assert.equal(doc.meta['_last-serial'], served);
    } finally {
      index.serial = served + 1;
    }
  });

  test('N concurrent requests for a cold file make one upstream fetch', async () => {
    const { wheel } = await buildDists({ name: 'cs-beta', version: '1.4' });
    const beta14 = index.publish('cs-beta', '1.4', wheel);
    mirror.advanceClock(TTL_MS + 1);
    const file = (await page('cs-beta')).doc.files.find((f) => f.filename === beta14.filename)!;
    upstream.resetCounts();
    const all = await Promise.all(Array.from({ length: 10 }, () => bytesOf(file.url)));
    for (const b of all) assert.equal(createHash('sha256').update(b).digest('hex'), beta14.sha256);
    assert.equal(upstream.requests(beta14.path), 1);
  });

  test('provenance is passed through on the mirror when it is about the vouched file, refused otherwise', async () => {
    const { doc } = await page('cs-alpha');
    const url = doc.files[0]!.provenance!;
    assert.equal(url, `${mirror.url}/py/provenance/cs-alpha/${alpha10.filename}`);
    const res = await fetch(url);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { attestation_bundles: unknown[] };
    assert.equal(body.attestation_bundles.length, 1);
    // An upstream that swaps in the provenance of another file is refused.
    const { wheel } = await buildDists({ name: 'cs-alpha', version: '2.0' });
    const alpha20 = index.publish('cs-alpha', '2.0', wheel, { provenance: true });
    upstream.setFile(`/integrity/cs-alpha/2.0/${alpha20.filename}/provenance`, await (await fetch(`${upstream.url}/integrity/cs-alpha/1.0/${alpha10.filename}/provenance`)).text());
    mirror.advanceClock(TTL_MS + 1);
    await page('cs-alpha');
    const swapped = await mirror.get(`/py/provenance/cs-alpha/${alpha20.filename}`);
    assert.equal(swapped.status, 502);
  });

  test('JSON API: file URLs on the mirror, has_sig, hashes kept', async () => {
    const res = await mirror.get('/py/pypi/cs-beta/json');
    assert.equal(res.status, 200, await res.clone().text());
    const doc = (await res.json()) as { releases: Record<string, { url: string; has_sig: boolean; digests: { sha256: string } }[]>; urls: unknown[] };
    const file = doc.releases['1.0']!.find((f) => f.digests.sha256 === beta10.sha256)!;
    assert.ok(file.url.startsWith(`${mirror.url}/py/files/cs-beta/`));
    assert.equal(file.has_sig, true);
    assert.ok((await gpgVerify(await orgKeys(), await bytesOf(file.url), await bytesOf(`${file.url}.asc`))).ok);
  });

  test('key rotation: new .asc by the new key, the old one still verifies', async () => {
    const url = (await page('cs-beta')).doc.files.find((f) => f.filename === beta10.filename)!.url;
    const bytes = await bytesOf(url);
    const oldSig = await bytesOf(`${url}.asc`);
    const oldId = mirror.app.keys.openpgpSigner().id;
    await mirror.app.keys.rotate('openpgp');
    const newId = mirror.app.keys.openpgpSigner().id;
    const newSig = await bytesOf(`${url}.asc`);
    const keys = await orgKeys();
    const vNew = await gpgVerify(keys, bytes, newSig);
    const vOld = await gpgVerify(keys, bytes, oldSig);
    assert.ok(vNew.ok && vNew.status.includes(`VALIDSIG ${newId}`), vNew.status);
    assert.ok(vOld.ok && vOld.status.includes(`VALIDSIG ${oldId}`), vOld.status);
  });

  test('paths that are no distribution file, page or API document are not proxied', async () => {
    upstream.resetCounts();
    for (const path of ['/py/files/cs-beta/simple/cs-beta', '/py/files/cs-beta/pypi/cs-beta/json', '/py/simple/', '/py/by-name/cs-beta/x.whl', '/py/simple/..%2fx/', '/py/files/CS_Beta/packages/x.whl']) {
      const res = await mirror.get(path);
      assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
      await res.arrayBuffer();
    }
    assert.equal(upstream.requests(), 0, 'nothing was asked of the upstream');
  });

  test('the client setup names the simple index and the org key', async () => {
    const text = await (await mirror.get('/py/-/setup')).text();
    assert.ok(text.includes(`index-url = ${mirror.url}/py/simple/`));
    assert.ok(text.includes(`pip install --index-url ${mirror.url}/py/simple/`));
    assert.ok(text.includes('uv pip install'));
  });
});
