/**
 * Issue 9, finding 3: no served expiry outlives the upstream's own (DESIGN.md, freeze
 * protection). `trust.validFor` may shorten the upstream's Valid-Until, never lengthen it; a
 * Release without one expires at its Date + validFor. A 304 or the same bytes again re-run the
 * verification by the mirror's clock, so an upstream frozen past its Valid-Until is refused,
 * never re-signed with a fresh Valid-Until.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { splitClearSigned } from '../../src/formats/debian/clearsigned.js';
import { formatReleaseDate, parseReleaseDate } from '../../src/formats/debian/release-date.js';
import { parseRelease } from '../../src/formats/debian/release-file.js';
import { DebianFixture, gpgv, makeGpgKey, type GpgKey } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const DAY = 86_400_000;
const TTL_MS = 60_000;

describe('debian: the served Valid-Until never outlives the upstream\'s', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;
  // Whole seconds: Release dates have no fractions.
  const start = Math.floor(Date.now() / 1000) * 1000;
  const upstreamValidUntil = new Date(start + 2 * DAY);

  before(async () => {
    [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive')]);
    archive = await DebianFixture.create(key);
    await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    const expiring = { 'Valid-Until': formatReleaseDate(upstreamValidUntil) };
    // `frozen` is answered with 304 once cached; `same` always with the same bytes (no validators).
    await archive.writeSuite({ suite: 'frozen', pools: ['pool/main'], compressions: ['gz'], signing: 'inrelease', fields: expiring });
    await archive.writeSuite({ suite: 'same', pools: ['pool/main'], compressions: ['gz'], signing: 'inrelease', fields: expiring });
    await archive.writeSuite({ suite: 'current', pools: ['pool/main'], compressions: ['gz'], signing: 'inrelease' });
    await archive.writeSuite({ suite: 'stale', pools: ['pool/main'], compressions: ['gz'], signing: 'inrelease', fields: { Date: formatReleaseDate(new Date(start - 31 * DAY)) } });
    await archive.publish(upstream);
    upstream.setFile('/debian/dists/same/InRelease', await archive.file('dists/same/InRelease'), { etag: false, lastModified: false });
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    mirror = await startMirror({
      dataDir,
      repositories: [{
        name: 'deb', format: 'debian', upstream: `${upstream.url}/debian`, verify: 'require', metadataTtl: `${TTL_MS}ms`, retries: 0,
        trust: { keyring: 'archive.gpg', validFor: '30d' },
      }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), key?.close()]);
    await removeDir(dataDir);
  });

  const get = async (path: string) => {
    const res = await mirror.get(path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const validUntil = (inRelease: Buffer): Date | undefined => {
    const split = splitClearSigned(inRelease);
    assert.ok(split.ok);
    const parsed = parseRelease(split.value.text);
    assert.ok(parsed.ok);
    return parsed.release.validUntil;
  };
  const primarySigned = async (inRelease: Buffer): Promise<void> => {
    const v = await gpgv(await (await mirror.get('/-/keys/openpgp.asc')).text(), inRelease);
    assert.ok(v.ok && v.output.includes(`VALIDSIG ${mirror.app.keys.openpgpSigner('primary').id}`), v.output);
  };
  const releaseSignatures = (suite: string) => mirror.app.store.index.signatureLog().filter((e) => e.object.startsWith(`dists/${suite}/`)).length;

  test('with validFor, the served Valid-Until is the upstream\'s when that is earlier, else Date + validFor', async () => {
    for (const suite of ['frozen', 'same']) {
      const res = await get(`/deb/dists/${suite}/InRelease`);
      assert.equal(res.status, 200, res.body.toString());
      await primarySigned(res.body);
      // Date + 30d is later than the upstream's Valid-Until: the upstream's stands.
      assert.equal(validUntil(res.body)?.getTime(), upstreamValidUntil.getTime(), suite);
    }
    // Positive control: a current Release without a Valid-Until gets Date + validFor.
    const current = await get('/deb/dists/current/InRelease');
    assert.equal(current.status, 200, current.body.toString());
    await primarySigned(current.body);
    const upstreamDate = parseReleaseDate(/^Date: (.*)$/m.exec((await archive.file('dists/current/Release')).toString())![1]!);
    assert.ok(upstreamDate);
    assert.equal(validUntil(current.body)?.getTime(), upstreamDate.getTime() + 30 * DAY);
  });

  test('a Release whose Date + validFor has passed is refused, not given a fresh Valid-Until', async () => {
    const res = await get('/deb/dists/stale/InRelease');
    assert.equal(res.status, 502, res.body.toString());
    assert.match((JSON.parse(res.body.toString()) as { error: string }).error, /expired: .*validFor/);
    assert.equal(releaseSignatures('stale'), 0);
  });

  test('past the upstream Valid-Until, a 304 or the same bytes again are refused (502), never re-signed', async () => {
    const signedBefore = { frozen: releaseSignatures('frozen'), same: releaseSignatures('same') };
    mirror.advanceClock(3 * DAY);
    upstream.resetCounts();
    for (const suite of ['frozen', 'same'] as const) {
      for (const file of ['InRelease', 'Release']) {
        const res = await get(`/deb/dists/${suite}/${file}`);
        assert.equal(res.status, 502, `${suite}/${file}: ${res.status} ${res.body.toString().slice(0, 300)}`);
        assert.match((JSON.parse(res.body.toString()) as { error: string }).error, /expired: Valid-Until .* is in the past/);
      }
      assert.equal(releaseSignatures(suite), signedBefore[suite], `${suite}: nothing signed past the upstream's Valid-Until`);
    }
    // The mirror did ask (a 304 for `frozen`, the same bytes for `same`): what it refused is the confirmation.
    assert.ok(upstream.requests('/debian/dists/frozen/InRelease') > 0);
    assert.ok(upstream.requests('/debian/dists/same/InRelease') > 0);
    assert.ok(upstream.log.some((l) => l.path === '/debian/dists/same/InRelease' && l.headers['if-none-match'] === undefined));

    // Positive control: the current Release, confirmed by a 304 at the same mirror time, is still served and signed.
    const current = await get('/deb/dists/current/InRelease');
    assert.equal(current.status, 200, current.body.toString());
    await primarySigned(current.body);
    assert.ok((validUntil(current.body)?.getTime() ?? 0) > mirror.now());
  });
});
