/**
 * NuGet trust: the org's primary certificate signs only packages whose upstream signature by a
 * pinned certificate verified under today's trust; everything else is refused under require and
 * signed by the unverified leaf (which chains only to the unverified root) under warn. Each
 * refusal has a positive control, checked by the independent checker against the org root.
 * Also STYLE.md's scenario matrix for this format.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { NugetFeed } from '../helpers/nuget-fixture.js';
import { buildNupkg, makeUpstreamSigner, packageSignature, withSignatureEntry, type UpstreamSigner } from '../helpers/nuget-fixture-sign.js';
import { checkServedPackage } from '../helpers/nuget-verify.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;

describe('nuget: trust changes and the scenario matrix', () => {
  let upstream: FixtureUpstream;
  let feed: NugetFeed;
  let gallery: UpstreamSigner;
  let other: UpstreamSigner;
  const dirs: string[] = [];
  let mirror: RunningMirror | undefined;
  const bytes: Record<string, Buffer> = {};

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'ng', format: 'nuget', upstream: feed.base, verify: 'require' as const,
    trust: { certificates: [gallery.certFile], serviceIndex: 'v3/index.json' }, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });
  const restart = async (dataDir: string, over: Record<string, unknown> = {}) => {
    await mirror?.close();
    // One public URL across restarts: it is signed into every package (nuget-v3-service-index-url).
    mirror = await startMirror({ dataDir, publicUrl: 'https://ng-mirror.example', repositories: [repo(over)] });
    return mirror;
  };
  const newDataDir = async () => {
    const d = await makeDataDir();
    dirs.push(d);
    return d;
  };
  const pkg = (id: string, v = '1.0.0') => `/ng/v3-flatcontainer/${id}/${v}/${id}.${v}.nupkg`;
  const get = async (m: RunningMirror, path: string) => {
    const res = await m.get(path);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    upstream = await startFixtureUpstream();
    [gallery, other] = await Promise.all([makeUpstreamSigner('gallery'), makeUpstreamSigner('other')]);
    feed = new NugetFeed(upstream, [gallery]);
    for (const id of ['a.pkg', 'b.pkg', 'c.pkg', 'd.pkg']) {
      const u = await buildNupkg(id, '1.0.0');
      bytes[id] = await withSignatureEntry(u, await packageSignature(u, gallery, 'repository'));
      feed.publish(id, '1.0.0', bytes[id]!);
    }
    const u = await buildNupkg('plain.pkg', '1.0.0');
    bytes['plain.pkg'] = u;
    feed.publish('plain.pkg', '1.0.0', u);
  });
  after(async () => {
    await mirror?.close();
    for (const d of dirs) await removeDir(d);
    await upstream.stop();
  });

  test('pinned → primary; the pin replaced → refused, also for the cached copy; restored → primary again', async () => {
    const dir = await newDataDir();
    let m = await restart(dir);
    const first = await get(m, pkg('a.pkg'));
    assert.equal(first.status, 200);
    await checkServedPackage(first.body, { repositoryRootPem: m.app.keys.caPem() });
    const other2 = await makeUpstreamSigner('replacement');
    m = await restart(dir, { trust: { certificates: [other2.certFile], serviceIndex: 'v3/index.json' } });
    const refused = await get(m, pkg('a.pkg'));
    assert.equal(refused.status, 502, refused.body.toString());
    assert.match(refused.body.toString(), /none of them pinned/);
    m = await restart(dir);
    const again = await get(m, pkg('a.pkg'));
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body, 'the same bytes as before');
  });

  test('require: a signature by an unpinned certificate, or none, is refused; warn: signed by the unverified leaf only', async () => {
    const u = await buildNupkg('foreign.pkg', '1.0.0');
    feed.publish('foreign.pkg', '1.0.0', await withSignatureEntry(u, await packageSignature(u, other, 'repository')));
    const dir = await newDataDir();
    let m = await restart(dir);
    assert.equal((await get(m, pkg('foreign.pkg'))).status, 502);
    assert.equal((await get(m, pkg('plain.pkg'))).status, 502);
    m = await restart(dir, { verify: 'warn' });
    for (const id of ['foreign.pkg', 'plain.pkg']) {
      const served = await get(m, pkg(id));
      assert.equal(served.status, 200);
      const check = await checkServedPackage(served.body, { repositoryRootPem: m.app.keys.caPem('unverified') });
      assert.equal(check.repositorySigner.fingerprint256, new X509Certificate(m.app.keys.x509Leaf('rsa', 'unverified').certDer).fingerprint256);
      await assert.rejects(checkServedPackage(served.body, { repositoryRootPem: m.app.keys.caPem() }), 'never chains to the org root');
    }
    // Positive control under warn: the pinned one is still signed by the primary leaf.
    const a = await get(m, pkg('a.pkg'));
    await checkServedPackage(a.body, { repositoryRootPem: m.app.keys.caPem() });
  });

  test('anchor first-use: the upstream RepositorySignatures certificates are pinned when first seen; a changed list is refused', async () => {
    const dir = await newDataDir();
    const m = await restart(dir, { anchor: 'first-use', trust: { serviceIndex: 'v3/index.json' } });
    const a = await get(m, pkg('a.pkg'));
    assert.equal(a.status, 200, a.body.toString());
    await checkServedPackage(a.body, { repositoryRootPem: m.app.keys.caPem() });
    feed.setRepositorySigners([other]);
    m.advanceClock(TTL_MS + 1000);
    const refused = await get(m, pkg('b.pkg'));
    assert.equal(refused.status, 502);
    assert.match(refused.body.toString(), /TRUST_CHANGED/);
    feed.setRepositorySigners([gallery]);
    m.advanceClock(TTL_MS + 1000);
    const b = await get(m, pkg('b.pkg'));
    assert.equal(b.status, 200, b.body.toString());
    await checkServedPackage(b.body, { repositoryRootPem: m.app.keys.caPem() });
  });

  test('tampered package: refused by the published package hash, nothing stored; then the real one is served', async () => {
    const m = await restart(await newDataDir());
    upstream.setMode(`/api/v3-flatcontainer/b.pkg/1.0.0/b.pkg.1.0.0.nupkg`, 'tamper');
    const refused = await get(m, pkg('b.pkg'));
    assert.equal(refused.status, 502);
    assert.match(refused.body.toString(), /DIGEST_MISMATCH|does not match/);
    assert.equal(m.app.store.index.getObject('ng', 'v3-flatcontainer/b.pkg/1.0.0/b.pkg.1.0.0.nupkg'), undefined, 'nothing stored');
    upstream.clearModes();
    const ok = await get(m, pkg('b.pkg'));
    assert.equal(ok.status, 200);
    await checkServedPackage(ok.body, { repositoryRootPem: m.app.keys.caPem() });
  });

  test('a genuine signature over another package, or bytes changed under a signature, are refused', async () => {
    // No registration hash: only the signature speaks for these.
    const victim = await buildNupkg('victim.pkg', '1.0.0', 'evil payload');
    const donor = await buildNupkg('victim.pkg', '1.0.0', 'good payload');
    feed.publish('victim.pkg', '1.0.0', await withSignatureEntry(victim, await packageSignature(donor, gallery, 'repository')), { packageHash: false });
    const m = await restart(await newDataDir());
    const refused = await get(m, pkg('victim.pkg'));
    assert.equal(refused.status, 502);
    assert.match(refused.body.toString(), /do not match the sha256 hash its signature covers/);
    feed.publish('victim.pkg', '1.0.0', await withSignatureEntry(donor, await packageSignature(donor, gallery, 'repository')), { packageHash: false });
    assert.equal((await get(m, pkg('victim.pkg'))).status, 200, 'positive control');
  });

  test('warm hit: no upstream request; concurrent identical requests: one upstream fetch', async () => {
    const m = await restart(await newDataDir());
    const path = '/api/v3-flatcontainer/c.pkg/1.0.0/c.pkg.1.0.0.nupkg';
    upstream.resetCounts();
    const all = await Promise.all(Array.from({ length: 6 }, () => get(m, pkg('c.pkg'))));
    assert.ok(all.every((r) => r.status === 200 && r.body.equals(all[0]!.body)));
    assert.equal(upstream.requests(path), 1, 'one upstream fetch for six concurrent requests');
    const before = upstream.requests();
    assert.equal((await get(m, pkg('c.pkg'))).status, 200);
    assert.equal(upstream.requests(), before, 'a warm hit asks the upstream nothing');
  });

  test('revalidation after the TTL, upstream down → stale registration and cached packages, malformed index → previous one served', async () => {
    const m = await restart(await newDataDir());
    const reg = '/ng/v3/registration5-gz-semver2/d.pkg/index.json';
    const firstReg = await get(m, reg);
    assert.equal(firstReg.status, 200);
    const served = await get(m, pkg('d.pkg'));
    assert.equal(served.status, 200);
    const regUpstream = '/api/v3/registration5-gz-semver2/d.pkg/index.json';
    const n = upstream.requests(regUpstream);
    m.advanceClock(TTL_MS + 1000);
    assert.equal((await get(m, reg)).status, 200);
    assert.equal(upstream.requests(regUpstream), n + 1, 'revalidated after the TTL');
    m.advanceClock(TTL_MS + 1000);
    upstream.setMode('*', { status: 503 });
    const stale = await m.get(reg);
    assert.equal(stale.status, 200, 'stale registration while the upstream is down');
    assert.deepEqual(Buffer.from(await stale.arrayBuffer()), firstReg.body);
    assert.deepEqual((await get(m, pkg('d.pkg'))).body, served.body, 'the package is served from the cache');
    upstream.clearModes();
    const goodIndex = (await get(m, '/ng/index.json')).body;
    m.advanceClock(TTL_MS + 1000);
    upstream.setFile('/api/v3/index.json', '{"not": "a service index"}', { contentType: 'application/json' });
    const afterBad = await get(m, '/ng/index.json');
    assert.equal(afterBad.status, 200);
    assert.deepEqual(afterBad.body, goodIndex, 'the previous service index is still served');
    feed.publishIndex();
  });

  test('key rotation: new packages are signed by the new leaf, old signatures still verify, setup trusts both', async () => {
    const m = await restart(await newDataDir());
    const old = await get(m, pkg('a.pkg'));
    const oldLeaf = m.app.keys.x509Leaf('rsa').certDer;
    await m.app.keys.rotate('x509-rsa');
    const fresh = await get(m, pkg('a.pkg'));
    assert.equal(fresh.status, 200);
    const check = await checkServedPackage(fresh.body, { repositoryRootPem: m.app.keys.caPem() });
    assert.notEqual(check.repositorySigner.fingerprint256, new X509Certificate(oldLeaf).fingerprint256, 're-signed by the new leaf');
    await checkServedPackage(old.body, { repositoryRootPem: m.app.keys.caPem() });
    const setup = await (await m.get('/ng/-/setup')).text();
    for (const der of [oldLeaf, m.app.keys.x509Leaf('rsa').certDer]) {
      assert.ok(setup.includes(createHash('sha256').update(der).digest('hex').toUpperCase()), 'both leaves are trusted');
    }
  });
});
