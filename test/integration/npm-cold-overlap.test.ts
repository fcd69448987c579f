/**
 * Issue 13 (npm cold installs): a cold tarball is downloaded while its packument is fetched and
 * verified (ObjectRef.downloadWithRequires). The overlap must not weaken anything: the bytes are
 * checked against the packument's integrity once both are in, and a packument that does not
 * verify refuses its tarball however well the tarball itself downloaded. The fixture registry
 * holds the packument back until the tarball has been sent in full, so each test below really
 * has the tarball downloaded before its packument was verified; each refusal has a positive control.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry, type PublishedVersion } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { flipLastBit, packumentAfterTarball } from '../helpers/npm-overlap.js';
import { refusal } from '../helpers/npm-served.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('npm cold tarballs: downloaded beside their packument, judged only once it verified', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;
  let strict: RunningMirror;
  let good: PublishedVersion;
  let tampered: PublishedVersion;
  let badSig: PublishedVersion;
  let signed: PublishedVersion;
  let tamperedBytes: Buffer;
  /** Over the 128 KiB the core keeps in memory: verified from its temp file instead. */
  let bigTampered: PublishedVersion;
  let bigTamperedBytes: Buffer;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    good = registry.publish({ name: 'overlap-good', version: '1.0.0' });
    tampered = registry.publish({ name: 'overlap-tampered', version: '1.0.0' });
    badSig = registry.publish({ name: 'overlap-badsig', version: '1.0.0', signature: 'wrong-key' });
    signed = registry.publish({ name: 'overlap-signed', version: '1.0.0' });
    tamperedBytes = flipLastBit(tampered.bytes);
    bigTampered = registry.publish({ name: 'overlap-big', version: '1.0.0', files: { 'blob.bin': randomBytes(300 * 1024) } });
    bigTamperedBytes = flipLastBit(bigTampered.bytes);
    assert.ok(bigTampered.bytes.length > 128 * 1024);
    packumentAfterTarball(registry, 'overlap-good', good.tarballPath, good.bytes);
    packumentAfterTarball(registry, 'overlap-tampered', tampered.tarballPath, tamperedBytes);
    packumentAfterTarball(registry, 'overlap-big', bigTampered.tarballPath, bigTamperedBytes);
    packumentAfterTarball(registry, 'overlap-badsig', badSig.tarballPath, badSig.bytes);
    packumentAfterTarball(registry, 'overlap-signed', signed.tarballPath, signed.bytes);
    const repo = { name: 'npm', format: 'npm', upstream: registry.url, trust: { keys: registry.keysDocument }, metadataTtl: '5m', retries: 0 };
    mirror = await startMirror({ repositories: [{ ...repo, verify: 'warn' } as never] });
    strict = await startMirror({ repositories: [{ ...repo, verify: 'require' } as never] });
  });
  after(async () => {
    for (const m of [mirror, strict]) {
      await m?.close();
      if (m) await removeDir(m.dataDir);
    }
    await registry?.stop();
  });

  test('positive control: a genuine tarball downloaded before its packument arrived is served, verified', async () => {
    const res = await mirror.get(`/npm${good.tarballPath}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), good.bytes);
    assert.match(res.headers.get('x-countersign-verification') ?? '', /^verified; by=integrity:sha512@overlap-good/);
    assert.equal(registry.requests(good.tarballPath), 1);
    assert.equal(mirror.app.store.index.getObject('npm', `overlap-good/-/overlap-good-1.0.0.tgz`)?.sha256, sha256(good.bytes));
  });

  test('a tarball that does not match the packument integrity is refused and nothing stored, though it downloaded first', async () => {
    for (const m of [mirror, strict]) {
      const res = await refusal(await m.get(`/npm${tampered.tarballPath}`));
      assert.equal(res.status, 502, `${m === strict ? 'require' : 'warn'}: ${res.error}`);
      assert.equal(res.code, 'DIGEST_MISMATCH', res.error);
      assert.equal(m.app.store.index.getObject('npm', 'overlap-tampered/-/overlap-tampered-1.0.0.tgz'), undefined, 'no index entry');
      assert.equal(await m.app.store.blobs.has(sha256(tamperedBytes)), false, 'no blob of the tampered bytes');
    }
    const big = await refusal(await mirror.get(`/npm${bigTampered.tarballPath}`));
    assert.equal(big.code, 'DIGEST_MISMATCH', `a tarball too big to keep in memory: ${big.error}`);
    assert.equal(mirror.app.store.index.getObject('npm', 'overlap-big/-/overlap-big-1.0.0.tgz'), undefined);
    assert.equal(await mirror.app.store.blobs.has(sha256(bigTamperedBytes)), false);
    // The refusal is not remembered as a success: once the registry serves the genuine bytes, they are served.
    registry.upstream.setHandler(tampered.tarballPath, undefined);
    const again = await mirror.get(`/npm${tampered.tarballPath}`);
    assert.equal(again.status, 200);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), tampered.bytes);
    registry.upstream.setHandler(bigTampered.tarballPath, undefined);
    const bigAgain = await mirror.get(`/npm${bigTampered.tarballPath}`);
    assert.equal(bigAgain.status, 200);
    assert.deepEqual(Buffer.from(await bigAgain.arrayBuffer()), bigTampered.bytes);
  });

  test('verify: require, a packument whose registry signature is bad: its tarball is refused although it downloaded fine', async () => {
    const res = await refusal(await strict.get(`/npm${badSig.tarballPath}`));
    assert.equal(res.status, 502, res.error);
    assert.equal(res.code, 'VERIFICATION_FAILED', res.error);
    assert.equal(registry.requests(badSig.tarballPath), 1, 'the tarball itself was downloaded whole');
    assert.equal(strict.app.store.index.getObject('npm', 'overlap-badsig/-/overlap-badsig-1.0.0.tgz'), undefined, 'no index entry');
    assert.equal(await strict.app.store.blobs.has(sha256(badSig.bytes)), false, 'no blob');
    // Positive control, same mirror and timing: a validly signed package's tarball is served, verified.
    const ok = await strict.get(`/npm${signed.tarballPath}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(Buffer.from(await ok.arrayBuffer()), signed.bytes);
    assert.match(ok.headers.get('x-countersign-verification') ?? '', /^verified;/);
  });

  test('verify: warn, the same badly signed packument: the tarball is served, but as unverified', async () => {
    const res = await mirror.get(`/npm${badSig.tarballPath}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), badSig.bytes);
    assert.equal(res.headers.get('x-countersign-verification'), 'unverified; mode=warn');
  });

  test('many tarballs of one package at once: one packument fetch, one fetch per tarball', async () => {
    const versions = Array.from({ length: 8 }, (_, i) => registry.publish({ name: 'overlap-many', version: `1.0.${i}` }));
    registry.resetCounts();
    const responses = await Promise.all([...versions, ...versions].map(async (v) => {
      const res = await mirror.get(`/npm${v.tarballPath}`);
      return { v, status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
    }));
    for (const r of responses) {
      assert.equal(r.status, 200, r.v.version);
      assert.deepEqual(r.bytes, r.v.bytes, r.v.version);
    }
    assert.equal(registry.packumentRequests('overlap-many'), 1, 'one packument fetch for all of them');
    for (const v of versions) assert.equal(registry.requests(v.tarballPath), 1, `${v.version}: one upstream fetch`);
  });
});
