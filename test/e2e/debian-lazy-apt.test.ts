/**
 * The real apt against a by-hash archive whose pool the mirror vouches for lazily (see
 * src/formats/debian/package-lists.ts): right after `apt-get update`, before anything vouched for
 * the pool, `apt-get download` of a package the upstream tampered with fails and nothing is
 * stored; the genuine package then downloads and installs, byte-identical to the archive's.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APT_TOOLS_MISSING, assertAptOk, makeAptEnv, type AptEnv } from '../helpers/apt-client.js';
import { DebianFixture, makeGpgKey, sha256, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('apt and lazy vouching', { skip: APT_TOOLS_MISSING }, () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;
  let env: AptEnv;
  let lib: string;

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive')]);
    archive = await DebianFixture.create(key);
    lib = await archive.addDeb({ name: 'libthing', version: '1.0', pool: 'pool/main/l/libthing' });
    await archive.addDeb({ name: 'tool', version: '1.0', pool: 'pool/main/t/tool', depends: 'libthing' });
    // As Debian publishes: by-hash, the uncompressed Packages listed but withheld.
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['', 'gz', 'xz'], withheld: [''], byHash: true });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'debian', format: 'debian', upstream: `${upstream.url}/debian`, trust: { keyring: 'archive.gpg' }, metadataTtl: '5m', retries: 0 }],
    });
    env = await makeAptEnv();
    const keyFile = await env.writeFile('countersign.asc', await (await mirror.get('/-/keys/openpgp.asc')).text());
    await env.setSources([`deb [signed-by=${keyFile}] ${mirror.url}/debian stable main`]);
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await env?.close();
    await Promise.all([archive?.close(), key?.close()]);
    await removeDir(dataDir);
  });

  test('right after apt-get update a tampered package is refused and nothing is stored; the genuine one installs', async () => {
    upstream.resetCounts();
    assertAptOk(await env.aptGet(['update']), 'apt-get update');
    assert.equal(mirror.app.store.index.getExpectations('debian', lib).length, 0, 'the update vouched for no pool file');
    upstream.setMode(`/debian/${lib}`, 'tamper');
    const refused = await env.aptGet(['download', 'libthing'], { cwd: env.downloads });
    assert.notEqual(refused.code, 0, 'apt-get download of the tampered package failed');
    assert.match(refused.stderr, /502/);
    assert.equal(mirror.app.store.index.getObject('debian', lib), undefined);
    // Positive control: the genuine bytes, then an install that pulls the dependency.
    upstream.clearModes();
    assertAptOk(await env.aptGet(['download', 'libthing'], { cwd: env.downloads }), 'apt-get download');
    assert.equal(sha256(await readFile(join(env.downloads, 'libthing_1.0_all.deb'))), sha256(await archive.file(lib)));
    const install = await env.aptGet(['install', '-y', '--no-install-recommends', 'tool']);
    assertAptOk(install, 'apt-get install');
    assert.match(install.stdout, /Setting up tool \(1\.0\)/);
  });
});
