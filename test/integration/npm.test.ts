/**
 * The npm format against a real fixture registry that signs like the public one (ECDSA
 * P-256 dist.signatures, /-/npm/v1/keys): the STYLE.md scenario matrix, per-version
 * rejection, and re-signing that npm's own verification rules accept.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CORGI_TYPE, startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;

interface Version { name: string; version: string; dist: { integrity: string; tarball: string; signatures: { keyid: string; sig: string }[]; attestations?: unknown } }
interface Doc { name: string; versions: Record<string, Version>; time?: Record<string, string>; 'dist-tags': Record<string, string> }

describe('npm repository', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    registry.publish({ name: 'alpha', version: '1.0.0' });
    registry.publish({ name: 'alpha', version: '1.1.0', attestations: true });
    registry.publish({ name: 'alpha', version: '1.2.0', signature: 'wrong-key' });
    registry.publish({ name: '@org/demo-b', version: '2.0.0', dependencies: { alpha: '^1.0.0' } });
    registry.publish({ name: 'tampered', version: '1.0.0', tamper: true });
    registry.publish({ name: 'unsigned', version: '1.0.0', signature: 'none' });
    registry.publish({ name: 'popular', version: '3.0.0' });
    mirror = await startMirror({
      repositories: [
        // The upstream's own keys, pinned on first use (require refuses them unpinned).
        { name: 'npm', format: 'npm', upstream: registry.url, verify: 'require', anchor: 'first-use', metadataTtl: `${TTL_MS}ms`, retries: 0 },
        { name: 'lenient', format: 'npm', upstream: registry.url, verify: 'warn', metadataTtl: '5m' },
        { name: 'pinned', format: 'npm', upstream: registry.url, trust: { keys: registry.keysDocument }, metadataTtl: '5m' },
      ],
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  const orgKey = () => createPublicKey(mirror.app.keys.cosignPublicPem());
  const getDoc = async (path: string, accept?: string): Promise<{ res: Response; doc: Doc }> => {
    const res = await mirror.get(path, accept ? { headers: { accept } } : {});
    return { res, doc: (await res.json()) as Doc };
  };

  test('cold packument: verified, re-signed by the org key only, tarballs at the mirror, time kept', async () => {
    const { res, doc } = await getDoc('/npm/alpha', 'application/json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(Object.keys(doc.versions).sort(), ['1.0.0', '1.1.0'], '1.2.0 (wrong key) is dropped');
    const upstreamDoc = registry.packument('alpha') as unknown as Doc;
    assert.deepEqual(doc.time, upstreamDoc.time);
    const keyId = mirror.app.keys.ecdsaSigner().id;
    for (const v of Object.values(doc.versions)) {
      assert.equal(v.dist.tarball, `${mirror.config.publicUrl}/npm/alpha/-/alpha-${v.version}.tgz`);
      assert.equal(v.dist.signatures.length, 1);
      assert.equal(v.dist.signatures[0]!.keyid, keyId);
      assert.ok(verify('sha256', Buffer.from(`alpha@${v.version}:${v.dist.integrity}`), orgKey(), Buffer.from(v.dist.signatures[0]!.sig, 'base64')));
      assert.equal(v.dist.attestations, undefined, 'attestations are removed deliberately');
    }
    const entry = mirror.app.store.index.getObject('npm', 'alpha');
    assert.equal(entry?.verification.rejected?.[0]?.item, '1.2.0');
    assert.match(entry?.verification.rejected?.[0]?.reason ?? '', /does not verify/);
  });

  test('abbreviated document by Accept, with the same dist and no time', async () => {
    const { res, doc } = await getDoc('/npm/alpha', `${CORGI_TYPE}; q=1.0, application/json; q=0.8, */*`);
    assert.equal(res.headers.get('content-type'), CORGI_TYPE);
    assert.equal(doc.time, undefined);
    const full = (await getDoc('/npm/alpha')).doc;
    assert.deepEqual(doc.versions['1.0.0']!.dist, full.versions['1.0.0']!.dist);
  });

  test('warm requests make no upstream request', async () => {
    registry.resetCounts();
    await getDoc('/npm/alpha');
    await getDoc('/npm/alpha', CORGI_TYPE);
    assert.equal(registry.requests(), 0);
  });

  test('scoped names in both spellings, single versions, tags and dist-tags', async () => {
    const a = await mirror.get('/npm/@org%2fdemo-b');
    const b = await mirror.get('/npm/@org/demo-b');
    assert.equal(a.status, 200);
    assert.equal(await a.text(), await b.text());
    const v = (await (await mirror.get('/npm/@org/demo-b/2.0.0')).json()) as Version;
    assert.equal(v.version, '2.0.0');
    assert.equal(v.dist.tarball, `${mirror.config.publicUrl}/npm/@org/demo-b/-/demo-b-2.0.0.tgz`);
    const latest = (await (await mirror.get('/npm/alpha/latest')).json()) as Version;
    assert.equal(latest.version, '1.1.0', 'latest falls back from the dropped 1.2.0 to the newest verified version');
    assert.deepEqual(await (await mirror.get('/npm/-/package/alpha/dist-tags')).json(), { latest: '1.1.0' });
    const missing = await mirror.get('/npm/alpha/9.9.9');
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no version or tag "9.9.9"/);
  });

  test('a tarball is served only with the bytes its verified integrity names', async () => {
    const res = await mirror.get('/npm/@org/demo-b/-/demo-b-2.0.0.tgz');
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const doc = (await getDoc('/npm/@org/demo-b')).doc;
    assert.equal(`sha512-${createHash('sha512').update(bytes).digest('base64')}`, doc.versions['2.0.0']!.dist.integrity);
    const dropped = await mirror.get('/npm/alpha/-/alpha-1.2.0.tgz');
    assert.equal(dropped.status, 502, 'the tarball of a version with a bad signature is refused');
    assert.match(((await dropped.json()) as { error: string }).error, /not listed with an integrity/);
  });

  test('a tarball requested before its packument fetches and verifies the packument first', async () => {
    registry.resetCounts();
    const res = await mirror.get('/npm/popular/-/popular-3.0.0.tgz');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(registry.packumentRequests('popular'), 1);
  });

  test('tampered tarball bytes are refused and nothing is stored', async () => {
    const res = await mirror.get('/npm/tampered/-/tampered-1.0.0.tgz');
    assert.equal(res.status, 502);
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body.code, 'DIGEST_MISMATCH');
    assert.equal(body.object, 'tampered/-/tampered-1.0.0.tgz');
    assert.equal(mirror.app.store.index.getObject('npm', 'tampered/-/tampered-1.0.0.tgz'), undefined);
  });

  test('a package with no valid upstream signature is refused under require and served under warn', async () => {
    const res = await mirror.get('/npm/unsigned');
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /no version of unsigned carries a valid upstream registry signature/);
    const lenient = await getDoc('/lenient/unsigned');
    assert.equal(lenient.res.status, 200);
    // Issue 9: what did not verify is never signed by the primary key, only by the published unverified one.
    assert.equal(lenient.doc.versions['1.0.0']!.dist.signatures[0]!.keyid, mirror.app.keys.ecdsaSigner('unverified').id);
    assert.notEqual(mirror.app.keys.ecdsaSigner('unverified').id, mirror.app.keys.ecdsaSigner().id);
    assert.equal((await mirror.get('/lenient/unsigned/-/unsigned-1.0.0.tgz')).status, 200);
    assert.equal((await mirror.get('/lenient/tampered/-/tampered-1.0.0.tgz')).status, 502, 'warn still checks integrity');
  });

  test('the upstream key list is fetched once per metadataTtl, not once per packument', async () => {
    mirror.advanceClock(TTL_MS + 1);
    registry.resetCounts();
    const names = ['popular', '@org/demo-b'];
    for (const name of names) assert.equal((await mirror.get(`/npm/${name.replace('/', '%2f')}`)).status, 200);
    assert.equal(registry.requests('/-/npm/v1/keys'), 1, 'one key list for both packuments');
    mirror.advanceClock(TTL_MS + 1);
    assert.equal((await mirror.get('/npm/popular')).status, 200);
    assert.equal(registry.requests('/-/npm/v1/keys'), 2, 'fetched again once the TTL passed');
  });

  test('pinned trust.keys verify without asking the upstream for keys', async () => {
    registry.resetCounts();
    assert.equal((await mirror.get('/pinned/alpha')).status, 200);
    assert.equal(registry.requests('/-/npm/v1/keys'), 0);
  });

  test('revalidation after metadataTtl is a conditional request; upstream down serves stale', async () => {
    await getDoc('/npm/alpha');
    mirror.advanceClock(TTL_MS + 1);
    registry.resetCounts();
    const reval = await mirror.get('/npm/alpha');
    assert.equal(reval.headers.get('x-cache'), 'REVALIDATED');
    await reval.arrayBuffer();
    assert.equal(registry.packumentRequests('alpha'), 1);
    await registry.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      const stale = await mirror.get('/npm/alpha');
      assert.equal(stale.status, 200);
      assert.equal(stale.headers.get('x-countersign-stale'), 'upstream-unavailable');
      await stale.arrayBuffer();
    } finally {
      await registry.restart();
    }
  });

  test('20 concurrent cold requests for one packument make one upstream request', async () => {
    registry.publish({ name: 'burst', version: '1.0.0' });
    registry.upstream.setMode(registry.packumentPath('burst'), { slowMs: 200 });
    registry.resetCounts();
    const all = await Promise.all(Array.from({ length: 20 }, () => mirror.get('/npm/burst').then((r) => r.status)));
    assert.ok(all.every((s) => s === 200));
    assert.equal(registry.packumentRequests('burst'), 1);
    registry.upstream.clearModes();
  });

  test('key rotation: new documents carry the new key, the keys endpoint lists both', async () => {
    const before = (await getDoc('/npm/@org/demo-b')).doc.versions['2.0.0']!.dist;
    const oldId = mirror.app.keys.ecdsaSigner().id;
    const oldKey = orgKey();
    await mirror.app.keys.rotate('ecdsa');
    const after = (await getDoc('/npm/@org/demo-b')).doc.versions['2.0.0']!.dist;
    assert.notEqual(after.signatures[0]!.keyid, oldId);
    const keys = ((await (await mirror.get('/npm/-/npm/v1/keys')).json()) as { keys: { keyid: string; expires: string | null; key: string }[] }).keys;
    assert.equal(keys.find((k) => k.keyid === after.signatures[0]!.keyid)?.expires, null);
    const old = keys.find((k) => k.keyid === oldId);
    assert.ok(old?.expires, 'the retired key is still published, with its expiry');
    assert.ok(verify('sha256', Buffer.from(`@org/demo-b@2.0.0:${before.integrity}`), createPublicKey({ key: Buffer.from(old.key, 'base64'), format: 'der', type: 'spki' }), Buffer.from(before.signatures[0]!.sig, 'base64')));
    assert.ok(verify('sha256', Buffer.from(`@org/demo-b@2.0.0:${before.integrity}`), oldKey, Buffer.from(before.signatures[0]!.sig, 'base64')));
  });
});
