/**
 * The Debian format against an archive built with the real tools (dpkg-deb, apt-ftparchive,
 * gpg), served by a fixture upstream: the STYLE.md scenario matrix, generation consistency
 * (a Release and the index files it lists are served as a set), and signatures gpgv accepts.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { splitClearSigned } from '../../src/formats/debian/clearsigned.js';
import { parseRelease } from '../../src/formats/debian/release-file.js';
import { parseReleaseDate } from '../../src/formats/debian/release-date.js';
import { DebianFixture, gpgv, makeGpgKey, PDIFF_PATCH, sha256, type GpgKey, type SuiteSpec } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { waitFor } from '../helpers/fault-serve.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;
const DAY = 86_400_000;

describe('debian repository', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let wrongKey: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;

  const suites: Record<string, SuiteSpec> = {
    stable: { suite: 'stable', pools: ['pool/main'], compressions: ['', 'gz', 'xz'], byHash: true, pdiff: true },
    'stable-updates': { suite: 'stable-updates', pools: ['pool/updates'], compressions: ['', 'gz', 'xz'], withheld: [''], signing: 'inrelease' },
    // As Debian publishes: the uncompressed Packages is listed but only Packages.xz exists.
    xzonly: { suite: 'xzonly', pools: ['pool/xz'], compressions: ['', 'xz'], withheld: [''], signing: 'inrelease' },
    legacy: { suite: 'legacy', pools: ['pool/main'], compressions: ['gz'], signing: 'detached' },
  };

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive'), makeGpgKey('Somebody Else')]);
    archive = await DebianFixture.create(key);
    await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
    await archive.addDeb({ name: 'world', version: '1.0', pool: 'pool/main/w/world', depends: 'hello' });
    await archive.addDeb({ name: 'hello', version: '1.1', pool: 'pool/updates/main/h/hello' });
    await archive.addDeb({ name: 'tiny', version: '2.0', pool: 'pool/xz/t/tiny' });
    for (const spec of Object.values(suites)) await archive.writeSuite(spec);
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    const repo = { format: 'debian', upstream: `${upstream.url}/debian`, verify: 'require' as const, metadataTtl: `${TTL_MS}ms`, retries: 0 };
    mirror = await startMirror({
      dataDir,
      repositories: [
        { ...repo, name: 'deb', trust: { keyring: 'archive.gpg', suites: ['stable', 'stable-updates'] } },
        { ...repo, name: 'long', trust: { keyring: 'archive.gpg', validFor: '30d' }, metadataTtl: '5m' },
      ],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), key?.close(), wrongKey?.close()]);
    await removeDir(dataDir);
  });

  const get = async (path: string): Promise<{ status: number; headers: Headers; body: Buffer }> => {
    const res = await mirror.get(path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const orgKeys = async () => (await mirror.get('/-/keys/openpgp.asc')).text();
  const servedRelease = (inRelease: Buffer) => {
    const split = splitClearSigned(inRelease);
    assert.ok(split.ok, 'the served InRelease splits as apt splits it');
    const parsed = parseRelease(split.value.text);
    assert.ok(parsed.ok);
    return { text: split.value.text, release: parsed.release };
  };
  const tempFiles = async () => (await readdir(join(dataDir, 'blobs', 'tmp'))).length;
  const republish = async (spec: SuiteSpec) => {
    await archive.writeSuite(spec);
    await archive.publish(upstream);
  };

  test('cold InRelease: verified upstream, re-signed by the org key over the same Release', async () => {
    const res = await get('/deb/dists/stable/InRelease');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.match(res.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=openpgp:${key.fingerprint}`));
    const keys = await orgKeys();
    const good = await gpgv(keys, res.body);
    assert.ok(good.ok, good.output);
    assert.match(good.output, new RegExp(`VALIDSIG ${mirror.app.keys.openpgpSigner().id}`));
    assert.equal((await gpgv(key.armored, res.body)).ok, false, 'the upstream signature is not passed on');

    const { text, release } = servedRelease(res.body);
    const upstreamRelease = (await archive.file('dists/stable/Release')).toString();
    for (const line of upstreamRelease.split('\n').filter((l) => l.startsWith(' '))) assert.ok(text.includes(line.trimEnd()), `${line} is kept`);
    assert.equal(release.acquireByHash, true);
    assert.equal(release.fields.get('origin')?.value, 'Fixture');

    // Release and Release.gpg are the same generation, signed the same way.
    const plain = await get('/deb/dists/stable/Release');
    assert.equal(plain.body.toString(), `${text}\n`);
    const detached = await get('/deb/dists/stable/Release.gpg');
    assert.match(detached.body.toString(), /^-----BEGIN PGP SIGNATURE-----/);
    assert.ok((await gpgv(keys, plain.body, detached.body)).ok);
    // Signatures are made once per generation and logged.
    assert.deepEqual((await get('/deb/dists/stable/InRelease')).body, res.body);
    assert.ok(mirror.app.store.index.signatureLog().some((e) => e.object === 'dists/stable/InRelease' && e.kind === 'openpgp-cleartext'));
  });

  test('every listed index file is served byte-identical, by name and by-hash, matching the served Release', async () => {
    const { release } = servedRelease((await get('/deb/dists/stable/InRelease')).body);
    assert.deepEqual([...release.entries.keys()].sort(), ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.diff/Index', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz']);
    for (const entry of release.entries.values()) {
      const upstreamBytes = await archive.file(`dists/stable/${entry.name}`);
      const byName = await get(`/deb/dists/stable/${entry.name}`);
      assert.equal(byName.status, 200, entry.name);
      assert.deepEqual(byName.body, upstreamBytes);
      assert.equal(sha256(byName.body), entry.hashes.sha256);
      const dir = entry.name.slice(0, entry.name.lastIndexOf('/'));
      for (const [type, digest] of [['SHA256', entry.hashes.sha256], ['SHA512', entry.hashes.sha512], ['MD5Sum', entry.hashes.md5]] as const) {
        const byHash = await get(`/deb/dists/stable/${dir}/by-hash/${type}/${digest}`);
        assert.equal(byHash.status, 200, `${type} ${entry.name}`);
        assert.deepEqual(byHash.body, upstreamBytes);
      }
    }
    assert.equal((await get('/deb/dists/stable/main/binary-i386/Packages')).status, 404, 'a file the Release does not list');
    assert.equal((await get(`/deb/dists/stable/main/binary-amd64/by-hash/SHA256/${'0'.repeat(64)}`)).status, 404);
    assert.equal((await get('/deb/dists/stable/main/binary-amd64/by-hash/SHA256/abc')).status, 404);
  });

  test('pdiff patches are served when the verified Packages.diff/Index lists them', async () => {
    assert.equal((await get('/deb/dists/stable/main/binary-amd64/Packages.diff/Index')).status, 200);
    const patch = await archive.file(`dists/stable/main/binary-amd64/Packages.diff/${PDIFF_PATCH}`);
    const byName = await get(`/deb/dists/stable/main/binary-amd64/Packages.diff/${PDIFF_PATCH}`);
    assert.equal(byName.status, 200);
    assert.deepEqual(byName.body, patch);
    const byHash = await get(`/deb/dists/stable/main/binary-amd64/Packages.diff/by-hash/SHA256/${sha256(patch)}`);
    assert.equal(byHash.status, 200);
    assert.deepEqual(byHash.body, patch);
    assert.equal((await get('/deb/dists/stable/main/binary-amd64/Packages.diff/T-2030-01-01-0000.00-F-2025-12-31-0000.00.gz')).status, 404, 'a patch no Index lists');
  });

  test('a .deb is served when a verified Packages vouches for it', async () => {
    const res = await get('/deb/pool/main/h/hello/hello_1.0_all.deb');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.debian.binary-package');
    assert.deepEqual(res.body, await archive.file('pool/main/h/hello/hello_1.0_all.deb'));
    assert.match(res.headers.get('x-countersign-verification') ?? '', /verified; by=index:dists\/stable\/main\/binary-amd64\/by-hash\//);
  });

  test('warm requests make no upstream request', async () => {
    await get('/deb/dists/stable/InRelease'); // fresh for another TTL, however long the tests above took
    upstream.resetCounts();
    for (const path of ['/deb/dists/stable/InRelease', '/deb/dists/stable/main/binary-amd64/Packages.xz', '/deb/pool/main/h/hello/hello_1.0_all.deb', '/deb/dists/stable/Release.gpg']) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-cache'), 'HIT', path);
    }
    assert.equal(upstream.requests(), 0);
  });

  test('after metadataTtl the InRelease is revalidated; index requests never revalidate', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const before = (await get('/deb/dists/stable/InRelease'));
    assert.equal(before.headers.get('x-cache'), 'REVALIDATED');
    assert.equal(upstream.requests('/debian/dists/stable/InRelease'), 1);
    assert.ok(upstream.log.at(-1)?.headers['if-none-match'], 'a conditional request');
    mirror.advanceClock(TTL_MS + 1);
    assert.equal((await get('/deb/dists/stable/main/binary-amd64/Packages.gz')).status, 200);
    assert.equal(upstream.requests('/debian/dists/stable/InRelease'), 1, 'an index request does not move the generation');
  });

  test('an xz-only suite: its Packages.xz vouches for its packages, and the listed Packages is served decompressed', async () => {
    assert.equal((await get('/deb/dists/xzonly/InRelease')).status, 200);
    const { release } = servedRelease((await get('/deb/dists/xzonly/InRelease')).body);
    assert.deepEqual([...release.entries.keys()].sort(), ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.xz']);
    assert.equal((await get('/deb/dists/xzonly/main/binary-amd64/Packages.xz')).status, 200);
    const deb = await get('/deb/pool/xz/t/tiny/tiny_2.0_all.deb');
    assert.equal(deb.status, 200);
    assert.deepEqual(deb.body, await archive.file('pool/xz/t/tiny/tiny_2.0_all.deb'));
    // The upstream has no uncompressed Packages; the mirror serves the one the Release lists.
    upstream.resetCounts();
    const plain = await get('/deb/dists/xzonly/main/binary-amd64/Packages');
    assert.equal(plain.status, 200);
    assert.equal(sha256(plain.body), release.entries.get('main/binary-amd64/Packages')!.hashes.sha256);
    assert.match(plain.body.toString(), /^Package: tiny$/m);
    const entry = release.entries.get('main/binary-amd64/Packages')!;
    assert.deepEqual((await get(`/deb/dists/xzonly/main/binary-amd64/by-hash/SHA512/${entry.hashes.sha512}`)).body, plain.body);
    assert.equal(upstream.requests(), 0, 'made from the cached Packages.xz');
  });

  test('an upstream with only Release + Release.gpg is verified and served with an InRelease', async () => {
    upstream.resetCounts();
    const res = await get('/deb/dists/legacy/InRelease');
    assert.equal(res.status, 200);
    assert.ok((await gpgv(await orgKeys(), res.body)).ok);
    assert.equal(upstream.requests('/debian/dists/legacy/InRelease'), 1);
    assert.equal(upstream.requests('/debian/dists/legacy/Release'), 1);
    assert.equal(upstream.requests('/debian/dists/legacy/Release.gpg'), 1);
    assert.equal((await get('/deb/dists/legacy/main/binary-amd64/Packages.gz')).status, 200);
  });

  test('a package no verified index lists is refused and nothing is stored', async () => {
    upstream.setFile('/debian/pool/main/e/evil/evil_1.0_all.deb', 'not in any Packages');
    const res = await get('/deb/pool/main/e/evil/evil_1.0_all.deb');
    assert.equal(res.status, 502);
    const body = JSON.parse(res.body.toString()) as Record<string, string>;
    assert.equal(body.code, 'VERIFICATION_FAILED');
    assert.match(body.error ?? '', /not listed in any Packages or Sources index/);
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/main/e/evil/evil_1.0_all.deb'), undefined);
  });

  test('a tampered Packages is refused before it is parsed, and nothing is stored', async () => {
    assert.equal((await get('/deb/dists/stable-updates/InRelease')).status, 200);
    upstream.setMode('/debian/dists/stable-updates/main/binary-amd64/Packages.xz', 'tamper');
    const res = await get('/deb/dists/stable-updates/main/binary-amd64/Packages.xz');
    assert.equal(res.status, 502);
    assert.equal((JSON.parse(res.body.toString()) as { code: string }).code, 'DIGEST_MISMATCH');
    await waitFor(async () => (await tempFiles()) === 0, 5000); // a followed download's temp file goes once its flight ends
    upstream.clearModes();
    assert.equal((await get('/deb/pool/updates/main/h/hello/hello_1.1_all.deb')).status, 502, 'nothing vouched for its packages');
    assert.equal((await get('/deb/dists/stable-updates/main/binary-amd64/Packages.xz')).status, 200);
  });

  test('a tampered .deb is refused and nothing is stored', async () => {
    upstream.setMode('/debian/pool/updates/main/h/hello/hello_1.1_all.deb', 'tamper');
    const before = mirror.app.store.index.referencedBlobs().size;
    const res = await get('/deb/pool/updates/main/h/hello/hello_1.1_all.deb');
    assert.equal(res.status, 502);
    const body = JSON.parse(res.body.toString()) as Record<string, string>;
    assert.equal(body.code, 'DIGEST_MISMATCH');
    assert.equal(body.object, 'pool/updates/main/h/hello/hello_1.1_all.deb');
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/updates/main/h/hello/hello_1.1_all.deb'), undefined);
    assert.equal(mirror.app.store.index.referencedBlobs().size, before);
    await waitFor(async () => (await tempFiles()) === 0, 5000); // a followed download's temp file goes once its flight ends
    upstream.clearModes();
    assert.equal((await get('/deb/pool/updates/main/h/hello/hello_1.1_all.deb')).status, 200);
  });

  test('a new upstream generation is served as a set: its index files are fetched before its Release is served', async () => {
    const old = servedRelease((await get('/deb/dists/stable/InRelease')).body).release.entries.get('main/binary-amd64/Packages.xz')!;
    const oldBytes = (await get('/deb/dists/stable/main/binary-amd64/Packages.xz')).body;
    await archive.addDeb({ name: 'extra', version: '1.0', pool: 'pool/main/e/extra' });
    await republish({ ...suites.stable!, fields: { Date: new Date(Date.now() + 2000).toUTCString() } });
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const next = servedRelease((await get('/deb/dists/stable/InRelease')).body).release.entries.get('main/binary-amd64/Packages.xz')!;
    assert.notEqual(next.hashes.sha256, old.hashes.sha256);
    const companionPath = `/debian/dists/stable/main/binary-amd64/by-hash/SHA512/${next.hashes.sha512}`;
    assert.equal(upstream.requests(companionPath), 1, 'fetched with the Release, before any client asked');
    upstream.resetCounts();
    const byName = await get('/deb/dists/stable/main/binary-amd64/Packages.xz');
    assert.equal(byName.headers.get('x-cache'), 'HIT');
    assert.equal(sha256(byName.body), next.hashes.sha256);
    // A client still on the previous generation retries by-hash and gets what its Release lists.
    const retry = await get(`/deb/dists/stable/main/binary-amd64/by-hash/SHA512/${old.hashes.sha512}`);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, oldBytes);
    assert.equal(upstream.requests(), 0);
    assert.equal((await get('/deb/pool/main/e/extra/extra_1.0_all.deb')).status, 200);
  });

  test('an upstream caught mid-sync (new Release, old index files) keeps the previous generation served', async () => {
    const before = (await get('/deb/dists/stable-updates/InRelease')).body;
    const oldPackages = await archive.file('dists/stable-updates/main/binary-amd64/Packages.xz');
    await archive.addDeb({ name: 'newer', version: '1.0', pool: 'pool/updates/main/n/newer' });
    await archive.writeSuite({ ...suites['stable-updates']!, fields: { Date: new Date(Date.now() + 3000).toUTCString() } });
    // Only the new InRelease is out; the mirror behind it still has the old Packages.
    upstream.setFile('/debian/dists/stable-updates/InRelease', await archive.file('dists/stable-updates/InRelease'));
    mirror.advanceClock(TTL_MS + 1);
    const res = await get('/deb/dists/stable-updates/InRelease');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'companions-unavailable');
    assert.deepEqual(res.body, before, 'the previous generation, whose files are all there');
    assert.deepEqual((await get('/deb/dists/stable-updates/main/binary-amd64/Packages.xz')).body, oldPackages);
    await archive.publish(upstream);
    const after = await get('/deb/dists/stable-updates/InRelease');
    assert.equal(after.headers.get('x-countersign-stale'), null);
    const listed = servedRelease(after.body).release.entries.get('main/binary-amd64/Packages.xz')!;
    assert.equal(sha256((await get('/deb/dists/stable-updates/main/binary-amd64/Packages.xz')).body), listed.hashes.sha256);
  });

  test('an InRelease signed by a key the operator does not trust is refused; the previous generation is still served', async () => {
    const before = (await get('/deb/dists/stable/InRelease')).body;
    await republish({ ...suites.stable!, signWith: wrongKey, fields: { Date: new Date(Date.now() + 4000).toUTCString() } });
    mirror.advanceClock(TTL_MS + 1);
    const res = await get('/deb/dists/stable/InRelease');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'verification-failed');
    assert.deepEqual(res.body, before);
    // A suite the mirror never verified has nothing to fall back on.
    await archive.writeSuite({ suite: 'rogue', pools: ['pool/main'], compressions: ['gz'], signWith: wrongKey });
    await archive.publish(upstream);
    const rogue = await get('/deb/dists/rogue/InRelease');
    assert.equal(rogue.status, 502);
    assert.match(JSON.parse(rogue.body.toString()).error, /no signature on InRelease verifies with the trusted keyring/);
    await republish({ ...suites.stable!, fields: { Date: new Date(Date.now() + 5000).toUTCString() } });
  });

  test('an expired Valid-Until or a Date older than the served generation is refused', async () => {
    await archive.writeSuite({ suite: 'expired', pools: ['pool/main'], compressions: ['gz'], fields: { 'Valid-Until': new Date(Date.now() - DAY).toUTCString() } });
    await archive.publish(upstream);
    const expired = await get('/deb/dists/expired/InRelease');
    assert.equal(expired.status, 502);
    assert.match(JSON.parse(expired.body.toString()).error, /expired: Valid-Until .* is in the past/);

    mirror.advanceClock(TTL_MS + 1);
    const current = (await get('/deb/dists/stable/InRelease')).body;
    await republish({ ...suites.stable!, fields: { Date: new Date(Date.now() - 30 * DAY).toUTCString() } });
    mirror.advanceClock(TTL_MS + 1);
    const replay = await get('/deb/dists/stable/InRelease');
    // The core's rollback check, on the revision (Date) the format reports.
    assert.equal(replay.headers.get('x-countersign-stale'), 'rollback');
    assert.deepEqual(replay.body, current, 'an older Release is never served after a newer one');
    await republish({ ...suites.stable!, fields: { Date: new Date(Date.now() + 6000).toUTCString() } });
  });

  test('validFor: the served Release is valid until its Date + validFor, never past the upstream\'s Valid-Until', async () => {
    const { release } = servedRelease((await get('/long/dists/stable/InRelease')).body);
    const upstreamText = (await archive.file('dists/stable/Release')).toString();
    const upstreamDate = parseReleaseDate(/^Date: (.*)$/m.exec(upstreamText)![1]!)!;
    assert.equal(/^Valid-Until:/m.test(upstreamText), false, 'the fixture sets no Valid-Until of its own');
    assert.ok(release.date && release.validUntil);
    assert.equal(release.validUntil.getTime(), upstreamDate.getTime() + 30 * DAY, release.fields.get('valid-until')?.value);
    assert.equal(parseReleaseDate(release.fields.get('date')!.value)?.getTime(), release.date.getTime());
    assert.ok(release.date.getTime() <= upstreamDate.getTime(), 'the Date stays the upstream\'s (or the mirror\'s clock, if earlier)');
  });

  test('upstream down: the cached generation is served stale, an uncached file is a clear 502', async () => {
    mirror.advanceClock(TTL_MS + 1);
    assert.equal((await get('/deb/dists/stable/InRelease')).status, 200);
    await upstream.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      const res = await get('/deb/dists/stable/InRelease');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-countersign-stale'), 'upstream-unavailable');
      assert.ok((await gpgv(await orgKeys(), res.body)).ok);
      assert.equal((await get('/deb/dists/stable/main/binary-amd64/Packages.xz')).status, 200);
      assert.equal((await get('/deb/pool/main/h/hello/hello_1.0_all.deb')).status, 200);
      const miss = await get('/deb/pool/main/w/world/world_1.0_all.deb');
      assert.equal(miss.status, 502);
      assert.equal((JSON.parse(miss.body.toString()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
    } finally {
      await upstream.restart();
    }
  });

  test('upstream faults (reset, 5xx, truncation) leave the generation served; on an uncached file they are a clear 502', async () => {
    const current = (await get('/deb/dists/stable/InRelease')).body;
    mirror.advanceClock(TTL_MS + 1);
    // (A truncated answer needs a changed file: the fixture answers our conditional request with 304 first.)
    for (const mode of ['reset', { status: 503 }, { status: 500 }] as const) {
      upstream.setMode('/debian/dists/stable/InRelease', mode);
      const res = await get('/deb/dists/stable/InRelease');
      assert.equal(res.status, 200, JSON.stringify(mode));
      assert.equal(res.headers.get('x-countersign-stale'), 'upstream-unavailable', JSON.stringify(mode));
      assert.deepEqual(res.body, current);
      upstream.clearModes();
    }
    upstream.setMode('/debian/pool/main/w/world/world_1.0_all.deb', 'truncate');
    const truncated = await get('/deb/pool/main/w/world/world_1.0_all.deb');
    assert.equal(truncated.status, 502);
    assert.equal((JSON.parse(truncated.body.toString()) as { code: string }).code, 'UPSTREAM_TRUNCATED');
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/main/w/world/world_1.0_all.deb'), undefined);
    await waitFor(async () => (await tempFiles()) === 0, 5000); // a followed download's temp file goes once its flight ends
    upstream.clearModes();
  });

  test('concurrent identical requests make one upstream request each', async () => {
    await archive.writeSuite({ suite: 'busy', pools: ['pool/main'], compressions: ['xz'] });
    await archive.publish(upstream);
    upstream.setMode('/debian/dists/busy/InRelease', { slowMs: 200 });
    upstream.setMode('/debian/dists/busy/main/binary-amd64/Packages.xz', { slowMs: 200 });
    upstream.resetCounts();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => get(i % 2 ? '/deb/dists/busy/InRelease' : '/deb/dists/busy/main/binary-amd64/Packages.xz')));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
    assert.equal(upstream.requests('/debian/dists/busy/InRelease'), 1);
    assert.equal(upstream.requests('/debian/dists/busy/main/binary-amd64/Packages.xz'), 1);
    assert.equal(new Set(results.filter((_, i) => i % 2).map((r) => sha256(r.body))).size, 1, 'one signature for everyone');
    upstream.clearModes();
  });

  test('key rotation: the new InRelease is signed by the new key, and both verify with the published keyring', async () => {
    const oldInRelease = (await get('/deb/dists/stable/InRelease')).body;
    const oldId = mirror.app.keys.openpgpSigner().id;
    await mirror.app.keys.rotate('openpgp');
    const newId = mirror.app.keys.openpgpSigner().id;
    const newInRelease = (await get('/deb/dists/stable/InRelease')).body;
    assert.notDeepEqual(newInRelease, oldInRelease);
    // Same generation: the same Release but for its Date, which is clamped to when the mirror last
    // verified it while the fixture's Date is ahead of the clock (the record is re-made on every confirmation).
    const withoutDate = (b: Buffer) => servedRelease(b).text.replace(/^Date: .*$/m, '');
    assert.equal(withoutDate(newInRelease), withoutDate(oldInRelease), 'same generation, new signature');
    const keys = await orgKeys();
    const vNew = await gpgv(keys, newInRelease);
    const vOld = await gpgv(keys, oldInRelease);
    assert.ok(vNew.ok && vNew.output.includes(`VALIDSIG ${newId}`), vNew.output);
    assert.ok(vOld.ok && vOld.output.includes(`VALIDSIG ${oldId}`), vOld.output);
    const plain = await get('/deb/dists/stable/Release');
    assert.ok((await gpgv(keys, plain.body, (await get('/deb/dists/stable/Release.gpg')).body)).output.includes(`VALIDSIG ${newId}`));
  });

  test('the client setup snippet names the key and a signed-by sources entry', async () => {
    const res = await get('/deb/-/setup');
    assert.equal(res.status, 200);
    const text = res.body.toString();
    assert.match(text, new RegExp(`${mirror.config.publicUrl}/-/keys/openpgp\\.asc`));
    assert.match(text, new RegExp(mirror.app.keys.openpgpSigner().id));
    // verify: require serves only what verified: the unverified key has no business on the client.
    assert.doesNotMatch(text, /openpgp-unverified|unverified\.asc/);
    assert.match(text, new RegExp(`URIs: ${mirror.config.publicUrl}/deb\\n`));
    assert.match(text, /Suites: stable stable-updates/);
    assert.match(text, /Signed-By: \/etc\/apt\/keyrings\/countersign-deb\.asc/);
    assert.match(text, /deb \[signed-by=\/etc\/apt\/keyrings\/countersign-deb\.asc\]/);
  });

  test('paths outside the archive layout are 404 without asking the upstream', async () => {
    upstream.resetCounts();
    for (const path of ['/deb/dists/stable/', '/deb/dists', '/deb/pool', '/deb/-/nothing', '/deb/dists/stable/main/binary-amd64/by-hash/SHA1/xyz']) {
      assert.equal((await get(path)).status, 404, path);
    }
    assert.equal(upstream.requests(), 0);
  });
});
