/**
 * Swift registry (SE-0292 / SE-0391) through the mirror, against a fixture registry whose
 * releases a test publisher signed with OpenSSL: the served archive signature and every served
 * manifest signature are checked with `openssl cms -verify` over the exact served bytes against
 * the org root (and against nothing else), the cms-1.0.0 profile with `openssl cms -cmsout -print`
 * and `openssl asn1parse`, archives with `unzip`; then the scenario matrix.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { manifestText, publishSwiftRelease } from '../helpers/swift-fixture.js';
import { asn1Parse, cmsPrint, cmsSign, cmsVerify, makeTestPki, splitServedManifest, x509Text, type TestPki } from '../helpers/swift-openssl.js';

const run = promisify(execFile);
const TTL_MS = 60_000;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function unzipPrint(zip: Buffer, entry: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-unzip-'));
  try {
    await writeFile(join(dir, 'a.zip'), zip);
    const tested = await run('unzip', ['-t', join(dir, 'a.zip')]);
    assert.match(tested.stdout, /No errors detected/);
    return (await run('unzip', ['-p', join(dir, 'a.zip'), entry], { encoding: 'buffer', maxBuffer: 1 << 24 })).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('swift: a registry re-signed by the mirror', () => {
  let upstream: FixtureUpstream;
  let publisher: TestPki;
  let stranger: TestPki;
  let mirror: RunningMirror;
  let dataDir: string;
  let orgRoot: string;
  const list = new Map<string, string[]>();

  const repo = (over: Record<string, unknown> = {}) => ({
    name: 'swift', format: 'swift', upstream: upstream.url, verify: 'require' as const,
    trust: { roots: ['roots/publisher.pem'] }, metadataTtl: `${TTL_MS}ms`, retries: 0, ...over,
  });
  const json = async (path: string): Promise<Record<string, any>> => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
    return (await res.json()) as Record<string, any>;
  };
  const bytes = async (path: string): Promise<Buffer> => {
    const res = await mirror.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const archiveSignature = (meta: Record<string, any>): Buffer => Buffer.from(meta.resources[0].signing.signatureBase64Encoded, 'base64');

  before(async () => {
    [upstream, publisher, stranger] = await Promise.all([startFixtureUpstream(), makeTestPki('Publisher'), makeTestPki('Stranger')]);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.0.0', signer: publisher }, list);
    await publishSwiftRelease(upstream, {
      scope: 'mona', name: 'LinkedList', version: '1.1.0', signer: publisher,
      versionedManifests: { 'Package@swift-5.8.swift': '// swift-tools-version:5.8\nimport PackageDescription\nlet package = Package(name: "LinkedList")\n' },
    }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Unsigned', version: '1.0.0' }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Forged', version: '1.0.0', signer: stranger }, list);
    const other = await publishSwiftRelease(upstream, { scope: 'mona', name: 'Other', version: '1.0.0', signer: publisher }, list);
    // A genuine publisher signature, over another archive: replayed onto this release.
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'Replay', version: '1.0.0', signer: publisher, signatureOverride: await cmsSign(publisher, other.zip) }, list);
    dataDir = await makeDataDir();
    await mkdir(join(dataDir, 'roots'));
    await writeFile(join(dataDir, 'roots', 'publisher.pem'), publisher.rootPem);
    mirror = await startMirror({ dataDir, repositories: [repo()] });
    orgRoot = await (await mirror.get('/-/keys/ca.pem')).text();
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  test('release list: URLs point at the mirror, Content-Version 1, latest-version link', async () => {
    const res = await mirror.get('/swift/mona/LinkedList', { headers: { accept: 'application/vnd.swift.registry.v1+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-version'), '1');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('link'), `<${mirror.url}/swift/mona/LinkedList/1.1.0>; rel="latest-version"`);
    const doc = (await res.json()) as { releases: Record<string, { url: string }> };
    assert.deepEqual(Object.keys(doc.releases).sort(), ['1.0.0', '1.1.0']);
    assert.equal(doc.releases['1.0.0']!.url, `${mirror.url}/swift/mona/LinkedList/1.0.0`);
  });

  test('cold miss: metadata names the served archive; its signature verifies with openssl against the org root only', async () => {
    const meta = await json('/swift/mona/LinkedList/1.0.0');
    const zipRes = await mirror.get('/swift/mona/LinkedList/1.0.0.zip');
    assert.equal(zipRes.status, 200);
    assert.equal(zipRes.headers.get('content-type'), 'application/zip');
    assert.equal(zipRes.headers.get('content-disposition'), 'attachment; filename="LinkedList-1.0.0.zip"');
    const zip = Buffer.from(await zipRes.arrayBuffer());
    assert.equal(meta.resources.length, 1);
    assert.equal(meta.resources[0].checksum, sha256(zip), 'checksum = SHA-256 of the served archive');
    assert.equal(meta.resources[0].signing.signatureFormat, 'cms-1.0.0');
    assert.equal(zipRes.headers.get('digest'), `sha-256=${createHash('sha256').update(zip).digest('base64')}`);
    assert.equal(zipRes.headers.get('x-swift-package-signature-format'), 'cms-1.0.0');
    assert.equal(zipRes.headers.get('x-swift-package-signature'), meta.resources[0].signing.signatureBase64Encoded);
    const sig = archiveSignature(meta);
    const verified = await cmsVerify(sig, zip, orgRoot);
    assert.ok(verified.ok, verified.output);
    assert.equal((await cmsVerify(sig, zip, publisher.rootPem)).ok, false, 'not the upstream publisher root');
    assert.equal((await cmsVerify(sig, Buffer.concat([zip, Buffer.from('x')]), orgRoot)).ok, false, 'over the exact bytes only');
  });

  test('cms-1.0.0 profile (openssl cms -print, asn1parse): detached, SignerInfo v1, no signed attributes, SHA-256 without parameters, P-256 code-signing leaf', async () => {
    const sig = archiveSignature(await json('/swift/mona/LinkedList/1.0.0'));
    const printed = await cmsPrint(sig);
    assert.match(printed, /eContent: <ABSENT>/);
    assert.match(printed, /signedAttrs:\s*<ABSENT>|signedAttrs: <EMPTY>/);
    assert.doesNotMatch(printed, /signedAttrs:\s*\n\s*object:/);
    assert.match(printed, /signerInfos:\s*\n\s*version: 1/);
    assert.match(printed, /d\.issuerAndSerialNumber/);
    const digestAlgorithms = printed.slice(printed.indexOf('digestAlgorithms:'), printed.indexOf('encapContentInfo:'));
    assert.match(digestAlgorithms, /algorithm: sha256 \(2\.16\.840\.1\.101\.3\.4\.2\.1\)\s*\n\s*parameter: <ABSENT>/);
    assert.match(printed, /signatureAlgorithm:\s*\n\s*algorithm: ecdsa-with-SHA256[^\n]*\n\s*parameter: <ABSENT>/);
    const parsed = await asn1Parse(sig);
    assert.match(parsed, /OBJECT\s+:pkcs7-signedData/);
    assert.doesNotMatch(parsed, /:messageDigest|:contentType\b|:signingTime/);
    // The leaf: ECDSA P-256, code-signing EKU, chained to the org root.
    const certs = printed.match(/subject: [^\n]+/g) ?? [];
    assert.ok(certs.length >= 1, printed);
    const ku = await x509Text(await leafFrom(sig));
    assert.match(ku, /Code Signing/);
    assert.match(ku, /prime256v1|P-256/);
  });

  test('manifests: the served Package.swift is the one inside the served archive, signed by the org, the upstream line gone', async () => {
    const meta = await json('/swift/mona/LinkedList/1.0.0');
    const res = await mirror.get('/swift/mona/LinkedList/1.0.0/Package.swift', { headers: { accept: 'application/vnd.swift.registry.v1+swift' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/x-swift');
    assert.equal(res.headers.get('content-version'), '1');
    const manifest = Buffer.from(await res.arrayBuffer());
    const zip = await bytes('/swift/mona/LinkedList/1.0.0.zip');
    assert.equal(sha256(zip), meta.resources[0].checksum);
    assert.deepEqual(await unzipPrint(zip, 'LinkedList/Package.swift'), manifest, 'byte-identical to the archive entry');
    const parts = splitServedManifest(manifest);
    assert.ok(parts, manifest.toString());
    assert.equal(parts.content.toString(), manifestText('LinkedList'), 'signed content = the upstream manifest without its signature line');
    assert.equal((manifest.toString().match(/signature: cms-1\.0\.0/g) ?? []).length, 1);
    const verified = await cmsVerify(parts.signature, parts.content, orgRoot);
    assert.ok(verified.ok, verified.output);
    assert.equal((await cmsVerify(parts.signature, parts.content, publisher.rootPem)).ok, false);
    assert.match(await cmsPrint(parts.signature), /eContent: <ABSENT>/);
  });

  test('versioned manifests: alternate links, ?swift-version=, each signed; an unknown one gets Package.swift', async () => {
    const zip = await bytes('/swift/mona/LinkedList/1.1.0.zip');
    const plain = await mirror.get('/swift/mona/LinkedList/1.1.0/Package.swift');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('link'), `<${mirror.url}/swift/mona/LinkedList/1.1.0/Package.swift?swift-version=5.8>; rel="alternate"; filename="Package@swift-5.8.swift"; swift-tools-version="5.8"`);
    const versioned = await bytes('/swift/mona/LinkedList/1.1.0/Package.swift?swift-version=5.8');
    assert.deepEqual(await unzipPrint(zip, 'LinkedList/Package@swift-5.8.swift'), versioned);
    const parts = splitServedManifest(versioned)!;
    assert.ok((await cmsVerify(parts.signature, parts.content, orgRoot)).ok);
    assert.deepEqual(await bytes('/swift/mona/LinkedList/1.1.0/Package.swift?swift-version=4.2'), Buffer.from(await plain.arrayBuffer()));
  });

  test('warm hit: nothing asked of the upstream', async () => {
    await json('/swift/mona/LinkedList/1.0.0');
    await bytes('/swift/mona/LinkedList/1.0.0.zip');
    upstream.resetCounts();
    const again = await json('/swift/mona/LinkedList/1.0.0');
    await bytes('/swift/mona/LinkedList/1.0.0.zip');
    await bytes('/swift/mona/LinkedList/1.0.0/Package.swift');
    assert.equal(upstream.requests(), 0);
    assert.ok((await cmsVerify(archiveSignature(again), await bytes('/swift/mona/LinkedList/1.0.0.zip'), orgRoot)).ok);
  });

  test('refused under require: unsigned, a root not pinned, a replayed signature over another archive (problem details, nothing signed)', async () => {
    for (const [name, why] of [['Unsigned', /did not sign/], ['Forged', /does not chain to a root/], ['Replay', /does not verify/]] as const) {
      const res = await mirror.get(`/swift/mona/${name}/1.0.0`);
      assert.equal(res.status, 502, name);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(res.headers.get('content-version'), '1');
      const problem = (await res.json()) as { detail: string; status: number };
      assert.match(problem.detail, why);
      assert.equal(problem.status, 502);
      const zip = await mirror.get(`/swift/mona/${name}/1.0.0.zip`);
      assert.equal(zip.status, 502, `${name}.zip`);
      const manifest = await mirror.get(`/swift/mona/${name}/1.0.0/Package.swift`);
      assert.equal(manifest.status, 502, `${name} manifest`);
    }
    assert.equal(mirror.app.store.index.getObject('swift', 'mona/Unsigned/1.0.0.zip'), undefined, 'nothing stored');
  });

  test('a signed release whose manifests are unsigned, or signed under a root not pinned, is refused (as SwiftPM would)', async () => {
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'BareManifest', version: '1.0.0', signer: publisher, manifestSigner: null }, list);
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'MixedManifest', version: '1.0.0', signer: publisher, manifestSigner: stranger }, list);
    for (const [name, why] of [['BareManifest', /Package\.swift is not signed, while its release is/], ['MixedManifest', /signature of \S+Package\.swift does not verify: .*does not chain/]] as const) {
      const res = await mirror.get(`/swift/mona/${name}/1.0.0.zip`);
      assert.equal(res.status, 502, name);
      assert.match(((await res.json()) as { detail: string }).detail, why);
      assert.equal((await mirror.get(`/swift/mona/${name}/1.0.0`)).status, 502, `${name} metadata (its archive is refused)`);
    }
  });

  test('tampered archive: refused and nothing stored; the genuine one is then served', async () => {
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.2.0', signer: publisher }, list);
    upstream.setMode('/mona/LinkedList/1.2.0.zip', 'tamper', { times: 1 });
    const res = await mirror.get('/swift/mona/LinkedList/1.2.0.zip');
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { detail: string }).detail, /does not match/);
    assert.equal(mirror.app.store.index.getObject('swift', 'mona/LinkedList/1.2.0.zip'), undefined);
    const zip = await bytes('/swift/mona/LinkedList/1.2.0.zip');
    assert.ok((await cmsVerify(archiveSignature(await json('/swift/mona/LinkedList/1.2.0')), zip, orgRoot)).ok);
  });

  test('concurrent identical requests: one upstream fetch of the archive', async () => {
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.3.0', signer: publisher }, list);
    upstream.resetCounts();
    const all = await Promise.all(Array.from({ length: 8 }, () => bytes('/swift/mona/LinkedList/1.3.0.zip')));
    assert.equal(new Set(all.map(sha256)).size, 1);
    assert.equal(upstream.requests('/mona/LinkedList/1.3.0.zip'), 1);
    assert.equal(upstream.requests('/mona/LinkedList/1.3.0'), 1);
  });

  test('revalidation: after the TTL the upstream is asked again and the same bytes are served', async () => {
    const before = await json('/swift/mona/LinkedList/1.1.0');
    mirror.advanceClock(TTL_MS + 1);
    upstream.resetCounts();
    const res = await mirror.get('/swift/mona/LinkedList/1.1.0');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'REVALIDATED');
    assert.equal(upstream.requests('/mona/LinkedList/1.1.0'), 1);
    assert.deepEqual(await res.json(), before);
  });

  test('metadata that names another release than its path is refused', async () => {
    const meta = await publishSwiftRelease(upstream, { scope: 'mona', name: 'Swap', version: '1.0.0', signer: publisher }, list);
    upstream.setFile('/mona/Swap/2.0.0', JSON.stringify(meta.metadata), { contentType: 'application/json' });
    upstream.setFile('/mona/Swap/2.0.0.zip', meta.zip, { contentType: 'application/zip' });
    const res = await mirror.get('/swift/mona/Swap/2.0.0');
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { detail: string }).detail, /describes mona\.Swap 1\.0\.0, not mona\.Swap 2\.0\.0/);
  });

  test('revalidation, upstream down → stale, and a changed archive under a published version → previous copy kept', async () => {
    const before = await json('/swift/mona/LinkedList/1.0.0');
    mirror.advanceClock(TTL_MS + 1);
    upstream.setMode('/mona/LinkedList/1.0.0', { status: 503 });
    const stale = await mirror.get('/swift/mona/LinkedList/1.0.0');
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-countersign-stale'), 'upstream-unavailable');
    upstream.clearModes();
    // The upstream republishes 1.0.0 with other bytes (still genuinely signed): a release never changes.
    const saved = list.get('/mona/LinkedList')!.slice();
    await publishSwiftRelease(upstream, { scope: 'mona', name: 'LinkedList', version: '1.0.0', signer: publisher, versionedManifests: { 'Package@swift-6.0.swift': '// swift-tools-version:6.0\n' } }, list);
    list.set('/mona/LinkedList', saved);
    mirror.advanceClock(TTL_MS + 1);
    const kept = await mirror.get('/swift/mona/LinkedList/1.0.0');
    assert.equal(kept.status, 200);
    assert.equal(kept.headers.get('x-countersign-stale'), 'verification-failed');
    assert.deepEqual(((await kept.json()) as Record<string, any>).resources, before.resources);
  });

  test('setup: registries.json refusing unsigned and untrusted, and the org root as DER', async () => {
    const setup = await (await mirror.get('/swift/-/setup')).text();
    assert.match(setup, /"onUnsigned": "error"/);
    assert.match(setup, /"onUntrustedCertificate": "error"/);
    assert.match(setup, /"trustedRootCertificatesPath"/);
    assert.match(setup, /-\/org-root\.cer/);
    assert.ok(setup.includes(new X509Certificate(orgRoot).fingerprint256), 'the root fingerprint to check downloads against');
    const der = await bytes('/swift/-/org-root.cer');
    assert.equal(new X509Certificate(der).fingerprint256, new X509Certificate(orgRoot).fingerprint256);
    assert.deepEqual(der, new X509Certificate(orgRoot).raw);
  });

  test('after a restart: the archive still carries its signature headers and the manifest its alternate links', async () => {
    await mirror.close();
    mirror = await startMirror({ dataDir, repositories: [repo()] });
    const meta = await json('/swift/mona/LinkedList/1.1.0');
    const zip = await mirror.get('/swift/mona/LinkedList/1.1.0.zip');
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get('x-swift-package-signature'), meta.resources[0].signing.signatureBase64Encoded);
    const manifest = await mirror.get('/swift/mona/LinkedList/1.1.0/Package.swift');
    assert.match(manifest.headers.get('link') ?? '', /rel="alternate"; filename="Package@swift-5\.8\.swift"/);
  });

  test('identifiers are looked up upstream; bad paths are problem details', async () => {
    upstream.setHandler('/identifiers', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x').searchParams.get('url');
      const body = JSON.stringify({ identifiers: url === 'https://git.upstream.example/mona/LinkedList.git' ? ['mona.LinkedList'] : [] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-version': '1' });
      res.end(body);
    });
    const found = await json(`/swift/identifiers?url=${encodeURIComponent('https://git.upstream.example/mona/LinkedList.git')}`);
    assert.deepEqual(found, { identifiers: ['mona.LinkedList'] });
    const bad = await mirror.get('/swift/-mona/x');
    assert.equal(bad.status, 404);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
  });
});

/** The signing leaf among a CMS signature's certificates (`openssl pkcs7 -print_certs`), as DER. */
async function leafFrom(sig: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-leaf-'));
  try {
    await writeFile(join(dir, 'sig'), sig);
    const { stdout } = await run('openssl', ['pkcs7', '-inform', 'DER', '-in', join(dir, 'sig'), '-print_certs']);
    const pems = stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const leaves = pems.map((p) => new X509Certificate(p)).filter((c) => !c.ca);
    assert.equal(leaves.length, 1, stdout);
    return leaves[0]!.raw;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
