/**
 * STYLE.md's scenario matrix for an RPM repository with `packages: keep` (issue 13), against a
 * fixture upstream built with rpmbuild, rpmsign, createrepo_c and gpg. What differs from `resign`:
 * a revision is taken once repomd.xml and the metadata files it lists verify (no package is fetched
 * for it), and each package is verified, against the primary.xml it is listed in and its upstream
 * header signature, when first asked for. gpg checks every repomd.xml.asc against the org keys.
 * Rollback (a replayed older revision) is refused as in `resign`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, gpgDetachSign, makeGpgKey, publishRpmRepo, unpublishRepodata, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';

const TTL_MS = 60_000;
const REPOMD = 'repodata/repomd.xml';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('rpm packages: keep, scenario matrix', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let wrongKey: GpgKey;
  let rev1: BuiltRpmRepo;
  let rev2: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;

  const repoConfig = (name: string) => ({
    name, format: 'rpm', upstream: `${upstream.url}/${name}`, trust: { keyring: 'upstream.asc', packages: 'keep' }, metadataTtl: `${TTL_MS}ms`, retries: 0,
  });
  const listedFiles = (r: BuiltRpmRepo) => [...r.files.keys()].filter((p) => p.startsWith('repodata/') && !p.endsWith('repomd.xml') && !p.endsWith('.asc') && !p.includes('sqlite'));
  const pkg = (r: BuiltRpmRepo, name: string) => r.packagePaths.find((p) => p.startsWith(`Packages/${name}-`))!;
  const get = async (path: string) => {
    const res = await mirror.get(path);
    return { res, status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const ok = async (path: string) => {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.status} ${r.bytes.toString('utf8').slice(0, 300)}`);
    return r;
  };
  const orgKeys = async () => (await ok('/-/keys/openpgp.asc')).bytes.toString('utf8');
  /** repomd.xml as served, its .asc checked by gpg against the org keys published now. */
  const signedRepomd = async (name = 'el') => {
    const repomd = await ok(`/${name}/${REPOMD}`);
    const asc = (await ok(`/${name}/${REPOMD}.asc`)).bytes;
    const gpg = await gpgVerify(await orgKeys(), repomd.bytes, asc);
    assert.ok(gpg.ok, gpg.status);
    return { ...repomd, asc, gpg };
  };

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeGpgKey(), makeGpgKey('Somebody Else')]);
    rev1 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }], packageKey: key, updateinfo: true, revision: '1000' });
    rev2 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }, { name: 'third-pkg' }, { name: 'fourth-pkg' }], packageKey: key, revision: '2000' });
    publishRpmRepo(upstream, '/el', rev1);
    publishRpmRepo(upstream, '/busy', rev1);
    publishRpmRepo(upstream, '/late', rev1);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({ dataDir, repositories: [repoConfig('el'), repoConfig('busy'), repoConfig('late')] });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await wrongKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  test('cold miss: repomd.xml is the upstream\'s (less sqlite entries), org-signed, with every listed file fetched once and no package', async () => {
    upstream.resetCounts();
    const { bytes, res } = await signedRepomd();
    assert.equal(res.headers.get('x-cache'), 'MISS');
    const text = bytes.toString('utf8');
    assert.doesNotMatch(text, /_db"/);
    assert.match(text, /<data type="updateinfo">/, 'other metadata stays listed');
    for (const f of listedFiles(rev1)) {
      assert.equal(upstream.requests(`/el/${f}`), 1, f);
      assert.ok(text.includes(sha256(rev1.files.get(f)!)), `${f}: the upstream's checksum`);
      assert.deepEqual((await ok(`/el/${f}`)).bytes, rev1.files.get(f), `${f} byte-identical`);
    }
    assert.equal(upstream.requests('/el/Packages/'), 0, 'no package fetched for the metadata');
    for (const p of rev1.packagePaths) assert.deepEqual((await ok(`/el/${p}`)).bytes, rev1.files.get(p));
  });

  test('warm hit: nothing is asked of the upstream and the bytes are identical', async () => {
    const before = await signedRepomd();
    upstream.resetCounts();
    const again = await signedRepomd();
    assert.deepEqual(again.bytes, before.bytes);
    assert.deepEqual(again.asc, before.asc);
    for (const p of [...listedFiles(rev1), ...rev1.packagePaths]) await ok(`/el/${p}`);
    assert.equal(upstream.requests(), 0);
  });

  test('revalidation: after metadataTtl only repomd.xml and its .asc are asked for', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const { res } = await signedRepomd();
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    assert.equal(upstream.requests(), 2);
  });

  test('a repomd.xml signed by another key is refused; the previous revision is still served', async () => {
    const before = await signedRepomd();
    unpublishRepodata(upstream, '/el', rev1);
    publishRpmRepo(upstream, '/el', rev2);
    upstream.setFile(`/el/${REPOMD}.asc`, await gpgDetachSign(wrongKey, rev2.files.get(REPOMD)!));
    mirror.advanceClock(TTL_MS + 1);
    const stale = await signedRepomd();
    assert.equal(stale.res.headers.get('x-countersign-stale'), 'verification-failed');
    assert.deepEqual(stale.bytes, before.bytes);
    assert.equal((await get(`/el/${pkg(rev2, 'third-pkg')}`)).status, 502, 'nothing the refused revision lists is served');
  });

  test('tampered metadata in a new revision is refused, nothing of it stored; the previous revision stays', async () => {
    upstream.setFile(`/el/${REPOMD}.asc`, rev2.files.get(`${REPOMD}.asc`)!);
    const primary = listedFiles(rev2).find((f) => f.endsWith('-primary.xml.gz'))!;
    upstream.setMode(`/el/${primary}`, 'tamper');
    mirror.advanceClock(TTL_MS + 1);
    const stale = await signedRepomd();
    assert.equal(stale.res.headers.get('x-countersign-stale'), 'companions-unavailable');
    assert.match(stale.bytes.toString('utf8'), /<revision>1000<\/revision>/);
    assert.equal(mirror.app.store.index.getObject('el', primary), undefined);
    upstream.clearModes();
  });

  test('a new revision is taken without its packages; a tampered package in it is refused when asked for, nothing stored', async () => {
    const third = pkg(rev2, 'third-pkg');
    upstream.setMode(`/el/${third}`, 'tamper');
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const fresh = await signedRepomd();
    assert.equal(fresh.res.headers.get('x-countersign-stale'), null);
    assert.match(fresh.bytes.toString('utf8'), /<revision>2000<\/revision>/);
    assert.equal(upstream.requests('/el/Packages/'), 0, 'packages are not fetched for the revision');
    const refused = await get(`/el/${third}`);
    assert.equal(refused.status, 502);
    assert.equal((JSON.parse(refused.bytes.toString('utf8')) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal(mirror.app.store.index.getObject('el', third), undefined);
    upstream.clearModes();
    assert.deepEqual((await ok(`/el/${third}`)).bytes, rev2.files.get(third), 'the genuine bytes are served once the upstream sends them');
  });

  test('rollback: the older, genuinely signed revision replayed is refused; the newer stays served and nothing is signed for the older', async () => {
    const served = await signedRepomd();
    assert.match(served.bytes.toString('utf8'), /<revision>2000<\/revision>/);
    const signed = mirror.app.store.index.signatureLog(1_000_000).length;
    unpublishRepodata(upstream, '/el', rev2);
    publishRpmRepo(upstream, '/el', rev1);
    mirror.advanceClock(TTL_MS + 1);
    const stale = await signedRepomd();
    assert.equal(stale.res.headers.get('x-countersign-stale'), 'rollback');
    assert.deepEqual(stale.bytes, served.bytes);
    assert.equal(mirror.app.store.index.signatureLog(1_000_000).length, signed, 'nothing signed for the replayed revision');
    // Positive control: the newer revision published again is served fresh.
    unpublishRepodata(upstream, '/el', rev1);
    publishRpmRepo(upstream, '/el', rev2);
    mirror.advanceClock(TTL_MS + 1);
    const fresh = await signedRepomd();
    assert.equal(fresh.res.headers.get('x-countersign-stale'), null);
    assert.deepEqual(fresh.bytes, served.bytes);
  });

  test('upstream down: repomd.xml is served stale with what was cached; a package never fetched is an error, not a guess', async () => {
    const before = await signedRepomd();
    await upstream.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      const stale = await signedRepomd();
      assert.equal(stale.res.headers.get('x-countersign-stale'), 'upstream-unavailable');
      assert.deepEqual(stale.bytes, before.bytes);
      assert.deepEqual((await ok(`/el/${pkg(rev2, 'third-pkg')}`)).bytes, rev2.files.get(pkg(rev2, 'third-pkg')), 'a cached package is served');
      const missing = await get(`/el/${pkg(rev2, 'fourth-pkg')}`);
      assert.equal(missing.status >= 500, true, `uncached package: ${missing.status}`);
    } finally {
      await upstream.restart();
    }
  });

  test('N concurrent cold requests: one upstream request per file', async () => {
    upstream.setMode(`/busy/${REPOMD}`, { slowMs: 200 });
    upstream.setMode(`/busy/${pkg(rev1, 'hello-mirror')}`, { slowMs: 200 });
    upstream.resetCounts();
    const paths = Array.from({ length: 30 }, (_, i) => (i % 2 ? `/busy/${REPOMD}` : `/busy/${pkg(rev1, 'hello-mirror')}`));
    const results = await Promise.all(paths.map((p) => get(p)));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
    assert.equal(upstream.requests(`/busy/${REPOMD}`), 1);
    assert.equal(upstream.requests(`/busy/${pkg(rev1, 'hello-mirror')}`), 1);
    upstream.clearModes();
  });

  test('the package list is primary read on the first package request: a primary swapped since repomd.xml is refused; then one fetch for many requests', async () => {
    const primary = listedFiles(rev1).find((f) => f.endsWith('-primary.xml.gz'))!;
    await signedRepomd('late');
    upstream.resetCounts();
    upstream.setMode(`/late/${primary}`, 'tamper');
    const refused = await get(`/late/${pkg(rev1, 'hello-mirror')}`);
    assert.equal(refused.status, 502);
    assert.equal((JSON.parse(refused.bytes.toString('utf8')) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal(upstream.requests('/late/Packages/'), 0, 'no package is fetched without a verified package list');
    assert.equal(mirror.app.store.index.getObject('late', pkg(rev1, 'hello-mirror')), undefined);
    upstream.clearModes();
    upstream.resetCounts();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`/late/${rev1.packagePaths[i % rev1.packagePaths.length]!}`)));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
    assert.equal(upstream.requests(`/late/${primary}`), 1, 'the package list was read once for all of them');
  });

  test('key rotation: repomd.xml.asc is made by the new key, and old and new signatures both verify with the published keys', async () => {
    const old = await signedRepomd();
    const oldId = mirror.app.keys.openpgpSigner().id;
    await mirror.app.keys.rotate('openpgp');
    const newId = mirror.app.keys.openpgpSigner().id;
    assert.notEqual(newId, oldId);
    const rotated = await signedRepomd();
    assert.deepEqual(rotated.bytes, old.bytes, 'the same repomd.xml');
    assert.notDeepEqual(rotated.asc, old.asc, 'a new signature');
    assert.match(rotated.gpg.status, new RegExp(`VALIDSIG ${newId}`));
    const oldAgain = await gpgVerify(await orgKeys(), old.bytes, old.asc);
    assert.ok(oldAgain.ok && oldAgain.status.includes(`VALIDSIG ${oldId}`), oldAgain.status);
  });
});
