/**
 * Rotation: the new key signs, the old one stays published (so what it signed keeps
 * verifying), X.509 rotation keeps chains valid, and a rotation cut short before the
 * manifest is written leaves the previous store intact.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyKind, KeyStore, PublicKeyInfo } from '../../src/keys/types.js';

const run = promisify(execFile);

async function gpgVerify(keyring: string, data: Buffer, signature: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cs-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), keyring);
    await writeFile(join(home, 'data'), data);
    await writeFile(join(home, 'data.asc'), signature);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys.asc')]);
    const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', join(home, 'data.asc'), join(home, 'data')]);
    return stdout;
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

async function opensslVerify(dir: string, caPem: string, leafPem: string): Promise<string> {
  await writeFile(join(dir, 'ca.pem'), caPem);
  await writeFile(join(dir, 'leaf.pem'), leafPem);
  const { stdout } = await run('openssl', ['verify', '-CAfile', 'ca.pem', 'leaf.pem'], { cwd: dir });
  return stdout;
}

function ofKind(store: KeyStore, kind: KeyKind): PublicKeyInfo[] {
  return store.list().filter((k) => k.kind === kind);
}

describe('key store: rotation', () => {
  let root: string;
  let dir: string;
  let store: KeyStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-rot-'));
    dir = join(root, 'keys');
    store = await openKeyStore({ dir, options: { openpgp: 'ed25519', rsaKeyName: 'acme' } });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('OpenPGP: old signatures verify with the published keyring (openpgp.js and gpg)', async () => {
    const data = Buffer.from('Release file body\n');
    const old = store.openpgpSigner();
    const oldSignature = await old.signDetached(data);
    const info = await store.rotate('openpgp');
    const signer = store.openpgpSigner();
    assert.equal(signer.id, info.id);
    assert.notEqual(signer.id, old.id);
    const [active, retired] = ofKind(store, 'openpgp');
    assert.equal(active!.id, info.id);
    assert.equal(active!.status, 'active');
    assert.equal(retired!.id, old.id);
    assert.equal(retired!.status, 'retired');
    assert.ok(retired!.retiredAt);

    const keyring = store.openpgpPublicArmored();
    assert.equal((keyring.match(/BEGIN PGP PUBLIC KEY BLOCK/g) ?? []).length, 1, 'one armored block');
    const keys = await openpgp.readKeys({ armoredKeys: keyring });
    assert.deepEqual(keys.map((k) => k.getFingerprint().toUpperCase()), [info.id, old.id], 'active first');
    const newSignature = await signer.signDetached(data);
    for (const [armored, id] of [[oldSignature, old.id], [newSignature, info.id]] as const) {
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature: await openpgp.readSignature({ armoredSignature: armored }), verificationKeys: keys });
      assert.equal(await result.signatures[0]!.verified, true);
      assert.match(await gpgVerify(keyring, data, armored), new RegExp(`VALIDSIG ${id}`));
    }
  });

  it('ECDSA, RSA and Ed25519: the retired public key stays downloadable and verifies old signatures', async () => {
    const data = Buffer.from('pkg@1.0.0:sha512-xyz');
    const oldEcdsa = store.ecdsaSigner();
    const oldEcdsaSig = oldEcdsa.sign(data);
    const oldRsa = store.rsaSigner();
    const oldRsaSig = oldRsa.sign(data, 'sha1');
    assert.equal(oldRsa.keyName, 'acme', 'the configured name is used first');
    const oldEd = store.ed25519Signer();
    const oldEdSig = oldEd.sign(data);
    for (const kind of ['ecdsa', 'rsa', 'ed25519'] as const) await store.rotate(kind);

    const retiredEcdsa = ofKind(store, 'ecdsa').find((k) => k.id === oldEcdsa.id)!;
    assert.equal(retiredEcdsa.status, 'retired');
    assert.ok(retiredEcdsa.downloadUrl, 'a retired key stays downloadable');
    const retiredPem = store.publicFile(retiredEcdsa.downloadUrl.replace('/-/keys/', ''))!.body;
    assert.ok(cryptoVerify('sha256', data, retiredPem, oldEcdsaSig));
    assert.ok(cryptoVerify('sha256', data, store.exportPublic('ecdsa', oldEcdsa.id), oldEcdsaSig));
    assert.notEqual(store.ecdsaSigner().id, oldEcdsa.id);
    assert.notEqual(store.cosignPublicPem(), retiredPem);

    const newRsa = store.rsaSigner();
    assert.match(newRsa.keyName, /^acme-[0-9a-f]{8}$/, 'a rotated Alpine key gets a name of its own');
    assert.equal(store.rsaPublic().fileName, `${newRsa.keyName}.rsa.pub`);
    assert.ok(cryptoVerify('sha1', data, store.publicFile('acme.rsa.pub')!.body, oldRsaSig));

    assert.ok(cryptoVerify(null, data, store.exportPublic('ed25519', oldEd.id), oldEdSig));
  });

  it('X.509 leaf rotation issues a new leaf from the same CA', async () => {
    const old = store.x509Leaf('ecdsa');
    await store.rotate('x509-ecdsa');
    const leaf = store.x509Leaf('ecdsa');
    assert.notEqual(leaf.id, old.id);
    assert.match(await opensslVerify(await mkdtemp(join(root, 'v-')), store.caPem(), leaf.certPem), /leaf.pem: OK/);
    assert.equal(ofKind(store, 'x509-ca').length, 1);
    assert.equal(ofKind(store, 'x509-ecdsa').filter((k) => k.status === 'retired').length, 1);
  });

  it('CA rotation re-issues both leaves; old leaves still chain to the retired CA', async () => {
    const oldCa = store.caPem();
    const oldLeaves = { rsa: store.x509Leaf('rsa'), ecdsa: store.x509Leaf('ecdsa') };
    const info = await store.rotate('x509-ca');
    assert.equal(info.kind, 'x509-ca');
    assert.notEqual(store.caPem(), oldCa);
    assert.equal(store.caBundlePem(), store.caPem() + oldCa, 'bundle: active CA first');
    const work = await mkdtemp(join(root, 'v-'));
    for (const type of ['rsa', 'ecdsa'] as const) {
      const leaf = store.x509Leaf(type);
      assert.notEqual(leaf.id, oldLeaves[type].id);
      assert.ok(leaf.chainPem.endsWith(store.caPem()));
      assert.match(await opensslVerify(work, store.caPem(), leaf.certPem), /OK/);
      assert.match(await opensslVerify(work, store.caBundlePem(), oldLeaves[type].certPem), /OK/);
      assert.ok(new X509Certificate(oldLeaves[type].certDer).checkIssued(new X509Certificate(oldCa)));
    }
  });

  it('survives reopening: same keys, same statuses', async () => {
    const reopened = await openKeyStore({ dir, options: { openpgp: 'ed25519', rsaKeyName: 'acme' } });
    assert.deepEqual(reopened.list(), store.list());
    assert.equal(reopened.openpgpPublicArmored(), store.openpgpPublicArmored());
  });

  it('serialises concurrent rotations', async () => {
    const before = ofKind(store, 'ed25519').length;
    await Promise.all([store.rotate('ed25519'), store.rotate('ed25519'), store.rotate('ed25519')]);
    const keys = ofKind(store, 'ed25519');
    assert.equal(keys.length, before + 3);
    assert.equal(keys.filter((k) => k.status === 'active').length, 1);
  });

  it('a rotation cut short before the manifest is written leaves the old store working', async () => {
    const snapshot = join(root, 'snapshot');
    await cp(dir, snapshot, { recursive: true });
    const manifestBefore = await readFile(join(snapshot, 'manifest.json'));
    const crashed = await openKeyStore({ dir: snapshot });
    await crashed.rotate('ecdsa');
    // Simulate the crash: new key files are on disk, the manifest rename never happened.
    await writeFile(join(snapshot, 'manifest.json'), manifestBefore);
    await writeFile(join(snapshot, '.manifest.json.abcdef.tmp'), '{"half":');
    const recovered = await openKeyStore({ dir: snapshot });
    assert.deepEqual(recovered.list(), store.list());
    assert.ok((await readdir(snapshot)).length > (await readdir(dir)).length, 'orphans are left alone, not loaded');
  });
});
