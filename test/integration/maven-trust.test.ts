/**
 * Issue 9's trust rules for format: maven. Each test changes trust under a running data directory
 * (mode, pinned keyrings) or serves something an attacker would (a replayed signature, tampered
 * bytes) and the mirror must refuse; each has a positive control, checked with the real gpg
 * against the keys the mirror publishes.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { gpgVerify } from '../helpers/gpg.js';
import { makeMavenAuthor, type MavenAuthor } from '../helpers/maven-author.js';
import { artifactPath, buildJar, metadataXml, publishArtifact, publishFile } from '../helpers/maven-fixture.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const BASE = '/maven2';
const LIB = { groupId: 'org.example', artifactId: 'lib', version: '1.0' };
const UTIL = { groupId: 'com.acme', artifactId: 'util', version: '2.1' };
const UNSIGNED = { groupId: 'org.example', artifactId: 'unsigned', version: '1.0' };

describe('maven: trust changes and forged upstream material', () => {
  let upstream: FixtureUpstream;
  let alice: MavenAuthor;
  let bob: MavenAuthor;
  let mallory: MavenAuthor;
  let mirror: RunningMirror | undefined;
  const dirs: string[] = [];

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'maven', format: 'maven', upstream: `${upstream.url}${BASE}`, verify: 'require' as const, retries: 0,
    trust: { keyrings: [{ groups: ['org.example'], keyring: 'alice.asc' }, { groups: ['com.acme'], keyring: 'bob.asc' }] }, ...over,
  });

  async function restart(dataDir: string, repository: ReturnType<typeof repo>, keys: { alice?: MavenAuthor; bob?: MavenAuthor } = {}): Promise<RunningMirror> {
    await mirror?.close();
    if (keys.alice) await writeFile(join(dataDir, 'alice.asc'), keys.alice.armoredPublic);
    if (keys.bob) await writeFile(join(dataDir, 'bob.asc'), keys.bob.armoredPublic);
    mirror = await startMirror({ dataDir, repositories: [repository] });
    return mirror;
  }

  async function newDataDir(): Promise<string> {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  }

  async function bytesOf(m: RunningMirror, path: string): Promise<{ status: number; bytes: Buffer }> {
    const res = await m.get(`/maven/${path}`);
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  /** Which org key's signature `<path>.countersign.asc` is, by gpg against each published keyring. */
  async function orgSignature(m: RunningMirror, path: string): Promise<{ primary: boolean; unverified: boolean }> {
    const file = await bytesOf(m, path);
    assert.equal(file.status, 200, path);
    const sig = await bytesOf(m, `${path}.countersign.asc`);
    assert.equal(sig.status, 200, `${path}.countersign.asc`);
    const check = async (keys: string) => (await gpgVerify(await (await m.get(keys)).text(), file.bytes, sig.bytes)).ok;
    return { primary: await check('/-/keys/openpgp.asc'), unverified: await check('/-/keys/openpgp-unverified.asc') };
  }

  before(async () => {
    [upstream, alice, bob, mallory] = await Promise.all([startFixtureUpstream(), makeMavenAuthor('Alice'), makeMavenAuthor('Bob'), makeMavenAuthor('Mallory')]);
    await publishArtifact(upstream, BASE, LIB, alice);
    await publishArtifact(upstream, BASE, { ...LIB, version: '1.1' }, alice);
    await publishArtifact(upstream, BASE, UTIL, bob);
    await publishArtifact(upstream, BASE, UNSIGNED, undefined);
    // As on Central: version lists carry checksums but no signature.
    await publishFile(upstream, BASE, 'org/example/lib/maven-metadata.xml', metadataXml('org.example', 'lib', ['1.0', '1.1'], '20260101120000'));
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    for (const a of [alice, bob, mallory]) await a?.close();
    for (const d of dirs) await removeDir(d);
  });

  test('require with no keyring at all is refused at start', async () => {
    await assert.rejects(restart(await newDataDir(), repo({ trust: {} })), /trust\.keyring/);
    mirror = undefined;
  });

  test('warn → require: an unsigned jar is org-signed by the unverified key under warn, refused under require', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo({ verify: 'warn' }), { alice, bob });
    assert.deepEqual(await orgSignature(m, artifactPath(UNSIGNED, 'jar')), { primary: false, unverified: true });
    assert.deepEqual(await orgSignature(m, artifactPath(LIB, 'jar')), { primary: true, unverified: false });

    m = await restart(dataDir, repo());
    assert.equal((await bytesOf(m, artifactPath(UNSIGNED, 'jar'))).status, 502, 'cached under warn, refused under require');
    assert.equal((await bytesOf(m, `${artifactPath(UNSIGNED, 'jar')}.countersign.asc`)).status, 502);
    assert.deepEqual(await orgSignature(m, artifactPath(LIB, 'jar')), { primary: true, unverified: false });
  });

  test('a key removed from its group keyring stops vouching at once; the other group is unaffected', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), { alice, bob });
    assert.equal((await bytesOf(m, artifactPath(UTIL, 'jar'))).status, 200);
    assert.equal((await bytesOf(m, `${artifactPath(UTIL, 'jar')}.asc`)).status, 200);

    m = await restart(dataDir, repo(), { alice, bob: mallory });
    assert.equal((await bytesOf(m, artifactPath(UTIL, 'jar'))).status, 502, 'bob is no longer trusted for com.acme');
    assert.notEqual((await bytesOf(m, `${artifactPath(UTIL, 'jar')}.asc`)).status, 200, 'nor his signature served as verified');
    assert.notEqual((await bytesOf(m, `${artifactPath(UTIL, 'jar')}.countersign.asc`)).status, 200);
    assert.deepEqual(await orgSignature(m, artifactPath(LIB, 'jar')), { primary: true, unverified: false });

    m = await restart(dataDir, repo(), { alice, bob });
    assert.deepEqual(await orgSignature(m, artifactPath(UTIL, 'jar')), { primary: true, unverified: false });
  });

  test('offline, a key removal is applied from the signature material kept with each file', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), { alice, bob });
    for (const path of [artifactPath(LIB, 'jar'), artifactPath(UTIL, 'jar')]) {
      assert.equal((await bytesOf(m, path)).status, 200);
      assert.equal((await bytesOf(m, `${path}.asc`)).status, 200);
    }
    await m.close();
    await writeFile(join(dataDir, 'bob.asc'), mallory.armoredPublic);
    m = mirror = await startMirror({ dataDir, offline: true, repositories: [repo()] });
    assert.notEqual((await bytesOf(m, artifactPath(UTIL, 'jar'))).status, 200, 'bob\'s file: not served, even offline');
    assert.notEqual((await bytesOf(m, `${artifactPath(UTIL, 'jar')}.asc`)).status, 200);
    // Positive control: re-verified offline from the kept .asc and sidecars, then org-signed.
    assert.deepEqual(await orgSignature(m, artifactPath(LIB, 'jar')), { primary: true, unverified: false });
    assert.equal((await bytesOf(m, `${artifactPath(LIB, 'jar')}.asc`)).status, 200);
  });

  test('a replayed signature (1.0\'s .asc beside 1.1\'s jar) is refused; the genuine pair is served', async () => {
    const m = await restart(await newDataDir(), repo(), { alice, bob });
    const c = { ...LIB, version: '1.2' };
    await publishArtifact(upstream, BASE, c, alice);
    const replayed = await (await fetch(`${upstream.url}${BASE}/${artifactPath(LIB, 'jar')}.asc`)).text();
    const genuine = await (await fetch(`${upstream.url}${BASE}/${artifactPath(c, 'jar')}.asc`)).text();
    upstream.setFile(`${BASE}/${artifactPath(c, 'jar')}.asc`, replayed);
    const refused = await bytesOf(m, artifactPath(c, 'jar'));
    assert.equal(refused.status, 502);
    assert.equal((JSON.parse(refused.bytes.toString()) as { code: string }).code, 'VERIFICATION_FAILED');
    assert.equal(m.app.store.index.getObject('maven', artifactPath(c, 'jar')), undefined);
    upstream.setFile(`${BASE}/${artifactPath(c, 'jar')}.asc`, genuine);
    assert.deepEqual(await orgSignature(m, artifactPath(c, 'jar')), { primary: true, unverified: false });
  });

  test('tampered bytes against their .sha1 are refused under warn too, and not stored', async () => {
    const m = await restart(await newDataDir(), repo({ verify: 'warn' }), { alice, bob });
    const c = { ...LIB, artifactId: 'tampered' };
    const real = await buildJar({ 'a.txt': 'real\n' });
    await publishFile(upstream, BASE, artifactPath(c, 'jar'), await buildJar({ 'a.txt': 'evil\n' }), { checksumOf: real, sidecars: ['sha1'] });
    const res = await bytesOf(m, artifactPath(c, 'jar'));
    assert.equal(res.status, 502);
    assert.equal((JSON.parse(res.bytes.toString()) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal(m.app.store.index.getObject('maven', artifactPath(c, 'jar')), undefined);
  });

  test('an unsigned version list: served under require (checksums only) but never signed by the primary key', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo(), { alice, bob });
    const list = await m.get('/maven/org/example/lib/maven-metadata.xml');
    assert.equal(list.status, 200);
    assert.match(list.headers.get('x-countersign-verification') ?? '', /anchor=none/);
    const sig = await m.get('/maven/org/example/lib/maven-metadata.xml.asc');
    assert.equal(sig.status, 502);
    assert.equal(((await sig.json()) as { code: string }).code, 'SIGNING_REFUSED');

    m = await restart(dataDir, repo({ verify: 'warn' }));
    assert.deepEqual(await orgSignature(m, 'org/example/lib/maven-metadata.xml'), { primary: false, unverified: true });

    // metadataSignatures: required — an unsigned list is refused (no downgrade from signed to unsigned).
    m = await restart(await newDataDir(), repo({ trust: { ...repo().trust, metadataSignatures: 'required' } }), { alice, bob });
    const refused = await m.get('/maven/org/example/lib/maven-metadata.xml');
    assert.equal(refused.status, 502);
    assert.match(((await refused.json()) as { error: string }).error, /no signature/);
    await publishFile(upstream, BASE, 'org/example/signed/maven-metadata.xml', metadataXml('org.example', 'signed', ['1.0'], '20260101120000'), { author: alice });
    assert.deepEqual(await orgSignature(m, 'org/example/signed/maven-metadata.xml'), { primary: true, unverified: false });
  });

  test('signatures: combined — one .asc with the author\'s and the org\'s signatures (gpg needs both keys)', async () => {
    const m = await restart(await newDataDir(), repo({ trust: { ...repo().trust, signatures: 'combined' } }), { alice, bob });
    const jar = await bytesOf(m, artifactPath(LIB, 'jar'));
    const asc = await bytesOf(m, `${artifactPath(LIB, 'jar')}.asc`);
    assert.equal(asc.status, 200);
    const org = await (await m.get('/-/keys/openpgp.asc')).text();
    assert.ok((await gpgVerify(`${org}\n${alice.armoredPublic}`, jar.bytes, asc.bytes)).ok, 'both keys: every signature verifies');
    const orgOnly = await gpgVerify(org, jar.bytes, asc.bytes);
    assert.match(orgOnly.status, /GOODSIG/, 'the org signature is good');
    assert.match(orgOnly.status, /NO_PUBKEY|ERRSIG/, 'gpg reports the author signature it cannot check (exit status 2)');
    // The org signature alone stays available beside it.
    assert.ok((await gpgVerify(org, jar.bytes, (await bytesOf(m, `${artifactPath(LIB, 'jar')}.countersign.asc`)).bytes)).ok);
  });
});
