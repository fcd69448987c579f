/**
 * format: maven against a fixture Maven repository the test makes (real jars, poms, version lists,
 * checksum sidecars, authors' `.asc` by gpg): the scenario matrix of STYLE.md, the checksum
 * sidecars the mirror makes, the org signature of every file checked with the real gpg, the
 * upstream-miss cache, and the sbt plugin Ivy layout.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeMavenAuthor, type MavenAuthor } from '../helpers/maven-author.js';
import { artifactPath, buildJar, digest, metadataXml, publishArtifact, publishFile } from '../helpers/maven-fixture.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;
const MISS_TTL_MS = 30_000;
const BASE = '/maven2';
const LIB = { groupId: 'org.example', artifactId: 'lib', version: '1.0' };
const UTIL = { groupId: 'com.acme', artifactId: 'util', version: '2.1' };
const LIB_METADATA = 'org/example/lib/maven-metadata.xml';

describe('maven: a verified proxy of a Maven repository', () => {
  let upstream: FixtureUpstream;
  let alice: MavenAuthor;
  let bob: MavenAuthor;
  let mirror: RunningMirror;
  let dataDir: string;
  let libJar: Buffer;

  const get = async (path: string) => {
    const res = await mirror.get(`/maven/${path}`);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const orgKey = async () => (await mirror.get('/-/keys/openpgp.asc')).text();

  before(async () => {
    [upstream, alice, bob, dataDir] = await Promise.all([startFixtureUpstream(), makeMavenAuthor('Alice'), makeMavenAuthor('Bob'), makeDataDir()]);
    libJar = await publishArtifact(upstream, BASE, LIB, alice, [UTIL]);
    await publishArtifact(upstream, BASE, { ...LIB, version: '1.1' }, alice, [UTIL]);
    await publishArtifact(upstream, BASE, UTIL, bob);
    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0', '1.1'], '20260101120000'), { author: alice });
    await writeFile(join(dataDir, 'alice.asc'), alice.armoredPublic);
    await writeFile(join(dataDir, 'bob.asc'), bob.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [{
        name: 'maven', format: 'maven', upstream: `${upstream.url}${BASE}`, verify: 'require', retries: 0,
        metadataTtl: `${TTL_MS}ms`, notFoundTtl: `${MISS_TTL_MS}ms`,
        trust: { keyrings: [{ groups: ['org.example'], keyring: 'alice.asc' }, { groups: ['com.acme', 'org.scala-sbt'], keyring: 'bob.asc' }], checksums: ['sha512', 'sha1', 'md5'] },
      }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await alice?.close();
    await bob?.close();
    if (dataDir) await removeDir(dataDir);
  });

  test('cold miss: the jar as it came, checksums made from the served bytes, the author .asc byte-identical', async () => {
    const path = artifactPath(LIB, 'jar');
    upstream.resetCounts();
    const { res, bytes } = await get(path);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/java-archive');
    assert.match(res.headers.get('x-countersign-verification') ?? '', new RegExp(`^verified; by=.*openpgp:${alice.fingerprint}; anchor=pinned`));
    assert.deepEqual(bytes, libJar);
    assert.equal(upstream.requests(`${BASE}/${path}`), 1);
    for (const alg of ['md5', 'sha1', 'sha256', 'sha512']) {
      const sidecar = await get(`${path}.${alg}`);
      assert.equal(sidecar.res.status, 200);
      assert.equal(sidecar.bytes.toString(), digest(alg, libJar), `${alg} sidecar`);
    }
    const asc = await get(`${path}.asc`);
    assert.equal(asc.res.status, 200);
    assert.deepEqual(asc.bytes, Buffer.from(await (await fetch(`${upstream.url}${BASE}/${path}.asc`)).arrayBuffer()), 'the author\'s .asc, byte-identical');
    assert.ok((await gpgVerify(alice.armoredPublic, libJar, asc.bytes)).ok, 'gpg: the author signature verifies');
  });

  test('the org signature of every file (jar, pom, version list) verifies with the org key under gpg', async () => {
    const key = await orgKey();
    for (const path of [artifactPath(LIB, 'jar'), artifactPath(LIB, 'pom'), LIB_METADATA]) {
      const { bytes } = await get(path);
      const org = await get(`${path}.countersign.asc`);
      assert.equal(org.res.status, 200, path);
      assert.ok((await gpgVerify(key, bytes, org.bytes)).ok, `gpg: org signature of ${path}`);
    }
    // A version list has no author signature clients know of: its `.asc` is the org's.
    const { bytes } = await get(LIB_METADATA);
    assert.ok((await gpgVerify(key, bytes, (await get(`${LIB_METADATA}.asc`)).bytes)).ok);
  });

  test('warm hit: served without an upstream request', async () => {
    const path = artifactPath(LIB, 'pom');
    await get(path);
    upstream.resetCounts();
    const { res } = await get(path);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'HIT');
    assert.equal(upstream.requests(), 0);
  });

  test('revalidation: a new version list after the TTL; an older one (rollback) is refused and the newer stays served', async () => {
    await get(LIB_METADATA);
    await publishArtifact(upstream, BASE, { ...LIB, version: '1.2' }, alice, [UTIL]);
    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0', '1.1', '1.2'], '20260201120000'), { author: alice });
    mirror.advanceClock(TTL_MS + 1);
    const fresh = await get(LIB_METADATA);
    assert.match(fresh.bytes.toString(), /<version>1\.2<\/version>/);
    assert.equal((await get(`${LIB_METADATA}.sha1`)).bytes.toString(), digest('sha1', fresh.bytes));

    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0'], '20251201120000'), { author: alice });
    mirror.advanceClock(TTL_MS + 1);
    const rolled = await get(LIB_METADATA);
    assert.equal(rolled.res.headers.get('x-countersign-stale'), 'rollback');
    assert.deepEqual(rolled.bytes, fresh.bytes);
    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0', '1.1', '1.2'], '20260201120000'), { author: alice });
  });

  test('upstream down: the cached version list is served stale', async () => {
    const before = await get(LIB_METADATA);
    upstream.setMode('*', { status: 503 });
    try {
      mirror.advanceClock(TTL_MS + 1);
      const stale = await get(LIB_METADATA);
      assert.equal(stale.res.status, 200);
      assert.equal(stale.res.headers.get('x-countersign-stale'), 'upstream-unavailable');
      assert.deepEqual(stale.bytes, before.bytes);
    } finally {
      upstream.clearModes();
    }
  });

  test('tampered jar (its .sha1 says otherwise): refused, nothing stored or signed', async () => {
    const c = { ...LIB, artifactId: 'tampered' };
    const real = await buildJar({ 'real.txt': 'real\n' });
    const evil = await buildJar({ 'evil.txt': 'evil\n' });
    await publishFile(upstream, BASE, artifactPath(c, 'jar'), evil, { author: alice, signatureOf: real, checksumOf: real });
    const refused = await get(artifactPath(c, 'jar'));
    assert.equal(refused.res.status, 502);
    assert.equal((JSON.parse(refused.bytes.toString()) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal(mirror.app.store.index.getObject('maven', artifactPath(c, 'jar')), undefined, 'nothing stored');
    assert.notEqual((await get(`${artifactPath(c, 'jar')}.countersign.asc`)).res.status, 200, 'nothing signed');
    // Positive control: the genuine bytes are served.
    await publishFile(upstream, BASE, artifactPath(c, 'jar'), real, { author: alice });
    assert.deepEqual((await get(artifactPath(c, 'jar'))).bytes, real);
  });

  test('bad version-list signature: refused, the previous list still served', async () => {
    const before = await get(LIB_METADATA);
    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0', '1.1', '1.2', '6.6.6'], '20260301120000'), {
      author: alice, signatureOf: 'something else',
    });
    mirror.advanceClock(TTL_MS + 1);
    const kept = await get(LIB_METADATA);
    assert.equal(kept.res.headers.get('x-countersign-stale'), 'verification-failed');
    assert.deepEqual(kept.bytes, before.bytes);
    assert.doesNotMatch(kept.bytes.toString(), /6\.6\.6/);
    await publishFile(upstream, BASE, LIB_METADATA, metadataXml('org.example', 'lib', ['1.0', '1.1', '1.2'], '20260201120000'), { author: alice });
  });

  test('a version list that is not XML, has a DOCTYPE or is huge is refused as malformed, not stored', async () => {
    await publishFile(upstream, BASE, 'org/example/broken/maven-metadata.xml', '<metadata><versioning>', { author: alice });
    assert.equal((await get('org/example/broken/maven-metadata.xml')).res.status, 502);
    await publishFile(upstream, BASE, 'org/example/entity/maven-metadata.xml', '<!DOCTYPE x [<!ENTITY a "aaaa">]><metadata/>', { author: alice });
    const res = await get('org/example/entity/maven-metadata.xml');
    assert.equal(res.res.status, 502);
    assert.equal((JSON.parse(res.bytes.toString()) as { code: string }).code, 'MALFORMED');
    await publishFile(upstream, BASE, 'org/example/huge/maven-metadata.xml', `<metadata>${' '.repeat(9 * 1024 * 1024)}</metadata>`, { author: alice });
    const huge = await get('org/example/huge/maven-metadata.xml');
    assert.equal((JSON.parse(huge.bytes.toString()) as { code: string }).code, 'MALFORMED');
    assert.equal(mirror.app.store.index.getObject('maven', 'org/example/huge/maven-metadata.xml'), undefined);
  });

  test('N concurrent identical requests: one upstream fetch', async () => {
    const c = { ...LIB, version: '1.1' };
    upstream.resetCounts();
    const all = await Promise.all(Array.from({ length: 12 }, () => get(artifactPath(c, 'jar'))));
    for (const r of all) assert.equal(r.res.status, 200);
    assert.equal(upstream.requests(`${BASE}/${artifactPath(c, 'jar')}`), 1);
  });

  test('upstream 404s are remembered for notFoundTtl and answered without asking the upstream', async () => {
    const path = 'org/example/absent/9.9/absent-9.9.pom';
    upstream.resetCounts();
    assert.equal((await get(path)).res.status, 404);
    assert.equal((await get(path)).res.status, 404);
    assert.equal(upstream.requests(`${BASE}/${path}`), 1, 'the second probe is answered from the miss cache');
    mirror.advanceClock(MISS_TTL_MS + 1);
    await publishArtifact(upstream, BASE, { groupId: 'org.example', artifactId: 'absent', version: '9.9' }, alice);
    assert.equal((await get(path)).res.status, 200, 'after notFoundTtl the upstream is asked again');
  });

  test('per-group keyrings: a com.acme file signed by the org.example author is refused', async () => {
    const c = { ...UTIL, version: '6.6' };
    await publishArtifact(upstream, BASE, c, alice);
    const refused = await get(artifactPath(c, 'jar'));
    assert.equal(refused.res.status, 502);
    assert.match(refused.bytes.toString(), /bob\.asc/);
    assert.equal((await get(artifactPath(UTIL, 'jar'))).res.status, 200, 'positive control: signed by its group\'s author');
    const unpinned = { groupId: 'net.other', artifactId: 'x', version: '1' };
    await publishArtifact(upstream, BASE, unpinned, alice);
    assert.match((await get(artifactPath(unpinned, 'jar'))).bytes.toString(), /no keyring is pinned for group net\.other/);
  });

  test('sbt plugin Ivy layout: ivy.xml and jar verified with the organisation\'s keyring', async () => {
    const dir = 'org.scala-sbt/sbt-example/scala_2.12/sbt_1.0/0.3';
    const ivy = '<ivy-module version="2.0"><info organisation="org.scala-sbt" module="sbt-example" revision="0.3"/></ivy-module>\n';
    const jar = await buildJar({ 'sbt/sbt.autoplugins': 'example.Plugin\n' });
    await publishFile(upstream, BASE, `${dir}/ivys/ivy.xml`, ivy, { author: bob });
    await publishFile(upstream, BASE, `${dir}/jars/sbt-example.jar`, jar, { author: bob });
    const served = await get(`${dir}/jars/sbt-example.jar`);
    assert.equal(served.res.status, 200);
    assert.match(served.res.headers.get('x-countersign-verification') ?? '', new RegExp(bob.fingerprint));
    assert.equal((await get(`${dir}/ivys/ivy.xml`)).bytes.toString(), ivy);
    assert.ok((await gpgVerify(await orgKey(), jar, (await get(`${dir}/jars/sbt-example.jar.countersign.asc`)).bytes)).ok);
  });

  test('snapshots: the version-level list is revalidated; timestamped builds are immutable, the -SNAPSHOT file is not', async () => {
    const dir = 'org/example/lib/2.0-SNAPSHOT';
    const snapshotList = (n: number, stamp: string) => Buffer.from([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<metadata modelVersion="1.1.0"><groupId>org.example</groupId><artifactId>lib</artifactId><version>2.0-SNAPSHOT</version>',
      `<versioning><snapshot><timestamp>${stamp.slice(0, 8)}.${stamp.slice(8)}</timestamp><buildNumber>${n}</buildNumber></snapshot>`,
      `<lastUpdated>${stamp}</lastUpdated><snapshotVersions><snapshotVersion><extension>jar</extension>`,
      `<value>2.0-${stamp.slice(0, 8)}.${stamp.slice(8)}-${n}</value><updated>${stamp}</updated></snapshotVersion></snapshotVersions></versioning></metadata>`,
      '',
    ].join('\n'));
    await publishFile(upstream, BASE, `${dir}/maven-metadata.xml`, snapshotList(1, '20260301100000'), { author: alice });
    const build1 = await buildJar({ 'b.txt': 'build 1\n' });
    await publishFile(upstream, BASE, `${dir}/lib-2.0-20260301.100000-1.jar`, build1, { author: alice });
    await publishFile(upstream, BASE, `${dir}/lib-2.0-SNAPSHOT.jar`, build1, { author: alice });
    assert.match((await get(`${dir}/maven-metadata.xml`)).bytes.toString(), /<buildNumber>1</);
    assert.deepEqual((await get(`${dir}/lib-2.0-20260301.100000-1.jar`)).bytes, build1);
    assert.deepEqual((await get(`${dir}/lib-2.0-SNAPSHOT.jar`)).bytes, build1);

    const build2 = await buildJar({ 'b.txt': 'build 2\n' });
    await publishFile(upstream, BASE, `${dir}/maven-metadata.xml`, snapshotList(2, '20260301110000'), { author: alice });
    await publishFile(upstream, BASE, `${dir}/lib-2.0-SNAPSHOT.jar`, build2, { author: alice });
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    assert.match((await get(`${dir}/maven-metadata.xml`)).bytes.toString(), /<buildNumber>2</);
    assert.deepEqual((await get(`${dir}/lib-2.0-SNAPSHOT.jar`)).bytes, build2, 'the non-unique snapshot is revalidated');
    assert.deepEqual((await get(`${dir}/lib-2.0-20260301.100000-1.jar`)).bytes, build1);
    assert.equal(upstream.requests(`${BASE}/${dir}/lib-2.0-20260301.100000-1.jar`), 0, 'a timestamped build is never fetched again');
  });

  test('key rotation: signatures by the old and the new org key both verify with the published keyring', async () => {
    const path = artifactPath(LIB, 'jar');
    const old = (await get(`${path}.countersign.asc`)).bytes;
    await mirror.app.keys.rotate('openpgp');
    const fresh = (await get(`${path}.countersign.asc`)).bytes;
    assert.notDeepEqual(fresh, old);
    const key = await orgKey();
    assert.ok((await gpgVerify(key, libJar, old)).ok, 'old signature');
    assert.ok((await gpgVerify(key, libJar, fresh)).ok, 'new signature');
  });

  test('directory listings and unknown shapes are 404 without an upstream request', async () => {
    upstream.resetCounts();
    assert.equal((await get('org/example/lib/')).res.status, 404);
    assert.equal((await get(`${artifactPath(LIB, 'jar')}.asc.sha1`)).res.status, 404);
    assert.equal(upstream.requests(), 0);
  });

  test('/-/setup prints a settings.xml mirror, a Gradle init script and the org key fingerprint', async () => {
    const text = (await get('-/setup')).bytes.toString();
    assert.match(text, /<mirrorOf>\*<\/mirrorOf>/);
    assert.match(text, new RegExp(`<url>${mirror.url}/maven/</url>`));
    assert.match(text, /allprojects \{/);
    assert.match(text, /<trusted-key id="[0-9a-f]{40}"\/>/);
  });
});
