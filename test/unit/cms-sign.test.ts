/**
 * The `cms` scheme of the signing ledger, checked by OpenSSL (a verifier nobody here wrote):
 * the NuGet shape (attached, signed attributes, RSA leaf), the Swift cms-1.0.0 profile
 * (detached, no signed attributes, SignerInfo v1, SHA-256 without parameters, ECDSA leaf), a
 * countersignature over someone else's SignerInfo, and the role rule: an unverified signature
 * is by a leaf that chains only to the separate unverified root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SigningLedger, type RepositoryTrust } from '../../src/core/signing-ledger.js';
import { isMirrorError } from '../../src/errors.js';
import type { SignRequest, VerificationRecord } from '../../src/formats/types.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyStore } from '../../src/keys/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { CMS_OID, oidDer } from '../../src/signing/cms-attributes.js';
import { countersignatures, parseSignedData } from '../../src/signing/cms-countersign.js';
import { children, readElement, tlv } from '../../src/signing/cms-der.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { makeDataDir, removeDir } from '../helpers/mirror-harness.js';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('cms signatures through the signing ledger', () => {
  let dataDir: string;
  let work: string;
  let store: Store;
  let keys: KeyStore;
  let ledger: SigningLedger;
  const require: RepositoryTrust = { repository: 'r', mode: 'require', epoch: 'e1' };
  const warn: RepositoryTrust = { repository: 'r', mode: 'warn', epoch: 'e1' };
  const verified: VerificationRecord = { status: 'verified', by: ['x509:X'], at: 0, mode: 'require', epoch: 'e1', anchor: 'pinned' };
  const unverified: VerificationRecord = { ...verified, mode: 'warn', status: 'unverified', anchor: 'none', reason: 'no upstream signature' };
  const utcTime = tlv(0x17, Buffer.from('261207000000Z'));
  const nugetLike = (data: Buffer): SignRequest => ({
    scheme: 'cms', object: 'pkg.1.0.0.nupkg', data,
    cms: { leaf: 'rsa', detached: false, signedAttributes: [{ oid: '1.2.840.113549.1.9.5', values: [utcTime] }], signingCertificateV2: true },
  });
  const swiftLike = (data: Buffer): SignRequest => ({ scheme: 'cms', object: 'mona.LinkedList@1.1.1', data, cms: { leaf: 'ecdsa', detached: true, signedAttributes: 'none' } });

  const file = async (name: string, bytes: Buffer | string) => {
    const path = join(work, name);
    await writeFile(path, bytes);
    return path;
  };
  const cmsVerify = async (sig: Buffer, root: string, content?: Buffer) => {
    const args = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', await file('sig.der', sig), '-CAfile', await file('root.pem', root), '-purpose', 'any', '-out', join(work, 'out.bin')];
    if (content) args.push('-content', await file('content.bin', content));
    return openssl(args);
  };

  before(async () => {
    dataDir = await makeDataDir();
    work = await mkdtemp(join(dataDir, 'work-'));
    store = await openStore(dataDir);
    keys = await openKeyStore({ dir: join(dataDir, 'keys') });
    ledger = new SigningLedger(keys, store.index, createMetrics());
  });
  after(async () => {
    await store.close();
    await removeDir(dataDir);
  });

  test('NuGet shape: attached content, signed attributes, RSA leaf and chain; verifies against the org root only', async () => {
    const content = Buffer.from('Version:1\n\n2.16.840.1.101.3.4.2.1-Hash:AAAA\n\n');
    const made = await ledger.sign(require, verified, nugetLike(content));
    assert.equal(made.role, 'primary');
    assert.equal(made.keyId, keys.x509Leaf('rsa').id);
    const good = await cmsVerify(made.signature, keys.caPem());
    assert.ok(good.ok, good.out);
    assert.match(good.out, /Verification successful/);
    assert.deepEqual(await readFile(join(work, 'out.bin')), content);
    const other = await cmsVerify(made.signature, keys.caPem('unverified'));
    assert.equal(other.ok, false, 'a primary signature does not chain to the unverified root');

    const printed = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', await file('p.der', made.signature)])).out;
    for (const oid of ['contentType', 'messageDigest', 'signingTime', 'id-smime-aa-signingCertificateV2']) assert.match(printed, new RegExp(`object: ${oid}`));
    // RSA PKCS#1 v1.5 and a fixed signing time: the same request makes the same bytes.
    assert.deepEqual((await ledger.sign(require, verified, nugetLike(content))).signature, made.signature);
    assert.equal(made.certificates?.[0]?.toString('hex'), keys.x509Leaf('rsa').certDer.toString('hex'));
  });

  test('signing-certificate-v2 names the leaf that signed, by SHA-256 and issuer/serial', async () => {
    const made = await ledger.sign(require, verified, nugetLike(Buffer.from('x')));
    const leaf = keys.x509Leaf('rsa').certDer;
    const hash = createHash('sha256').update(leaf).digest('hex');
    assert.ok(made.signature.toString('hex').includes(hash));
    const serial = new X509Certificate(leaf).serialNumber.toLowerCase();
    assert.ok(made.signature.toString('hex').includes(serial));
  });

  test('tampered content or a signature over something else fails OpenSSL', async () => {
    const made = await ledger.sign(require, verified, swiftLike(Buffer.from('archive bytes')));
    assert.ok((await cmsVerify(made.signature, keys.caPem(), Buffer.from('archive bytes'))).ok);
    assert.equal((await cmsVerify(made.signature, keys.caPem(), Buffer.from('archive byteS'))).ok, false);
  });

  test('Swift cms-1.0.0 profile: detached, no signed attributes, SignerInfo v1, sha256 without parameters', async () => {
    const data = Buffer.from('PK\u0003\u0004 a zip, say');
    const made = await ledger.sign(require, verified, swiftLike(data));
    assert.equal(made.keyId, keys.x509Leaf('ecdsa').id);
    const good = await cmsVerify(made.signature, keys.caPem(), data);
    assert.ok(good.ok, good.out);
    const printed = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', await file('s.der', made.signature)])).out;
    assert.match(printed, /eContent: <ABSENT>/);
    assert.match(printed, /signedAttrs:\s*<ABSENT>/);
    assert.match(printed, /unsignedAttrs:\s*<ABSENT>/);
    assert.match(printed, /d.issuerAndSerialNumber:/);
    assert.match(printed, /algorithm: ecdsa-with-SHA256/);
    // SignedData and SignerInfo versions are both 1; every sha256 AlgorithmIdentifier lacks parameters.
    const parsed = (await openssl(['asn1parse', '-inform', 'DER', '-in', join(work, 's.der')])).out;
    const versions = parsed.split('\n').filter((l) => /prim: INTEGER\s+:0?1$/.test(l));
    assert.ok(versions.length >= 2, parsed);
    const lines = parsed.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (/:sha256$/.test(lines[i]!)) assert.doesNotMatch(lines[i + 1] ?? '', /NULL/, 'sha256 parameters must be absent');
    }
    // The signature is over SHA-256(content) itself (what swift-certificates 0.4/1.0 check).
    const parts = parseSignedData(made.signature);
    const leafKey = new X509Certificate(keys.x509Leaf('ecdsa').certDer).publicKey;
    assert.ok(verify('sha256', data, leafKey, parts.signature.contents));
    // ECDSA is randomised: the ledger keeps one signature per leaf and message.
    assert.deepEqual((await ledger.sign(require, verified, swiftLike(data))).signature, made.signature);
  });

  test('warn: what did not verify is signed by the unverified leaf, which chains only to the unverified root', async () => {
    const data = Buffer.from('unverified zip');
    const made = await ledger.sign(warn, unverified, swiftLike(data));
    assert.equal(made.role, 'unverified');
    assert.equal(made.keyId, keys.x509Leaf('ecdsa', 'unverified').id);
    assert.notEqual(made.keyId, keys.x509Leaf('ecdsa').id);
    assert.equal((await cmsVerify(made.signature, keys.caPem(), data)).ok, false, 'never chains to the org root');
    assert.ok((await cmsVerify(made.signature, keys.caPem('unverified'), data)).ok);
    assert.notEqual(keys.caPem('unverified'), keys.caPem());
    const rsa = await ledger.sign(warn, unverified, nugetLike(Buffer.from('y')));
    assert.equal(rsa.keyId, keys.x509Leaf('rsa', 'unverified').id);
    assert.equal((await cmsVerify(rsa.signature, keys.caPem())).ok, false);
  });

  test('require: unverified bytes are never signed', async () => {
    await assert.rejects(ledger.sign(require, { ...unverified, mode: 'require' }, swiftLike(Buffer.from('z'))), (e: unknown) => isMirrorError(e) && e.code === 'SIGNING_REFUSED');
  });

  test('a countersignature keeps the author signature valid and digests its signature value', async () => {
    // An author signature made by OpenSSL with a self-issued author certificate.
    const authorKey = join(work, 'author.key');
    const authorCert = join(work, 'author.pem');
    const gen = await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', authorKey, '-out', authorCert, '-subj', '/CN=Author', '-days', '30', '-addext', 'extendedKeyUsage=codeSigning']);
    assert.ok(gen.ok, gen.out);
    const content = await file('author-content.txt', 'Version:1\n\n2.16.840.1.101.3.4.2.1-Hash:BBBB\n\n');
    const signed = await openssl(['cms', '-sign', '-binary', '-nodetach', '-md', 'sha256', '-in', content, '-signer', authorCert, '-inkey', authorKey, '-outform', 'DER', '-out', join(work, 'author.der')]);
    assert.ok(signed.ok, signed.out);
    const author = await readFile(join(work, 'author.der'));

    const made = await ledger.sign(require, verified, { scheme: 'cms', object: 'a.nupkg', data: author, cms: { leaf: 'rsa', detached: false, countersign: true, signedAttributes: [{ oid: '1.2.840.113549.1.9.5', values: [utcTime] }], signingCertificateV2: true } });
    const before = parseSignedData(author);
    const after = parseSignedData(made.signature);
    // The author's SignerInfo bytes (attributes and signature) are untouched.
    assert.deepEqual(after.signerHead.map((f) => f.raw.toString('hex')), before.signerHead.map((f) => f.raw.toString('hex')));
    assert.deepEqual(after.signature.raw, before.signature.raw);
    const authorCheck = await cmsVerify(made.signature, await readFile(authorCert, 'utf8'));
    assert.ok(authorCheck.ok, authorCheck.out);

    const [counter] = countersignatures(after);
    assert.ok(counter, 'one countersignature');
    const fields = children(readElement(counter).contents);
    const signedAttrs = fields.find((f) => f.tag === 0xa0)!;
    const attrs = children(signedAttrs.contents).map((a) => children(a.contents));
    assert.ok(!attrs.some(([type]) => type!.raw.equals(oidDer(CMS_OID.contentType))), 'no content-type in a countersignature');
    const digest = attrs.find(([type]) => type!.raw.equals(oidDer(CMS_OID.messageDigest)))![1]!;
    assert.deepEqual(children(digest.contents)[0]!.contents, createHash('sha256').update(before.signature.contents).digest());
    const message = Buffer.from(signedAttrs.raw);
    message[0] = 0x31;
    const value = fields.find((f) => f.tag === 0x04)!.contents;
    assert.ok(verify('sha256', message, new X509Certificate(keys.x509Leaf('rsa').certDer).publicKey, value), 'countersignature verifies with the org leaf');
    const certs = after.certificates.map((c) => c.raw.toString('hex'));
    for (const der of keys.x509Leaf('rsa').chainDer) assert.ok(certs.includes(der.toString('hex')), 'the org chain is added to the certificates');
  });

  test('the cache key moves when an X.509 leaf of either role rotates', async () => {
    const k1 = ledger.cacheKey(require, 'x');
    await keys.rotate('x509-rsa-unverified');
    const k2 = ledger.cacheKey(require, 'x');
    assert.notEqual(k2, k1);
    await keys.rotate('x509-ecdsa');
    assert.notEqual(ledger.cacheKey(require, 'x'), k2);
  });
});
