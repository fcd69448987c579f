/**
 * Issue 9, finding 7 (Debian): under `verify: warn` a Release that did not verify is still
 * served, but signed by the separately published unverified org key, never by the primary one:
 * gpgv with /-/keys/openpgp.asc alone refuses it. The client setup of a warn repository says
 * so and installs both keys; a require repository's setup installs the primary key only.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebianFixture, gpgv, makeGpgKey, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('debian: verify: warn signs what did not verify with the unverified key only', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let stranger: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;

  before(async () => {
    [upstream, key, stranger] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive'), makeGpgKey('Somebody Else')]);
    archive = await DebianFixture.create(key);
    await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    await archive.writeSuite({ suite: 'good', pools: ['pool/main'], compressions: ['gz'] });
    await archive.writeSuite({ suite: 'bad', pools: ['pool/main'], compressions: ['gz'], signWith: stranger });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    const repo = { format: 'debian', upstream: `${upstream.url}/debian`, metadataTtl: '5m', retries: 0, trust: { keyring: 'archive.gpg', suites: ['good', 'bad'] } };
    mirror = await startMirror({
      dataDir,
      repositories: [{ ...repo, name: 'loose', verify: 'warn' }, { ...repo, name: 'strict', verify: 'require' }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), key?.close(), stranger?.close()]);
    await removeDir(dataDir);
  });

  const get = async (path: string) => {
    const res = await mirror.get(path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const keyring = async (file: string) => {
    const res = await mirror.get(`/-/keys/${file}`);
    assert.equal(res.status, 200, file);
    return res.text();
  };

  test('an InRelease that did not verify: refused by the primary key, accepted by the unverified one', async () => {
    const [primary, unverified] = [await keyring('openpgp.asc'), await keyring('openpgp-unverified.asc')];
    const primaryId = mirror.app.keys.openpgpSigner('primary').id;
    const unverifiedId = mirror.app.keys.openpgpSigner('unverified').id;
    assert.notEqual(primaryId, unverifiedId);

    const bad = await get('/loose/dists/bad/InRelease');
    assert.equal(bad.status, 200, bad.body.toString());
    assert.match(bad.headers.get('x-countersign-verification') ?? '', /^unverified/);
    const byPrimary = await gpgv(primary, bad.body);
    assert.equal(byPrimary.ok, false, `the primary key must not vouch for it:\n${byPrimary.output}`);
    const byUnverified = await gpgv(unverified, bad.body);
    assert.ok(byUnverified.ok && byUnverified.output.includes(`VALIDSIG ${unverifiedId}`), byUnverified.output);
    // Release + Release.gpg of the same generation: the same key.
    const plain = (await get('/loose/dists/bad/Release')).body;
    const detached = (await get('/loose/dists/bad/Release.gpg')).body;
    assert.equal((await gpgv(primary, plain, detached)).ok, false);
    assert.ok((await gpgv(unverified, plain, detached)).ok);

    // Positive control, same repository: a Release that verified is signed by the primary key.
    const good = await get('/loose/dists/good/InRelease');
    assert.equal(good.status, 200);
    assert.match(good.headers.get('x-countersign-verification') ?? '', new RegExp(`^verified; by=openpgp:${key.fingerprint}`));
    const goodByPrimary = await gpgv(primary, good.body);
    assert.ok(goodByPrimary.ok && goodByPrimary.output.includes(`VALIDSIG ${primaryId}`), goodByPrimary.output);
    assert.equal((await gpgv(unverified, good.body)).ok, false, 'what verified is not signed by the unverified key');

    // The same suite under require is refused outright.
    assert.equal((await get('/strict/dists/bad/InRelease')).status, 502);
  });

  test('client setup: warn installs both keys and says why; require installs the primary key only', async () => {
    const loose = (await get('/loose/-/setup')).body.toString();
    const base = mirror.config.publicUrl;
    assert.match(loose, new RegExp(`curl -fsSL ${base}/-/keys/openpgp\\.asc -o /etc/apt/keyrings/countersign-loose\\.asc`));
    assert.match(loose, new RegExp(`curl -fsSL ${base}/-/keys/openpgp-unverified\\.asc -o /etc/apt/keyrings/countersign-loose-unverified\\.asc`));
    assert.match(loose, /^Signed-By: \/etc\/apt\/keyrings\/countersign-loose\.asc \/etc\/apt\/keyrings\/countersign-loose-unverified\.asc$/m);
    assert.match(loose, /signed-by=\/etc\/apt\/keyrings\/countersign-loose\.asc,\/etc\/apt\/keyrings\/countersign-loose-unverified\.asc\]/);
    assert.match(loose, /verify: warn/);
    assert.match(loose, /did not verify/);
    assert.match(loose, new RegExp(mirror.app.keys.openpgpSigner('unverified').id));

    const strict = (await get('/strict/-/setup')).body.toString();
    assert.match(strict, new RegExp(`curl -fsSL ${base}/-/keys/openpgp\\.asc -o /etc/apt/keyrings/countersign-strict\\.asc`));
    assert.doesNotMatch(strict, /unverified\.asc/);
    assert.match(strict, /^Signed-By: \/etc\/apt\/keyrings\/countersign-strict\.asc$/m);
    assert.match(strict, new RegExp(mirror.app.keys.openpgpSigner('primary').id));
  });
});
