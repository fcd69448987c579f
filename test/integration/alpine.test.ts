/**
 * The scenario matrix of STYLE.md for Alpine repositories, against a fixture upstream whose
 * packages and APKINDEX are built with tar, gzip and openssl in apk's exact v2 layout. apk-tools
 * is not packaged for Debian, so the served files are checked twice, independently: by openssl
 * over the exact bytes apk hashes (members split by Python's zlib), and by a small verifier
 * written in the test.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { readTar } from '../../src/formats/alpine/tar.js';
import { buildApk, buildApkIndex, makeApkKey, type ApkKey, type BuiltApk } from '../helpers/apk-fixture.js';
import { opensslVerify, verifyApk } from '../helpers/apk-verify.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;
const DIR = 'v3.20/main/x86_64';

describe('alpine repository', () => {
  let upstream: FixtureUpstream;
  let key: ApkKey;
  let wrongKey: ApkKey;
  let packages: BuiltApk[];
  let index: Buffer;
  let mirror: RunningMirror;
  let dataDir: string;
  let org: { fileName: string; pem: string };

  const publish = (path: string, bytes: Buffer) => upstream.setFile(`/alpine/${DIR}/${path}`, bytes);
  /** Bytes after the first gzip member of an upstream file (what re-signing must keep). */
  const afterSignature = (b: Buffer) => {
    const served = b;
    for (let i = 10; i < served.length - 1; i++) {
      if (served[i] === 0x1f && served[i + 1] === 0x8b && served[i + 2] === 8) {
        try {
          gunzipSync(served.subarray(0, i));
          return served.subarray(i);
        } catch { /* not the boundary */ }
      }
    }
    throw new Error('no second member');
  };

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeApkKey('alpine-devel@upstream.example-5f3a.rsa.pub'), makeApkKey('someone@else.example-0000.rsa.pub')]);
    packages = await Promise.all([
      buildApk(key, { name: 'hello-apk', content: 'hello from apk\n' }),
      buildApk(key, { name: 'legacy-apk', datahash: false }),
    ]);
    index = await buildApkIndex(key, packages);
    publish('APKINDEX.tar.gz', index);
    for (const p of packages) publish(p.fileName, p.bytes);
    dataDir = await makeDataDir();
    await mkdir(join(dataDir, 'apk-keys'));
    await writeFile(join(dataDir, 'apk-keys', key.fileName), key.publicPem);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'alpine', format: 'alpine', upstream: `${upstream.url}/alpine`, trust: { keys: 'apk-keys' }, metadataTtl: `${TTL_MS}ms`, retries: 0 }],
    });
    org = mirror.app.keys.rsaPublic();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await wrongKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const get = async (path: string) => {
    const res = await mirror.get(`/alpine/${DIR}/${path}`);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  test('cold miss: APKINDEX is re-signed by the org key, its index member untouched', async () => {
    const { res, bytes } = await get('APKINDEX.tar.gz');
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.match(res.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=apk-rsa:${key.fileName.replace(/[.+]/g, '\\$&')}`));
    const byOpenssl = await opensslVerify(bytes, org.pem, 'index');
    assert.ok(byOpenssl.ok, byOpenssl.output);
    assert.equal(byOpenssl.signatureName, `.SIGN.RSA256.${org.fileName}`);
    assert.ok(verifyApk(bytes, { [org.fileName]: org.pem }, 'index').ok);
    assert.equal(verifyApk(bytes, { [key.fileName]: key.publicPem }, 'index').reason, 'UNTRUSTED signature', 'the upstream signature is gone');
    // Every entry and line of the index member is kept but S:, which states the re-signed packages' sizes (alpine-fidelity.test.ts).
    const entries = (b: Buffer) => readTar(gunzipSync(afterSignature(b))).map((f) => [f.name, f.data.toString('latin1').replace(/^S:\d+$/gm, 'S:'), f.mtime]);
    assert.deepEqual(entries(bytes), entries(index));
    // The key apk looks the signature up by is published under that very name.
    assert.equal(await (await mirror.get(`/-/keys/${org.fileName}`)).text(), org.pem);
  });

  test('packages are re-signed; their C: identity in the served index still matches', async () => {
    const indexText = gunzipSync(afterSignature((await get('APKINDEX.tar.gz')).bytes)).toString('latin1');
    for (const p of packages) {
      const { bytes } = await get(p.fileName);
      const byOpenssl = await opensslVerify(bytes, org.pem, 'package');
      assert.ok(byOpenssl.ok, `${p.fileName}: ${byOpenssl.output}`);
      const check = verifyApk(bytes, { [org.fileName]: org.pem }, 'package');
      assert.ok(check.ok, `${p.fileName}: ${check.reason}`);
      assert.ok(indexText.includes(`C:${check.identity}\nP:${p.name}\n`), `${p.fileName} identity ${check.identity} is listed`);
      assert.deepEqual(afterSignature(bytes), afterSignature(p.bytes), 'control and data are byte-identical');
      const entry = mirror.app.store.index.getObject('alpine', `${DIR}/${p.fileName}`);
      assert.equal(entry?.verification.status, 'verified');
    }
  });

  test('warm hit: no upstream request, identical bytes', async () => {
    const first = await Promise.all(['APKINDEX.tar.gz', ...packages.map((p) => p.fileName)].map(async (f) => (await get(f)).bytes));
    upstream.resetCounts();
    const second = await Promise.all(['APKINDEX.tar.gz', ...packages.map((p) => p.fileName)].map(async (f) => (await get(f)).bytes));
    assert.equal(upstream.requests(), 0);
    assert.deepEqual(second, first);
  });

  test('after metadataTtl the index is revalidated (304)', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const { res } = await get('APKINDEX.tar.gz');
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    assert.equal(upstream.requests(), 1);
  });

  test('a tampered package is refused and nothing is stored', async () => {
    const extra = await buildApk(key, { name: 'tampered-apk' });
    const all = [...packages, extra];
    index = await buildApkIndex(key, all);
    publish('APKINDEX.tar.gz', index);
    publish(extra.fileName, extra.bytes);
    upstream.setMode(`/alpine/${DIR}/${extra.fileName}`, 'tamper');
    mirror.advanceClock(TTL_MS + 1);
    await get('APKINDEX.tar.gz');
    const res = await mirror.get(`/alpine/${DIR}/${extra.fileName}`);
    assert.equal(res.status, 502);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'VERIFICATION_FAILED');
    assert.equal(mirror.app.store.index.getObject('alpine', `${DIR}/${extra.fileName}`), undefined);
    assert.equal((await readdir(join(dataDir, 'blobs', 'tmp'))).length, 0);
    upstream.clearModes();
    assert.ok(verifyApk((await get(extra.fileName)).bytes, { [org.fileName]: org.pem }, 'package').ok, 'served once the upstream is sound again');
  });

  test('a package signed by an untrusted key is refused even with the right C:', async () => {
    const rogue = await buildApk(wrongKey, { name: 'rogue-apk' });
    index = await buildApkIndex(key, [...packages, rogue]);
    publish('APKINDEX.tar.gz', index);
    publish(rogue.fileName, rogue.bytes);
    mirror.advanceClock(TTL_MS + 1);
    await get('APKINDEX.tar.gz');
    const res = await mirror.get(`/alpine/${DIR}/${rogue.fileName}`);
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /none of them a trusted key/);
  });

  test('an APKINDEX signed by another key is refused and the previous one is still served', async () => {
    const before = (await get('APKINDEX.tar.gz')).bytes;
    publish('APKINDEX.tar.gz', await buildApkIndex(wrongKey, packages, { description: 'forged' }));
    mirror.advanceClock(TTL_MS + 1);
    const res = await mirror.get(`/alpine/${DIR}/APKINDEX.tar.gz`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'verification-failed');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), before);
    publish('APKINDEX.tar.gz', index);
  });

  test('upstream down: the cached index and packages are served stale', async () => {
    await upstream.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      const { res } = await get('APKINDEX.tar.gz');
      assert.equal(res.headers.get('x-countersign-stale'), 'upstream-unavailable');
      for (const p of packages) await get(p.fileName);
    } finally {
      await upstream.restart();
    }
  });

  test('concurrent cold requests for one package make one upstream request', async () => {
    const fresh = await buildApk(key, { name: 'popular-apk' });
    index = await buildApkIndex(key, [...packages, fresh]);
    publish('APKINDEX.tar.gz', index);
    publish(fresh.fileName, fresh.bytes);
    mirror.advanceClock(TTL_MS + 1);
    upstream.setMode(`/alpine/${DIR}/${fresh.fileName}`, { slowMs: 150 });
    upstream.resetCounts();
    // The new revision is taken with its packages (their sizes are in it): concurrent index requests fetch the package once.
    const indexes = await Promise.all(Array.from({ length: 20 }, async () => (await mirror.get(`/alpine/${DIR}/APKINDEX.tar.gz`)).status));
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await mirror.get(`/alpine/${DIR}/${fresh.fileName}`)).status));
    assert.ok([...indexes, ...statuses].every((s) => s === 200));
    assert.equal(upstream.requests(`/alpine/${DIR}/APKINDEX.tar.gz`), 1);
    assert.equal(upstream.requests(`/alpine/${DIR}/${fresh.fileName}`), 1);
    upstream.clearModes();
  });

  test('the setup snippet names the key file and the repositories line', async () => {
    const setup = await (await mirror.get('/alpine/-/setup')).text();
    assert.ok(setup.includes(`/etc/apk/keys/${org.fileName} ${mirror.url}/-/keys/${org.fileName}`), setup);
    assert.ok(setup.includes(`${mirror.url}/alpine/<branch>/<repo>`), setup);
    assert.equal((await mirror.get(`/alpine/${DIR}/README`)).status, 404);
  });
});
