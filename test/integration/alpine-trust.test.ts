/**
 * The trust guarantee (issue 9) for Alpine repositories, against a fixture upstream in apk's exact
 * v2 layout (tar, gzip, openssl):
 * - rollback: an older, genuinely signed APKINDEX.tar.gz (an earlier build time on its APKINDEX
 *   entry, which the signature covers) is refused and the newer one stays served;
 * - warn: an unverified APKINDEX and its packages are signed by the unverified org RSA key, under
 *   that key's file name, so apk with only the primary key refuses them.
 * Each refusal is paired with the correctly signed case served with the primary key's signature.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApk, buildApkIndex, makeApkKey, type ApkKey, type BuiltApk } from '../helpers/apk-fixture.js';
import { opensslVerify, verifyApk } from '../helpers/apk-verify.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;
const DIR = 'v3.20/main/x86_64';
const INDEX = 'APKINDEX.tar.gz';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('alpine trust: rollback and unverified signing', () => {
  let upstream: FixtureUpstream;
  let key: ApkKey;
  let wrongKey: ApkKey;
  let packages: BuiltApk[];
  let mirror: RunningMirror;
  let dataDir: string;
  let primary: { fileName: string; pem: string };
  let unverified: { fileName: string; pem: string };
  // Build times of three genuinely signed index revisions (Unix seconds), oldest first.
  const now = Math.floor(Date.now() / 1000);
  const [older, current, newer] = [now - 7200, now - 3600, now];

  const publish = (repo: string, path: string, bytes: Buffer) => upstream.setFile(`/${repo}/${DIR}/${path}`, bytes);
  const repo = (name: string, verify: 'require' | 'warn') => ({
    name, format: 'alpine', upstream: `${upstream.url}/${name}`, verify, trust: { keys: 'apk-keys' }, metadataTtl: `${TTL_MS}ms`, retries: 0,
  });

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeApkKey('alpine-devel@upstream.example-5f3a.rsa.pub'), makeApkKey('someone@else.example-0000.rsa.pub')]);
    packages = await Promise.all([buildApk(key, { name: 'hello-apk' }), buildApk(key, { name: 'second-apk' })]);
    publish('roll', INDEX, await buildApkIndex(key, packages, { mtime: current }));
    publish('warngood', INDEX, await buildApkIndex(key, packages, { mtime: current }));
    // The warn repository's upstream signs its index with a key the operator does not trust.
    publish('warn', INDEX, await buildApkIndex(wrongKey, packages, { mtime: current }));
    for (const r of ['roll', 'warn', 'warngood']) for (const p of packages) publish(r, p.fileName, p.bytes);
    dataDir = await makeDataDir();
    await mkdir(join(dataDir, 'apk-keys'));
    await writeFile(join(dataDir, 'apk-keys', key.fileName), key.publicPem);
    mirror = await startMirror({ dataDir, repositories: [repo('roll', 'require'), repo('warn', 'warn'), repo('warngood', 'warn')] });
    primary = mirror.app.keys.rsaPublic('primary');
    unverified = mirror.app.keys.rsaPublic('unverified');
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await wrongKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const fetchOk = async (repoName: string, path: string) => {
    const res = await mirror.get(`/${repoName}/${DIR}/${path}`);
    assert.equal(res.status, 200, `${repoName}/${path}: ${res.status}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const signatureCount = () => mirror.app.store.index.signatureLog(1_000_000).length;

  test('rollback: an older, genuinely signed APKINDEX is refused, the newer one stays served (stale: rollback), nothing is signed for it', async () => {
    const served = await fetchOk('roll', INDEX);
    assert.ok(verifyApk(served.bytes, { [primary.fileName]: primary.pem }, 'index').ok);
    const signedBefore = signatureCount();
    const storedBefore = mirror.app.store.index.getObject('roll', `${DIR}/${INDEX}`);
    assert.equal(storedBefore?.verification.revision?.value, current * 1000);

    const replayed = await buildApkIndex(key, packages.slice(0, 1), { mtime: older });
    publish('roll', INDEX, replayed);
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const res = await mirror.get(`/roll/${DIR}/${INDEX}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'rollback');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), served.bytes, 'the newer index is still what apk gets');
    assert.equal(upstream.requests(`/roll/${DIR}/${INDEX}`), 1, 'the older index was fetched (and refused), not ignored');
    assert.equal(signatureCount(), signedBefore, 'nothing was signed for the older index');
    assert.equal(mirror.app.store.index.getObject('roll', `${DIR}/${INDEX}`)?.sha256, storedBefore?.sha256);

    // Positive control: a newer build is taken, served fresh and signed by the primary key.
    const next = await buildApkIndex(key, packages, { mtime: newer, description: 'next' });
    publish('roll', INDEX, next);
    mirror.advanceClock(TTL_MS + 1);
    const taken = await fetchOk('roll', INDEX);
    assert.equal(taken.res.headers.get('x-countersign-stale'), null);
    assert.notDeepEqual(taken.bytes, served.bytes);
    const check = await opensslVerify(taken.bytes, primary.pem, 'index');
    assert.ok(check.ok, check.output);
    assert.equal(check.signatureName, `.SIGN.RSA256.${primary.fileName}`);
    assert.equal(mirror.app.store.index.getObject('roll', `${DIR}/${INDEX}`)?.sha256, sha256(next));
  });

  test('warn: an unverified APKINDEX and its packages are signed by the unverified key, under its file name', async () => {
    assert.notEqual(unverified.fileName, primary.fileName);
    const index = await fetchOk('warn', INDEX);
    assert.match(index.res.headers.get('x-countersign-verification') ?? '', /^unverified/);
    const byUnverified = await opensslVerify(index.bytes, unverified.pem, 'index');
    assert.ok(byUnverified.ok, byUnverified.output);
    assert.equal(byUnverified.signatureName, `.SIGN.RSA256.${unverified.fileName}`, 'the signature member names the unverified key file');
    assert.equal(verifyApk(index.bytes, { [primary.fileName]: primary.pem }, 'index').reason, 'UNTRUSTED signature', 'apk with the primary key alone refuses it');
    for (const p of packages) {
      const pkg = (await fetchOk('warn', p.fileName)).bytes;
      assert.equal(verifyApk(pkg, { [primary.fileName]: primary.pem }, 'package').ok, false, `${p.fileName}: not by the primary key`);
      const check = verifyApk(pkg, { [unverified.fileName]: unverified.pem }, 'package');
      assert.ok(check.ok, `${p.fileName}: ${check.reason}`);
    }
    assert.equal(await (await mirror.get(`/-/keys/${unverified.fileName}`)).text(), unverified.pem, 'published under the name apk looks it up by');
    const { keys } = (await (await mirror.get('/-/keys')).json()) as { keys: { kind: string; role: string }[] };
    assert.equal(keys.find((k) => k.kind === 'rsa-unverified')?.role, 'unverified');

    // Positive control: verified content in a warn repository is signed by the primary key.
    const good = await fetchOk('warngood', INDEX);
    assert.match(good.res.headers.get('x-countersign-verification') ?? '', /^verified/);
    const byPrimary = await opensslVerify(good.bytes, primary.pem, 'index');
    assert.ok(byPrimary.ok, byPrimary.output);
    assert.equal(byPrimary.signatureName, `.SIGN.RSA256.${primary.fileName}`);
    for (const p of packages) assert.ok(verifyApk((await fetchOk('warngood', p.fileName)).bytes, { [primary.fileName]: primary.pem }, 'package').ok, p.fileName);
  });

  test('warn: the setup text installs the unverified key file too; a require repository only the primary', async () => {
    const warn = await (await mirror.get('/warn/-/setup')).text();
    assert.ok(warn.includes(`/etc/apk/keys/${primary.fileName} ${mirror.url}/-/keys/${primary.fileName}`), warn);
    assert.ok(warn.includes(`/etc/apk/keys/${unverified.fileName} ${mirror.url}/-/keys/${unverified.fileName}`), warn);
    const require = await (await mirror.get('/roll/-/setup')).text();
    assert.ok(require.includes(`/etc/apk/keys/${primary.fileName}`), require);
    assert.ok(!require.includes(unverified.fileName), require);
  });
});
