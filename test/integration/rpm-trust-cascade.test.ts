/**
 * The re-signing cascade never launders unverified bytes: in a `warn` repository whose
 * repomd.xml verifies but whose packages do not (their header signatures are by a key the
 * operator does not trust), the re-signed packages carry the unverified key's signature, and so
 * must the repomd.xml.asc whose checksums vouch for them. A client that trusts only the primary
 * key then refuses the whole repository; one that verifies a correctly signed repository with it
 * still succeeds (positive control).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, makeGpgKey, publishRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';

const REPOMD = 'repodata/repomd.xml';

describe('rpm warn: the cascade carries "unverified" from packages up to repomd.xml.asc', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let stranger: GpgKey;
  let mirror: RunningMirror;
  let dataDir: string;

  before(async () => {
    [upstream, key, stranger] = await Promise.all([startFixtureUpstream(), makeGpgKey(), makeGpgKey('Package Stranger')]);
    // Metadata signed by the trusted key, packages by a key nobody pinned.
    publishRpmRepo(upstream, '/mixed', await buildRpmRepo({ packages: [{ name: 'mixed-pkg' }], packageKey: stranger, repoKey: key }));
    publishRpmRepo(upstream, '/good', await buildRpmRepo({ packages: [{ name: 'good-pkg' }], packageKey: key }));
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    const repo = (name: string) => ({ name, format: 'rpm', upstream: `${upstream.url}/${name}`, verify: 'warn' as const, trust: { keyring: 'upstream.asc' }, retries: 0 });
    mirror = await startMirror({ dataDir, repositories: [repo('mixed'), repo('good')] });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  async function repomdSignedBy(repository: string): Promise<{ primary: boolean; unverified: boolean; verification: string }> {
    const res = await mirror.get(`/${repository}/${REPOMD}`);
    assert.equal(res.status, 200);
    const verification = res.headers.get('x-countersign-verification') ?? '';
    const repomd = Buffer.from(await res.arrayBuffer());
    const asc = await (await mirror.get(`/${repository}/${REPOMD}.asc`)).text();
    const primaryKeys = await (await mirror.get('/-/keys/openpgp.asc')).text();
    const unverifiedKeys = await (await mirror.get('/-/keys/openpgp-unverified.asc')).text();
    return { primary: (await gpgVerify(primaryKeys, repomd, asc)).ok, unverified: (await gpgVerify(unverifiedKeys, repomd, asc)).ok, verification };
  }

  test('repomd.xml verified, packages not: repomd.xml.asc is by the unverified key only', async () => {
    const mixed = await repomdSignedBy('mixed');
    assert.match(mixed.verification, /^verified;/, 'repomd.xml itself verified with the pinned keyring');
    assert.deepEqual({ primary: mixed.primary, unverified: mixed.unverified }, { primary: false, unverified: true });
  });

  test('positive control: verified metadata and packages are signed by the primary key', async () => {
    const good = await repomdSignedBy('good');
    assert.deepEqual({ primary: good.primary, unverified: good.unverified }, { primary: true, unverified: false });
  });
});
