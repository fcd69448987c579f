/**
 * Swift: the org's primary code-signing leaf never vouches for what today's trust would refuse.
 * Each test changes the trust under a data directory (mode, pinned roots, the upstream's
 * signature, the org leaf) and checks with `openssl cms -verify` which org root the served
 * signatures chain to: the org root (verified) or the separate unverified CA (warn/off), or that
 * nothing is served at all (require). Each refusal has a positive control.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishSwiftRelease } from '../helpers/swift-fixture.js';
import { cmsSign, cmsVerify, makeTestPki, splitServedManifest, type TestPki } from '../helpers/swift-openssl.js';

const TTL_MS = 60_000;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('swift: trust changes take effect at the next request', () => {
  let upstream: FixtureUpstream;
  let publisher: TestPki;
  let stranger: TestPki;
  let mirror: RunningMirror | undefined;
  const dirs: string[] = [];
  const list = new Map<string, string[]>();

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'swift', format: 'swift', upstream: upstream.url, verify: 'require' as const,
    trust: { roots: ['roots/publisher.pem'] }, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });

  async function newDataDir(): Promise<string> {
    const dir = await makeDataDir();
    dirs.push(dir);
    await mkdir(join(dir, 'roots'));
    await writeFile(join(dir, 'roots', 'publisher.pem'), publisher.rootPem);
    await writeFile(join(dir, 'roots', 'stranger.pem'), stranger.rootPem);
    return dir;
  }

  async function restart(dataDir: string, repository: ReturnType<typeof repo>): Promise<RunningMirror> {
    await mirror?.close();
    mirror = await startMirror({ dataDir, repositories: [repository] });
    return mirror;
  }

  /** The served archive, its signature and manifest, and which published org root each signature chains to. */
  async function served(m: RunningMirror, pkg: string, version: string) {
    const metaRes = await m.get(`/swift/mona/${pkg}/${version}`);
    if (metaRes.status !== 200) return { status: metaRes.status, detail: ((await metaRes.json()) as { detail: string }).detail };
    const meta = (await metaRes.json()) as { resources: { checksum: string; signing: { signatureBase64Encoded: string } }[] };
    const zip = Buffer.from(await (await m.get(`/swift/mona/${pkg}/${version}.zip`)).arrayBuffer());
    const signature = Buffer.from(meta.resources[0]!.signing.signatureBase64Encoded, 'base64');
    const manifest = splitServedManifest(Buffer.from(await (await m.get(`/swift/mona/${pkg}/${version}/Package.swift`)).arrayBuffer()))!;
    const [orgRoot, unverifiedRoot] = await Promise.all([m.get('/-/keys/ca.pem').then((r) => r.text()), m.get('/-/keys/ca-unverified.pem').then((r) => r.text())]);
    assert.equal(meta.resources[0]!.checksum, sha256(zip));
    return {
      status: 200, zip, signature,
      archive: { primary: (await cmsVerify(signature, zip, orgRoot)).ok, unverified: (await cmsVerify(signature, zip, unverifiedRoot)).ok },
      manifest: { primary: (await cmsVerify(manifest.signature, manifest.content, orgRoot)).ok, unverified: (await cmsVerify(manifest.signature, manifest.content, unverifiedRoot)).ok },
    };
  }

  before(async () => {
    [upstream, publisher, stranger] = await Promise.all([startFixtureUpstream(), makeTestPki('Publisher'), makeTestPki('Stranger')]);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.0.0', signer: publisher }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Unsigned', version: '1.0.0' }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Forged', version: '1.0.0', signer: stranger }, list);
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    for (const d of dirs) await removeDir(d);
  });

  test('require without trust.roots does not start', async () => {
    const dataDir = await newDataDir();
    await assert.rejects(startMirror({ dataDir, repositories: [repo({ trust: {} })] }), /trust\.roots/);
  });

  test('warn: what did not verify is served signed by the unverified CA only; the verified release by the org root (control)', async () => {
    const m = await restart(await newDataDir(), repo({ verify: 'warn' }));
    for (const pkg of ['Unsigned', 'Forged']) {
      const s = await served(m, pkg, '1.0.0');
      assert.equal(s.status, 200, `${pkg}: ${s.detail}`);
      assert.deepEqual(s.archive, { primary: false, unverified: true }, pkg);
      assert.deepEqual(s.manifest, { primary: false, unverified: true }, pkg);
    }
    const control = await served(m, 'LinkedList', '1.0.0');
    assert.deepEqual(control.archive, { primary: true, unverified: false });
    assert.deepEqual(control.manifest, { primary: true, unverified: false });
  });

  test('off: even a genuinely signed release is signed by the unverified CA', async () => {
    const m = await restart(await newDataDir(), repo({ verify: 'off' }));
    const s = await served(m, 'LinkedList', '1.0.0');
    assert.deepEqual(s.archive, { primary: false, unverified: true });
  });

  test('the pinned root replaced: what verified before is refused; pinned again, it is org-signed again', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo());
    assert.deepEqual((await served(m, 'LinkedList', '1.0.0')).archive, { primary: true, unverified: false });
    m = await restart(dataDir, repo({ trust: { roots: ['roots/stranger.pem'] } }));
    const refused = await served(m, 'LinkedList', '1.0.0');
    assert.equal(refused.status, 502);
    assert.match(refused.detail ?? '', /does not chain to a root/);
    assert.equal((await m.get('/swift/mona/LinkedList/1.0.0.zip')).status, 502);
    assert.equal((await m.get('/swift/mona/LinkedList/1.0.0/Package.swift')).status, 502);
    // The stranger's release verifies under the stranger's root: the control for this trust.
    assert.deepEqual((await served(m, 'Forged', '1.0.0')).archive, { primary: true, unverified: false });
    m = await restart(dataDir, repo());
    assert.deepEqual((await served(m, 'LinkedList', '1.0.0')).archive, { primary: true, unverified: false });
  });

  test('require → warn on one data directory: the verified release stays org-signed, the unsigned one is now served by the unverified CA', async () => {
    const dataDir = await newDataDir();
    let m = await restart(dataDir, repo());
    assert.equal((await served(m, 'Unsigned', '1.0.0')).status, 502);
    m = await restart(dataDir, repo({ verify: 'warn' }));
    assert.deepEqual((await served(m, 'LinkedList', '1.0.0')).archive, { primary: true, unverified: false });
    assert.deepEqual((await served(m, 'Unsigned', '1.0.0')).archive, { primary: false, unverified: true });
    m = await restart(dataDir, repo());
    assert.equal((await served(m, 'Unsigned', '1.0.0')).status, 502, 'and refused again under require');
  });

  test('a bad upstream signature on revalidation: refused, the previously verified metadata stays served', async () => {
    const m = await restart(await newDataDir(), repo());
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Churn', version: '1.0.0', signer: publisher }, list);
    const before = await served(m, 'Churn', '1.0.0');
    assert.deepEqual(before.archive, { primary: true, unverified: false });
    // The same archive, its metadata now carrying a signature by a root nobody pinned.
    const meta = JSON.parse((await (await fetch(`${upstream.url}/mona/Churn/1.0.0`)).text())) as { resources: { signing: { signatureBase64Encoded: string } }[] };
    const zip = Buffer.from(await (await fetch(`${upstream.url}/mona/Churn/1.0.0.zip`)).arrayBuffer());
    meta.resources[0]!.signing.signatureBase64Encoded = (await cmsSign(stranger, zip)).toString('base64');
    upstream.setFile('/mona/Churn/1.0.0', JSON.stringify(meta), { contentType: 'application/json' });
    m.advanceClock(TTL_MS + 1);
    const res = await m.get('/swift/mona/Churn/1.0.0');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'verification-failed');
    const after = await served(m, 'Churn', '1.0.0');
    assert.deepEqual(after.signature, before.signature);
  });

  test('key rotation: the new org leaf signs from now on; signatures by the retired leaf still verify', async () => {
    const m = await restart(await newDataDir(), repo());
    const old = await served(m, 'LinkedList', '1.0.0');
    assert.ok(old.archive?.primary);
    await m.app.keys.rotate('x509-ecdsa');
    const now = await served(m, 'LinkedList', '1.0.0');
    assert.notDeepEqual(now.signature, old.signature, 'signed anew by the new leaf');
    assert.deepEqual(now.archive, { primary: true, unverified: false });
    assert.deepEqual(now.manifest, { primary: true, unverified: false });
    const orgRoot = await (await m.get('/-/keys/ca.pem')).text();
    assert.ok((await cmsVerify(old.signature!, old.zip!, orgRoot)).ok, 'the retired leaf\'s signature still verifies');
  });
});
