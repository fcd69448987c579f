/**
 * Issue 10, fidelity: the served APKINDEX states the size of each package as the mirror serves it
 * (re-signed), because apk-tools 3 matches cached package files to index entries by name and `S:`:
 * with the upstream's sizes a cache filled through the mirror is "masked in: --no-network". Checked
 * by the independent reader in test/helpers/apk-verify.ts (Python's gzip and tarfile) against the
 * sizes of the files actually served, beside the signature checks apk does.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApk, buildApkIndex, makeApkKey, type ApkKey, type BuiltApk } from '../helpers/apk-fixture.js';
import { indexSizeMismatches, opensslVerify, verifyApk } from '../helpers/apk-verify.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;
const DIR = 'v3.20/main/x86_64';
const INDEX = 'APKINDEX.tar.gz';

describe('alpine fidelity: S: is the size of the package the mirror serves', () => {
  let upstream: FixtureUpstream;
  let key: ApkKey;
  let packages: BuiltApk[];
  let index: Buffer;
  let mirror: RunningMirror;
  let dataDir: string;
  let org: { fileName: string; pem: string };

  const publish = (path: string, bytes: Buffer) => upstream.setFile(`/alpine/${DIR}/${path}`, bytes);
  const get = async (path: string) => {
    const res = await mirror.get(`/alpine/${DIR}/${path}`);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const servedSizes = async (list: BuiltApk[]) => {
    const sizes: Record<string, number> = {};
    for (const p of list) sizes[p.fileName] = (await get(p.fileName)).bytes.length;
    return sizes;
  };

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeApkKey('alpine-devel@upstream.example-5f3a.rsa.pub')]);
    packages = await Promise.all([
      buildApk(key, { name: 'hello-apk', content: 'hello from apk\n' }),
      buildApk(key, { name: 'legacy-apk', datahash: false }),
      buildApk(key, { name: 'big-apk', content: 'x'.repeat(200_000) }),
    ]);
    index = await buildApkIndex(key, packages, { mtime: 1_760_000_000 });
    publish(INDEX, index);
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
    if (dataDir) await removeDir(dataDir);
  });

  test('every S: in the served APKINDEX equals the size of the package served; the index verifies as apk checks it', async () => {
    const served = (await get(INDEX)).bytes;
    const sizes = await servedSizes(packages);
    for (const p of packages) assert.notEqual(sizes[p.fileName], p.bytes.length, `${p.fileName}: re-signing changed its size (else this test shows nothing)`);
    assert.deepEqual(await indexSizeMismatches(served, sizes), []);
    // Control: the same reader flags the upstream index, whose S: are the upstream packages' sizes.
    assert.equal((await indexSizeMismatches(index, sizes)).length, packages.length, 'the check can fail');
    assert.deepEqual(await indexSizeMismatches(index, Object.fromEntries(packages.map((p) => [p.fileName, p.bytes.length]))), []);

    const byOpenssl = await opensslVerify(served, org.pem, 'index');
    assert.ok(byOpenssl.ok, byOpenssl.output);
    assert.equal(byOpenssl.signatureName, `.SIGN.RSA256.${org.fileName}`);
    assert.ok(verifyApk(served, { [org.fileName]: org.pem }, 'index').ok);
    for (const p of packages) {
      const check = verifyApk((await get(p.fileName)).bytes, { [org.fileName]: org.pem }, 'package');
      assert.ok(check.ok, `${p.fileName}: ${check.reason}`);
      assert.equal(check.identity, p.checksum, `${p.fileName}: C: still names the served package`);
    }
  });

  test('a warm index is the same bytes without an upstream request; a new upstream revision gets exact S: too', async () => {
    const first = (await get(INDEX)).bytes;
    upstream.resetCounts();
    assert.deepEqual((await get(INDEX)).bytes, first);
    assert.equal(upstream.requests(), 0);

    const added = await buildApk(key, { name: 'added-apk', content: 'y'.repeat(50_000) });
    const all = [...packages, added];
    index = await buildApkIndex(key, all, { mtime: 1_760_000_100 });
    publish(INDEX, index);
    publish(added.fileName, added.bytes);
    mirror.advanceClock(TTL_MS + 1);
    const next = (await get(INDEX)).bytes;
    assert.notDeepEqual(next, first);
    assert.deepEqual(await indexSizeMismatches(next, await servedSizes(all)), []);
  });

  test('a revision listing a package that fails verification is not taken: the previous index (exact for what it lists) stays served', async () => {
    const before = (await get(INDEX)).bytes;
    const bad = await buildApk(key, { name: 'tampered-apk' });
    const withBad = await buildApkIndex(key, [...packages, bad], { mtime: 1_760_000_200 });
    publish(INDEX, withBad);
    publish(bad.fileName, bad.bytes);
    upstream.setMode(`/alpine/${DIR}/${bad.fileName}`, 'tamper');
    try {
      mirror.advanceClock(TTL_MS + 1);
      const { res, bytes } = await get(INDEX);
      assert.equal(res.headers.get('x-countersign-stale'), 'companions-unavailable');
      assert.deepEqual(bytes, before);
      assert.equal(mirror.app.store.index.getObject('alpine', `${DIR}/${bad.fileName}`), undefined, 'nothing stored for the tampered package');
    } finally {
      upstream.clearModes();
    }
    // Positive control: once the upstream serves it intact, the revision is taken with exact sizes.
    mirror.advanceClock(TTL_MS + 1);
    const taken = (await get(INDEX)).bytes;
    assert.notDeepEqual(taken, before);
    assert.deepEqual(await indexSizeMismatches(taken, await servedSizes([...packages, bad])), []);
  });
});
