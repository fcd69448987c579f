/**
 * Importing the organisation's own keys: each kind in the formats operators have, and the
 * refusals (wrong type, weak size, wrong curve, mismatched certificate, not code-signing).
 * A refused import must leave the store exactly as it was.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { isMirrorError, type MirrorError } from '../../src/errors.js';
import { derToPem, issueCertificate, type CertificateProfile } from '../../src/keys/generate-x509.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import { KEY_KINDS, type KeyKind, type KeyStore } from '../../src/keys/types.js';

const run = promisify(execFile);

function pkcs8(key: KeyObject, passphrase?: string): string {
  return (passphrase ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) : key.export({ type: 'pkcs8', format: 'pem' })) as string;
}

async function certFor(key: KeyObject, profile: CertificateProfile, issuer?: { certDer: Buffer; privateKey: KeyObject }): Promise<Buffer> {
  return issueCertificate({ subjectKey: key, commonName: `test ${profile.type}`, organization: 'Acme', profile, validityYears: 2, ...(issuer ? { issuer } : {}) });
}

describe('key store: import', () => {
  let root: string;
  let store: KeyStore;
  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ownCaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let ownCa: Buffer;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-imp-'));
    store = await openKeyStore({ dir: join(root, 'keys'), options: { openpgp: 'ed25519' } });
    ownCa = await certFor(ownCaKey, { type: 'ca' });
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function refused(kind: KeyKind, material: string, pattern: RegExp, passphrase?: string): Promise<void> {
    const before = store.list();
    await assert.rejects(store.importKey(kind, material, passphrase ? { passphrase } : {}), (err: unknown) => {
      assert.ok(isMirrorError(err), String(err));
      assert.equal((err as MirrorError).code, 'KEY_ERROR');
      assert.match((err as MirrorError).message, pattern);
      assert.doesNotMatch((err as MirrorError).message, /BEGIN/);
      return true;
    });
    assert.deepEqual(store.list(), before, 'a refused import changes nothing');
  }

  it('imports an armored OpenPGP key unlocked with its own passphrase', async () => {
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Acme', email: 'sign@acme.test' }], passphrase: 'own', format: 'armored' });
    await refused('openpgp', privateKey, /wrong passphrase/, 'not-it');
    await refused('openpgp', privateKey, /encrypted and no passphrase/);
    const previous = store.openpgpSigner().id;
    const info = await store.importKey('openpgp', privateKey, { passphrase: 'own' });
    const fingerprint = (await openpgp.readKey({ armoredKey: privateKey })).getFingerprint().toUpperCase();
    assert.equal(info.id, fingerprint);
    assert.equal(info.status, 'active');
    assert.equal(store.list().find((k) => k.id === previous)?.status, 'retired');
    const data = Buffer.from('data');
    const signature = await openpgp.readSignature({ armoredSignature: await store.openpgpSigner().signDetached(data) });
    const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature, verificationKeys: await openpgp.readKeys({ armoredKeys: store.openpgpPublicArmored() }) });
    assert.equal(await result.signatures[0]!.verified, true);
    await refused('openpgp', privateKey, /already in the store/, 'own');
  });

  it('refuses weak or unusable OpenPGP keys', async () => {
    const weak = await openpgp.generateKey({ type: 'rsa', rsaBits: 1024, userIDs: [{ name: 'weak' }], format: 'armored', config: { minRSABits: 1024 } });
    await refused('openpgp', weak.privateKey, /at least 2048|2048/);
    await refused('openpgp', weak.publicKey, /Cannot read the OpenPGP private key/);
    await refused('openpgp', 'not a key', /Cannot read the OpenPGP private key/);
  });

  it('imports ECDSA keys as PKCS#8 or SEC1 on the cosign curves, and refuses others', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    await store.importKey('ecdsa', pkcs8(p384));
    assert.equal(store.ecdsaSigner().curve, 'P-384');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const sec1 = p256.export({ type: 'sec1', format: 'pem' }) as string;
    const info = await store.importKey('ecdsa', sec1);
    assert.equal(info.algorithm, 'ecdsa-p256');
    const data = Buffer.from('x');
    assert.ok(cryptoVerify('sha256', data, store.cosignPublicPem(), store.ecdsaSigner().sign(data)));
    await refused('ecdsa', pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), /curve .* is not allowed/);
    await refused('ecdsa', pkcs8(rsa2048), /expected a ec private key, got rsa/);
    await refused('ecdsa', store.cosignPublicPem(), /no PEM private key found/);
  });

  it('imports RSA keys (PKCS#1, encrypted PKCS#8) of 2048 bits or more for Alpine', async () => {
    const pkcs1 = rsa2048.export({ type: 'pkcs1', format: 'pem' }) as string;
    const info = await store.importKey('rsa', pkcs1);
    assert.equal(info.algorithm, 'rsa2048');
    assert.equal(store.rsaSigner().bits, 2048);
    assert.match(store.rsaPublic().fileName, /^countersign-[0-9a-f]{8}\.rsa\.pub$/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await refused('rsa', pkcs8(other, 'pw'), /wrong passphrase/, 'nope');
    await store.importKey('rsa', pkcs8(other, 'pw'), { passphrase: 'pw' });
    await refused('rsa', pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), /at least 2048 bits/);
  });

  it('imports Ed25519 keys and refuses other types', async () => {
    const ed = generateKeyPairSync('ed25519').privateKey;
    const info = await store.importKey('ed25519', pkcs8(ed));
    assert.equal(store.ed25519Signer().id, info.id);
    await refused('ed25519', pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey), /expected a ed25519 private key/);
  });

  it('imports an X.509 leaf with its chain and refuses mismatches', async () => {
    const issuer = { certDer: ownCa, privateKey: ownCaKey };
    const leafKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const leaf = await certFor(leafKey, { type: 'code-signing' }, issuer);
    await refused('x509-rsa', derToPem(leaf) + pkcs8(leafKey), /not issued by the active CA/);
    await refused('x509-rsa', derToPem(leaf) + derToPem(ownCa) + pkcs8(rsa2048), /does not match the certificate/);
    const tlsKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const tls = await certFor(tlsKey, { type: 'tls-server', hosts: ['example.test'] }, issuer);
    await refused('x509-rsa', derToPem(tls) + derToPem(ownCa) + pkcs8(tlsKey), /lacks codeSigning/);
    await refused('x509-rsa', derToPem(leaf) + derToPem(leaf) + pkcs8(leafKey), /is not issued by certificate 2/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    await refused('x509-ecdsa', derToPem(await certFor(p384, { type: 'code-signing' }, issuer)) + derToPem(ownCa) + pkcs8(p384), /not allowed here \(allowed: P-256\)/);

    const info = await store.importKey('x509-rsa', derToPem(leaf) + derToPem(ownCa) + pkcs8(leafKey));
    const signer = store.x509Leaf('rsa');
    assert.equal(signer.id, info.id);
    assert.equal(signer.chainDer.length, 2);
    assert.ok(cryptoVerify('sha256', Buffer.from('a'), new X509Certificate(signer.certDer).publicKey, signer.sign(Buffer.from('a'))));
  });

  it('imports a root CA, re-issues both leaves under it, then accepts a bare leaf it issued', async () => {
    const before = { rsa: store.x509Leaf('rsa').id, ecdsa: store.x509Leaf('ecdsa').id };
    await refused('x509-ca', derToPem(await certFor(rsa2048, { type: 'code-signing' }, { certDer: ownCa, privateKey: ownCaKey })) + pkcs8(rsa2048), /not mark it as a CA/);
    await refused('x509-ca', derToPem(ownCa) + pkcs8(rsa2048), /does not match/);
    await store.importKey('x509-ca', derToPem(ownCa) + pkcs8(ownCaKey));
    assert.equal(new X509Certificate(store.caPem()).fingerprint256, new X509Certificate(ownCa).fingerprint256);
    const work = await mkdtemp(join(root, 'v-'));
    await writeFile(join(work, 'ca.pem'), store.caPem());
    for (const type of ['rsa', 'ecdsa'] as const) {
      const leaf = store.x509Leaf(type);
      assert.notEqual(leaf.id, before[type]);
      await writeFile(join(work, `${type}.pem`), leaf.certPem);
      const { stdout } = await run('openssl', ['verify', '-CAfile', 'ca.pem', `${type}.pem`], { cwd: work });
      assert.match(stdout, /OK/);
    }
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const bare = await certFor(ecKey, { type: 'code-signing' }, { certDer: ownCa, privateKey: ownCaKey });
    await store.importKey('x509-ecdsa', derToPem(bare) + pkcs8(ecKey));
    assert.ok(store.x509Leaf('ecdsa').chainPem.endsWith(store.caPem()), 'the active CA completes the chain');
  });

  it('records imports in the manifest as imported and keeps files private', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'keys', 'manifest.json'), 'utf8')) as { keys: Array<{ source: string; status: string; kind: string }> };
    const active = manifest.keys.filter((k) => k.status === 'active');
    assert.equal(active.length, KEY_KINDS.length);
    assert.ok(manifest.keys.filter((k) => k.source === 'imported').length >= 7);
  });
});
