/**
 * The scenario matrix of STYLE.md for RPM repositories, against a fixture upstream built with
 * rpmbuild, rpmsign, createrepo_c and gpg, with the real mirror on 127.0.0.1. The served
 * repository is checked as dnf would: repomd.xml.asc by gpg, every listed checksum and size
 * against the bytes served, every package's header signature by the org key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, gpgDetachSign, makeGpgKey, publishRpmRepo, unpublishRepodata, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';
import { readRpmSignature } from '../helpers/rpm-inspect.js';

// Entries expire only when a test advances the mirror's clock past this (mirror.advanceClock), never by
// real time however loaded the machine: a warm request always finds the cold one's entry fresh.
const TTL_MS = 60_000;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('rpm repository', () => {
  let upstream: FixtureUpstream;
  let key: GpgKey;
  let wrongKey: GpgKey;
  let repo1: BuiltRpmRepo;
  let repo2: BuiltRpmRepo;
  let xzRepo: BuiltRpmRepo;
  let mirror: RunningMirror;
  let dataDir: string;
  let orgKeys: string;

  const repoConfig = (over: Record<string, unknown> = {}) => ({
    name: 'el',
    format: 'rpm',
    upstream: `${upstream.url}/el`,
    verify: 'require' as const,
    trust: { keyring: 'upstream.asc' },
    metadataTtl: `${TTL_MS}ms`,
    retries: 0,
    ...over,
  });

  before(async () => {
    [upstream, key, wrongKey] = await Promise.all([startFixtureUpstream(), makeGpgKey(), makeGpgKey('Somebody Else')]);
    repo1 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }], packageKey: key, updateinfo: true });
    repo2 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }, { name: 'third-pkg' }], packageKey: key });
    xzRepo = await buildRpmRepo({ packages: [{ name: 'xz-pkg' }], packageKey: key, compress: 'xz' });
    publishRpmRepo(upstream, '/el', repo1);
    publishRpmRepo(upstream, '/xz', xzRepo);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [
        repoConfig(), repoConfig({ name: 'xz', upstream: `${upstream.url}/xz` }), repoConfig({ name: 'cold', upstream: `${upstream.url}/cold` }),
        repoConfig({ name: 'bad', upstream: `${upstream.url}/bad` }),
      ],
    });
    orgKeys = await (await mirror.get('/-/keys/openpgp.asc')).text();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await key?.close();
    await wrongKey?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const bytesOf = async (path: string) => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  /** Everything dnf checks, from repomd.xml down to each package. */
  async function assertConsistent(repo: string): Promise<{ repomd: Buffer; packages: Map<string, Buffer> }> {
    const { bytes: repomd } = await bytesOf(`/${repo}/repodata/repomd.xml`);
    const { bytes: asc } = await bytesOf(`/${repo}/repodata/repomd.xml.asc`);
    const v = await gpgVerify(orgKeys, repomd, asc);
    assert.ok(v.ok, v.status);
    const text = repomd.toString('utf8');
    assert.doesNotMatch(text, /_db"|sqlite/, 'sqlite databases are not listed');
    const packages = new Map<string, Buffer>();
    const pkgids = new Set<string>();
    for (const m of text.matchAll(/<data type="(\w+)">([\s\S]*?)<\/data>/g)) {
      const [, type, inner] = m;
      const href = /<location href="([^"]+)"/.exec(inner!)![1]!;
      const { bytes } = await bytesOf(`/${repo}/${href}`);
      assert.equal(sha256(bytes), /<checksum type="sha256">(\w+)</.exec(inner!)![1], `${type} checksum`);
      assert.equal(String(bytes.length), /<size>(\d+)</.exec(inner!)![1], `${type} size`);
      const open = gunzipSync(bytes);
      assert.equal(sha256(open), /<open-checksum type="sha256">(\w+)</.exec(inner!)![1], `${type} open-checksum`);
      const xml = open.toString('utf8');
      if (type === 'primary') {
        for (const p of xml.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
          const body = p[1]!;
          const loc = /<location href="([^"]+)"/.exec(body)![1]!;
          const { bytes: rpm } = await bytesOf(`/${repo}/${loc}`);
          const checksum = /<checksum type="sha256" pkgid="YES">(\w+)</.exec(body)![1]!;
          assert.equal(sha256(rpm), checksum, `${loc} checksum in primary`);
          assert.equal(/<size package="(\d+)"/.exec(body)![1], String(rpm.length));
          const range = /<rpm:header-range start="(\d+)" end="(\d+)"/.exec(body)!;
          const sig = readRpmSignature(rpm);
          assert.equal(Number(range[1]), sig.headerStart);
          assert.equal(Number(range[2]), sig.headerEnd);
          packages.set(loc, rpm);
          pkgids.add(checksum);
        }
      } else {
        for (const p of xml.matchAll(/<package pkgid="(\w+)"/g)) assert.ok(pkgids.has(p[1]!) || type !== 'primary', `${type} pkgid`);
      }
    }
    for (const m of text.matchAll(/<data type="(filelists|other)">[\s\S]*?<location href="([^"]+)"/g)) {
      const xml = gunzipSync((await bytesOf(`/${repo}/${m[2]}`)).bytes).toString('utf8');
      const ids = [...xml.matchAll(/<package pkgid="(\w+)"/g)].map((x) => x[1]);
      assert.deepEqual(new Set(ids), pkgids, `${m[1]} pkgids are the re-signed packages' checksums`);
    }
    return { repomd, packages };
  }

  async function assertOrgSigned(rpm: Buffer): Promise<void> {
    const sig = readRpmSignature(rpm);
    assert.deepEqual(sig.tags.filter((t) => t === 267 || t === 268), [268], 'exactly one header signature, RSA');
    const signature = await openpgp.readSignature({ binarySignature: sig.signature268! });
    const verificationKeys = await openpgp.readKeys({ armoredKeys: orgKeys });
    const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: sig.header }), signature, verificationKeys });
    await result.signatures[0]!.verified;
    assert.equal(result.signatures[0]!.keyID.toHex().toUpperCase(), mirror.app.keys.openpgpSigner().id.slice(-16));
  }

  test('cold miss: repomd, metadata and packages are re-signed and consistent', async () => {
    const res = await mirror.get('/el/repodata/repomd.xml');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.match(res.headers.get('x-countersign-verification') ?? '', new RegExp(`verified; by=openpgp:${key.fingerprint}`));
    await res.arrayBuffer();
    const { packages } = await assertConsistent('el');
    assert.equal(packages.size, 2);
    const updateinfo = [...repo1.files.keys()].find((p) => p.includes('updateinfo'))!;
    assert.deepEqual((await bytesOf(`/el/${updateinfo}`)).bytes, repo1.files.get(updateinfo), 'updateinfo is served as the upstream signed it');
    for (const [path, rpm] of packages) {
      const upstreamRpm = repo1.files.get(path)!;
      assert.notDeepEqual(rpm, upstreamRpm);
      assert.equal(rpm.length, upstreamRpm.length, 'RESERVEDSPACE absorbed the new signature');
      await assertOrgSigned(rpm);
    }
    const entry = mirror.app.store.index.getObject('el', repo1.packagePaths[0]!);
    assert.equal(entry?.verification.status, 'verified');
    assert.ok(entry?.verification.by.includes(`rpm-header:${key.fingerprint}`), entry?.verification.by.join(','));
  });

  test('warm hit: nothing is asked of the upstream and the bytes are identical', async () => {
    const first = await assertConsistent('el');
    upstream.resetCounts();
    const second = await assertConsistent('el');
    assert.equal(upstream.requests(), 0);
    assert.deepEqual(second.repomd, first.repomd);
    for (const [p, b] of first.packages) assert.deepEqual(second.packages.get(p), b);
  });

  test('xz-compressed upstream metadata is served as gzip under its name + .gz', async () => {
    const { repomd } = await assertConsistent('xz');
    assert.match(repomd.toString('utf8'), /primary\.xml\.xz\.gz"/);
  });

  // Issue 9: a 304 confirms the bytes, not their verification (a key may have expired or been
  // revoked since), so repomd.xml.asc is fetched and checked again; nothing else is fetched.
  test('after metadataTtl repomd.xml is revalidated (304), its signature checked again, and nothing else is fetched', async () => {
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const res = await mirror.get('/el/repodata/repomd.xml');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    await res.arrayBuffer();
    assert.equal(upstream.requests('/el/repodata/repomd.xml'), 1);
    assert.equal(upstream.requests('/el/repodata/repomd.xml.asc'), 1);
    assert.equal(upstream.requests(), 2);
  });

  const primaryOf = (repo: BuiltRpmRepo) => [...repo.files.keys()].find((p) => p.endsWith('-primary.xml.gz'))!;
  const staleRepomd = async (reason: string): Promise<Buffer> => {
    const res = await mirror.get('/el/repodata/repomd.xml');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), reason);
    return Buffer.from(await res.arrayBuffer());
  };

  test('a repomd.xml signed by another key is refused and the previous repository is still served', async () => {
    const before = (await bytesOf('/el/repodata/repomd.xml')).bytes;
    unpublishRepodata(upstream, '/el', repo1);
    publishRpmRepo(upstream, '/el', repo2);
    upstream.setFile('/el/repodata/repomd.xml.asc', await gpgDetachSign(wrongKey, repo2.files.get('repodata/repomd.xml')!));
    mirror.advanceClock(TTL_MS + 1);
    assert.deepEqual(await staleRepomd('verification-failed'), before);
    const { packages } = await assertConsistent('el');
    assert.equal(packages.size, 2);
    assert.equal(mirror.app.store.index.getObject('el', primaryOf(repo2)), undefined, 'nothing of the refused revision is stored');
  });

  test('tampered metadata in a new revision is refused and nothing of it is stored', async () => {
    upstream.setFile('/el/repodata/repomd.xml.asc', repo2.files.get('repodata/repomd.xml.asc')!);
    upstream.setMode(`/el/${primaryOf(repo2)}`, 'tamper');
    mirror.advanceClock(TTL_MS + 1);
    await staleRepomd('companions-unavailable');
    assert.equal(mirror.app.store.index.getObject('el', primaryOf(repo2)), undefined);
    assert.equal((await assertConsistent('el')).packages.size, 2);
    upstream.clearModes();
  });

  test('a tampered package in a new revision is refused, nothing is stored, the previous revision stays', async () => {
    const third = repo2.packagePaths.find((p) => p.includes('third-pkg'))!;
    upstream.setMode(`/el/${third}`, 'tamper');
    mirror.advanceClock(TTL_MS + 1);
    await staleRepomd('companions-unavailable');
    assert.equal(mirror.app.store.index.getObject('el', third), undefined);
    assert.equal((await readdir(join(dataDir, 'blobs', 'tmp'))).length, 0);
    const res = await mirror.get(`/el/${third}`);
    assert.equal(res.status, 502, 'the package itself is refused too');
    assert.equal(((await res.json()) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal((await assertConsistent('el')).packages.size, 2);
    upstream.clearModes();
  });

  test('the new revision is served once it verifies, consistent from repomd.xml to every package', async () => {
    mirror.advanceClock(TTL_MS + 1);
    const res = await mirror.get('/el/repodata/repomd.xml');
    assert.equal(res.headers.get('x-countersign-stale'), null);
    await res.arrayBuffer();
    const { packages } = await assertConsistent('el');
    assert.equal(packages.size, 3);
    for (const rpm of packages.values()) await assertOrgSigned(rpm);
  });

  test('upstream down: the cached repository is served stale and whole', async () => {
    await upstream.stop();
    try {
      mirror.advanceClock(TTL_MS + 1);
      await staleRepomd('upstream-unavailable');
      assert.equal((await assertConsistent('el')).packages.size, 3);
    } finally {
      await upstream.restart();
    }
  });

  test('cold: concurrent requests for a package and repomd.xml make one upstream request per file', async () => {
    publishRpmRepo(upstream, '/cold', repo1);
    upstream.setMode('/cold/repodata/repomd.xml', { slowMs: 150 });
    upstream.resetCounts();
    const pkg = repo1.packagePaths[0]!;
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => mirror.get(`/cold/${pkg}`)),
      ...Array.from({ length: 10 }, () => mirror.get('/cold/repodata/repomd.xml')),
    ].map(async (r) => { const res = await r; await res.arrayBuffer(); return res.status; }));
    assert.ok(results.every((s) => s === 200), results.join(','));
    assert.equal(upstream.requests('/cold/repodata/repomd.xml'), 1);
    assert.equal(upstream.requests(`/cold/${pkg}`), 1);
    upstream.clearModes();
    await assertConsistent('cold');
  });

  test('cold: a tampered package fails the whole first revision with 502 and nothing is stored', async () => {
    publishRpmRepo(upstream, '/bad', repo1);
    upstream.setMode(`/bad/${repo1.packagePaths[1]!}`, 'tamper');
    const res = await mirror.get('/bad/repodata/repomd.xml');
    assert.equal(res.status, 502);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'DIGEST_MISMATCH');
    assert.match(body.error, /second-pkg/);
    assert.equal(mirror.app.store.index.getObject('bad', 'repodata/repomd.xml'), undefined);
    assert.equal(mirror.app.store.index.getObject('bad', repo1.packagePaths[1]!), undefined);
    assert.equal((await mirror.get('/bad/repodata/repomd.xml.asc')).status, 502, 'no signature over an unverified repository');
    upstream.clearModes();
  });

  test('the setup snippet and the key file dnf is pointed at are served', async () => {
    const setup = await (await mirror.get('/el/-/setup')).text();
    assert.match(setup, new RegExp(`baseurl=${mirror.url}/el/`));
    assert.match(setup, /gpgcheck=1\nrepo_gpgcheck=1/);
    assert.equal(await (await mirror.get('/el/repodata/repomd.xml.key')).text(), orgKeys);
    assert.equal((await mirror.get('/el/repodata/nothing.xml')).status, 404);
    assert.equal((await mirror.get('/el/README')).status, 404);
  });
});
