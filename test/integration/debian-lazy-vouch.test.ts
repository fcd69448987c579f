/**
 * Lazy vouching (src/formats/debian/package-lists.ts): `apt-get update` gets its index files as
 * soon as they match the verified Release, without the mirror parsing any Packages; the pool is
 * vouched for from the package lists when the first pool file is asked for. The attacker's side:
 * a pool file asked for right after the update, before anything was vouched for it, is still
 * checked against the Packages entry (tampered → 502, nothing stored); a package list whose bytes
 * do not match the Release vouches for nothing; a restart loses nothing it must not.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { splitClearSigned } from '../../src/formats/debian/clearsigned.js';
import { parseRelease, type ReleaseEntry } from '../../src/formats/debian/release-file.js';
import { DebianFixture, makeGpgKey, sha256, type GpgKey, type SuiteSpec } from '../helpers/debian-fixture.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { waitFor } from '../helpers/fault-serve.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('debian: pool files are vouched for lazily, never served unchecked', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let other: GpgKey;
  let archive: DebianFixture;
  let mirror: RunningMirror;
  let dataDir: string;

  // As Debian publishes: the uncompressed Packages listed but withheld, .gz and .xz by-hash.
  const suite = (name: string, pool: string): SuiteSpec => ({ suite: name, pools: [pool], compressions: ['', 'gz', 'xz'], withheld: [''], byHash: true });

  const start = async (keyring = 'archive.gpg'): Promise<RunningMirror> => startMirror({
    dataDir,
    repositories: [{ name: 'deb', format: 'debian', upstream: `${upstream.url}/debian`, verify: 'require', metadataTtl: '1h', retries: 0, trust: { keyring } }],
  });

  before(async () => {
    [upstream, key, other] = await Promise.all([startFixtureUpstream(), makeGpgKey('Fixture Archive'), makeGpgKey('Somebody Else')]);
    archive = await DebianFixture.create(key);
    for (const [name, pool] of [['hello', 'pool/a'], ['world', 'pool/a'], ['tiny', 'pool/b'], ['busy', 'pool/c'], ['later', 'pool/d'], ['extra', 'pool/e'], ['fresh', 'pool/f']] as const) {
      await archive.addDeb({ name, version: '1.0', pool: `${pool}/${name[0]}/${name}` });
    }
    for (const [name, pool] of [['a', 'pool/a'], ['b', 'pool/b'], ['c', 'pool/c'], ['d', 'pool/d'], ['e', 'pool/e'], ['f', 'pool/f']] as const) await archive.writeSuite(suite(name, pool));
    await archive.publish(upstream);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'archive.gpg'), key.binaryKeyring);
    await writeFile(join(dataDir, 'other.gpg'), other.binaryKeyring);
    mirror = await start();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await Promise.all([archive?.close(), key?.close(), other?.close()]);
    await removeDir(dataDir);
  });

  const get = async (path: string) => {
    const res = await mirror.get(path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const code = (body: Buffer) => (JSON.parse(body.toString()) as { code: string }).code;
  const entries = async (name: string): Promise<Map<string, ReleaseEntry>> => {
    const split = splitClearSigned((await get(`/deb/dists/${name}/InRelease`)).body);
    assert.ok(split.ok);
    const parsed = parseRelease(split.value.text);
    assert.ok(parsed.ok);
    return parsed.release.entries;
  };
  /** What apt-get update asks for: the InRelease, then the Packages.xz by the hash it lists. */
  const update = async (name: string): Promise<Map<string, ReleaseEntry>> => {
    const listed = await entries(name);
    const xz = listed.get('main/binary-amd64/Packages.xz')!;
    const res = await get(`/deb/dists/${name}/main/binary-amd64/by-hash/SHA256/${xz.hashes.sha256}`);
    assert.equal(res.status, 200);
    assert.equal(sha256(res.body), xz.hashes.sha256);
    return listed;
  };
  /** Where the mirror reads the package list from: the .gz variant, by its strongest hash. */
  const listUpstreamPath = (name: string, listed: Map<string, ReleaseEntry>) => {
    const gz = listed.get('main/binary-amd64/Packages.gz')!;
    return `/debian/dists/${name}/main/binary-amd64/by-hash/${gz.strongest.byHash}/${gz.strongest.digest}`;
  };
  const vouchedFor = (path: string) => mirror.app.store.index.getExpectations('deb', path).length;
  const tempFiles = async () => (await readdir(join(dataDir, 'blobs', 'tmp'))).length;

  test('apt-get update parses no Packages; the first pool file fetches its package list once and is checked against it', async () => {
    upstream.resetCounts();
    const listed = await update('a');
    assert.equal(upstream.requests(listUpstreamPath('a', listed)), 0, 'no package list is read for the update');
    assert.equal(vouchedFor('pool/a/h/hello/hello_1.0_all.deb'), 0, 'nothing vouched for the pool yet');
    const deb = await get('/deb/pool/a/h/hello/hello_1.0_all.deb');
    assert.equal(deb.status, 200);
    assert.deepEqual(deb.body, await archive.file('pool/a/h/hello/hello_1.0_all.deb'));
    assert.match(deb.headers.get('x-countersign-verification') ?? '', /^verified; by=index:dists\/a\/main\/binary-amd64\/by-hash\//);
    assert.equal(upstream.requests(listUpstreamPath('a', listed)), 1);
    assert.equal((await get('/deb/pool/a/w/world/world_1.0_all.deb')).status, 200);
    assert.equal(upstream.requests(listUpstreamPath('a', listed)), 1, 'the list vouched for every file it names at once');
    // The uncompressed Packages the Release lists (not published) is still made from a verified sibling.
    const plain = await get('/deb/dists/a/main/binary-amd64/Packages');
    assert.equal(plain.status, 200);
    assert.equal(sha256(plain.body), listed.get('main/binary-amd64/Packages')!.hashes.sha256);
  });

  test('a .deb that differs from its Packages entry, asked for right after the update, is refused and nothing is stored', async () => {
    const listed = await update('b');
    assert.equal(vouchedFor('pool/b/t/tiny/tiny_1.0_all.deb'), 0, 'asked for before anything vouched for it');
    upstream.setMode('/debian/pool/b/t/tiny/tiny_1.0_all.deb', 'tamper');
    const blobs = mirror.app.store.index.referencedBlobs().size;
    const refused = await get('/deb/pool/b/t/tiny/tiny_1.0_all.deb');
    assert.equal(refused.status, 502);
    assert.equal(code(refused.body), 'DIGEST_MISMATCH');
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/b/t/tiny/tiny_1.0_all.deb'), undefined);
    assert.equal(mirror.app.store.index.referencedBlobs().size, blobs + 1, 'only the package list it was checked against');
    assert.equal(upstream.requests(listUpstreamPath('b', listed)), 1);
    await waitFor(async () => (await tempFiles()) === 0, 5000); // a followed download's temp file goes once its flight ends
    // Positive control: the genuine file.
    upstream.clearModes();
    const served = await get('/deb/pool/b/t/tiny/tiny_1.0_all.deb');
    assert.equal(served.status, 200);
    assert.deepEqual(served.body, await archive.file('pool/b/t/tiny/tiny_1.0_all.deb'));
  });

  test('a package list whose bytes do not match the Release vouches for nothing; the genuine one does', async () => {
    const listed = await update('c');
    upstream.setMode(listUpstreamPath('c', listed), 'tamper');
    const refused = await get('/deb/pool/c/b/busy/busy_1.0_all.deb');
    assert.equal(refused.status, 502);
    assert.equal(code(refused.body), 'DIGEST_MISMATCH');
    assert.equal(vouchedFor('pool/c/b/busy/busy_1.0_all.deb'), 0);
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/c/b/busy/busy_1.0_all.deb'), undefined);
    await waitFor(async () => (await tempFiles()) === 0, 5000); // a followed download's temp file goes once its flight ends
    upstream.clearModes();
    upstream.resetCounts();
    // Positive control, and N concurrent first requests make one upstream request for the list.
    const all = await Promise.all(Array.from({ length: 12 }, () => get('/deb/pool/c/b/busy/busy_1.0_all.deb')));
    assert.deepEqual(all.map((r) => r.status), Array(12).fill(200));
    assert.equal(upstream.requests(listUpstreamPath('c', listed)), 1);
    assert.equal(upstream.requests('/debian/pool/c/b/busy/busy_1.0_all.deb'), 1);
  });

  test('an index file apt takes as it downloads: bytes that do not match the Release never arrive whole, nothing is stored', async () => {
    const listed = await entries('e');
    const xz = listed.get('main/binary-amd64/Packages.xz')!;
    const upstreamPath = `/debian/dists/e/main/binary-amd64/by-hash/${xz.strongest.byHash}/${xz.strongest.digest}`;
    const genuine = await archive.file('dists/e/main/binary-amd64/Packages.xz');
    const tampered = Buffer.from(genuine);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 0xff;
    // Headers and the first half at once, the rest later: the client is following the download by then.
    upstream.setHandler(upstreamPath, async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(tampered.length) });
      res.write(tampered.subarray(0, tampered.length >> 1));
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.end(tampered.subarray(tampered.length >> 1));
    });
    const res = await mirror.get(`/deb/dists/e/main/binary-amd64/by-hash/SHA256/${xz.hashes.sha256}`);
    const body = await res.arrayBuffer().then((b) => Buffer.from(b), () => undefined);
    assert.ok(res.status === 502 || body === undefined || body.length < tampered.length, `status ${res.status}, ${body?.length} bytes`);
    assert.notDeepEqual(body, tampered);
    const stored = `dists/e/main/binary-amd64/by-hash/${xz.strongest.byHash}/${xz.strongest.digest}`;
    assert.equal(mirror.app.store.index.getObject('deb', stored), undefined);
    // The refused download's temp file is removed once its flight has ended, which may be just after the client's stream was cut.
    await waitFor(async () => (await tempFiles()) === 0, 5000);
    // Positive control: the genuine bytes, followed the same way, arrive whole and are stored.
    upstream.setHandler(upstreamPath, async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(genuine.length) });
      res.write(genuine.subarray(0, genuine.length >> 1));
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.end(genuine.subarray(genuine.length >> 1));
    });
    const good = await get(`/deb/dists/e/main/binary-amd64/by-hash/SHA256/${xz.hashes.sha256}`);
    assert.equal(good.status, 200);
    assert.deepEqual(good.body, genuine);
    assert.equal(mirror.app.store.index.getObject('deb', stored)?.verification.status, 'verified');
    upstream.setHandler(upstreamPath, undefined);
  });

  test('a restart before any pool request: the package lists are found in the store, with no update in between', async () => {
    await update('d');
    await mirror.close();
    mirror = await start();
    // Attack first: bytes that differ from the Packages entry are refused, and nothing is stored.
    const genuine = await archive.file('pool/d/l/later/later_1.0_all.deb');
    upstream.setMode('/debian/pool/d/l/later/later_1.0_all.deb', 'tamper');
    const tampered = await get('/deb/pool/d/l/later/later_1.0_all.deb');
    assert.equal(tampered.status, 502, 'checked against the package list vouched for before the restart');
    assert.equal(code(tampered.body), 'DIGEST_MISMATCH');
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/d/l/later/later_1.0_all.deb'), undefined);
    // Positive control: the genuine bytes are served, vouched for by the list the stored expectation names.
    upstream.clearModes();
    const after = await get('/deb/pool/d/l/later/later_1.0_all.deb');
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, genuine);
  });

  test('the archive key removed between the update and the first pool request: the pool file is refused; trusted again, served', async () => {
    await update('f');
    await mirror.close();
    mirror = await start('other.gpg');
    const refused = await get('/deb/pool/f/f/fresh/fresh_1.0_all.deb');
    assert.equal(refused.status, 502);
    assert.equal((await get('/deb/dists/f/InRelease')).status, 502, 'the Release no longer verifies');
    assert.equal((await get('/deb/pool/f/f/fresh/fresh_1.0_all.deb')).status, 502);
    assert.equal(mirror.app.store.index.getObject('deb', 'pool/f/f/fresh/fresh_1.0_all.deb'), undefined);
    // Positive control: the key trusted again, the update re-verified, the pool file served.
    await mirror.close();
    mirror = await start();
    await update('f');
    const served = await get('/deb/pool/f/f/fresh/fresh_1.0_all.deb');
    assert.equal(served.status, 200);
    assert.deepEqual(served.body, await archive.file('pool/f/f/fresh/fresh_1.0_all.deb'));
  });
});
