/**
 * Issue 9, finding 1 (Debian): a primary org signature means "verified under the trust the
 * operator configured, as it is today". One data directory, three mirror runs:
 *  1. keyring {K}: the suite (signed by K only) is served and signed by the primary org key;
 *  2. keyring {O} (K removed): the stored InRelease is refused (502), neither served from the
 *     cache nor signed again;
 *  3. keyring {K, O}: served again, re-verified from the stored bytes, without asking the upstream.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebianFixture, gpgv, makeGpgKey, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('debian: the trust of today decides what is served, on the same data directory', () => {
  let upstream: FixtureUpstream;
  let k: GpgKey;
  let o: GpgKey;
  let archive: DebianFixture;
  let dataDir: string;
  let mirror: RunningMirror | undefined;

  before(async () => {
    [upstream, k, o] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive K'), makeGpgKey('Other Archive O')]);
    archive = await DebianFixture.create(k);
    await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['gz', 'xz'], byHash: true });
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'k.gpg'), k.binaryKeyring);
    await writeFile(join(dataDir, 'o.gpg'), o.binaryKeyring);
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), k?.close(), o?.close()]);
    await removeDir(dataDir);
  });

  const run = async (keyring: string | string[]): Promise<RunningMirror> => {
    await mirror?.close();
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'deb', format: 'debian', upstream: `${upstream.url}/debian`, verify: 'require', metadataTtl: '1h', retries: 0, trust: { keyring } }],
    });
    return mirror;
  };
  const get = async (m: RunningMirror, path: string) => {
    const res = await m.get(path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const releaseSignatures = (m: RunningMirror) => m.app.store.index.signatureLog().filter((e) => e.object.startsWith('dists/stable/')).length;

  test('K removed from the keyring: refused, not served from the cache, not re-signed; K back: re-verified from the stored bytes', async () => {
    // 1. Served under {K}: the positive control, signed by the primary org key.
    const first = await run('k.gpg');
    const served = await get(first, '/deb/dists/stable/InRelease');
    assert.equal(served.status, 200);
    assert.match(served.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=openpgp:${k.fingerprint}`));
    const primaryKeys = await (await first.get('/-/keys/openpgp.asc')).text();
    const good = await gpgv(primaryKeys, served.body);
    assert.ok(good.ok && good.output.includes(`VALIDSIG ${first.app.keys.openpgpSigner('primary').id}`), good.output);
    assert.equal((await get(first, '/deb/dists/stable/main/binary-amd64/Packages.xz')).status, 200);
    assert.equal((await get(first, '/deb/pool/main/h/hello/hello_1.0_all.deb')).status, 200);

    // 2. The operator no longer trusts K. The stored InRelease is still fresh (metadataTtl 1h): only
    // the trust change can refuse it, and nothing that verified under {K} may be served or signed.
    const second = await run('o.gpg');
    const signedBefore = releaseSignatures(second);
    for (const path of ['/deb/dists/stable/InRelease', '/deb/dists/stable/Release', '/deb/dists/stable/Release.gpg']) {
      const refused = await get(second, path);
      assert.equal(refused.status, 502, `${path}: ${refused.body.toString()}`);
      assert.equal((JSON.parse(refused.body.toString()) as { code: string }).code, 'VERIFICATION_FAILED', path);
    }
    const index = await get(second, '/deb/dists/stable/main/binary-amd64/Packages.xz');
    assert.equal(index.status, 502, 'an index of a Release that no longer verifies is not served either');
    assert.equal(releaseSignatures(second), signedBefore, 'nothing was signed under the new trust');

    // 3. K is trusted again (beside O: a trust configuration of its own). The stored bytes verify
    // under it: served without asking the upstream for the InRelease, signed by the primary key.
    const third = await run(['k.gpg', 'o.gpg']);
    upstream.resetCounts();
    const back = await get(third, '/deb/dists/stable/InRelease');
    assert.equal(back.status, 200, back.body.toString());
    assert.match(back.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=openpgp:${k.fingerprint}`));
    const again = await gpgv(primaryKeys, back.body);
    assert.ok(again.ok && again.output.includes(`VALIDSIG ${third.app.keys.openpgpSigner('primary').id}`), again.output);
    assert.equal((await get(third, '/deb/dists/stable/main/binary-amd64/Packages.xz')).status, 200);
    assert.equal((await get(third, '/deb/pool/main/h/hello/hello_1.0_all.deb')).status, 200);
    assert.equal(upstream.requests(), 0, `re-verified from the stored bytes: ${upstream.log.map((l) => l.path).join(', ')}`);
  });
});
