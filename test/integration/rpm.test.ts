/**
 * The scenario matrix of STYLE.md for RPM repositories, against a fixture upstream built with
 * rpmbuild, rpmsign, createrepo_c and gpg, with the real mirror on 127.0.0.1. The served
 * repository is checked as dnf would: repomd.xml.asc by gpg, every listed checksum and size
 * against the bytes served, every package's header signature by the org key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as openpgp from 'openpgp';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { buildRpmRepo, makeGpgKey, publishRpmRepo, unpublishRepodata, type BuiltRpmRepo, type GpgKey } from '../helpers/rpm-fixture.js';
import { readRpmSignature } from '../helpers/rpm-inspect.js';

const TTL_MS = 400;
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
    repo1 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }], packageKey: key });
    repo2 = await buildRpmRepo({ packages: [{ name: 'hello-mirror' }, { name: 'second-pkg' }, { name: 'third-pkg' }], packageKey: key });
    xzRepo = await buildRpmRepo({ packages: [{ name: 'xz-pkg' }], packageKey: key, compress: 'xz' });
    publishRpmRepo(upstream, '/el', repo1);
    publishRpmRepo(upstream, '/xz', xzRepo);
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [repoConfig(), repoConfig({ name: 'xz', upstream: `${upstream.url}/xz` }), repoConfig({ name: 'cold', upstream: `${upstream.url}/cold` })],
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

  test('after metadataTtl repomd.xml is revalidated (304) and nothing else is fetched', async () => {
    await sleep(TTL_MS + 50);
    upstream.resetCounts();
    const res = await mirror.get('/el/repodata/repomd.xml');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    await res.arrayBuffer();
    assert.equal(upstream.requests('/el/repodata/repomd.xml'), 1);
    assert.equal(upstream.requests(), 1);
  });
});
