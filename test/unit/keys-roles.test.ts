/**
 * The unverified role: a second, separately published key set for content that was not
 * verified upstream. Its keys sign, are published under their own names, and never appear in
 * (or verify against) what a client of the primary keys trusts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { isMirrorError } from '../../src/errors.js';
import { orgKeysDocument } from '../../src/formats/npm/org-keys.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyRole, KeyStore } from '../../src/keys/types.js';

const run = promisify(execFile);
const FAST = { COUNTERSIGN_TEST_FAST_KEYS: '1' };

/** gpg --verify status output (gpg exits non-zero when it cannot verify: that is returned too). */
async function gpgVerify(keyring: string, data: Buffer, signature: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cs-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), keyring);
    await writeFile(join(home, 'data'), data);
    await writeFile(join(home, 'data.asc'), signature);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys.asc')]);
    try {
      const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', join(home, 'data.asc'), join(home, 'data')]);
      return stdout;
    } catch (err) {
      return `exit ${(err as { code?: number }).code}\n${(err as { stdout?: string }).stdout ?? ''}`;
    }
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

async function fingerprints(armored: string): Promise<string[]> {
  return (await openpgp.readKeys({ armoredKeys: armored })).map((k) => k.getFingerprint().toUpperCase());
}

function activeId(store: KeyStore, kind: string): string {
  const key = store.list().find((k) => k.kind === kind && k.status === 'active');
  assert.ok(key, `an active ${kind} key`);
  return key.id;
}

describe('key store: unverified role', () => {
  let root: string;
  let dir: string;
  let store: KeyStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-roles-'));
    dir = join(root, 'keys');
    store = await openKeyStore({ dir, options: { openpgp: 'ed25519', rsaKeyName: 'acme', identity: 'Acme Mirror <mirror@acme.test>' }, env: FAST });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('role picks a different active key for each signing kind; no role means primary', () => {
    assert.equal(store.openpgpSigner().id, activeId(store, 'openpgp'));
    assert.equal(store.openpgpSigner('primary').id, activeId(store, 'openpgp'));
    assert.equal(store.openpgpSigner('unverified').id, activeId(store, 'openpgp-unverified'));
    assert.equal(store.ecdsaSigner().id, activeId(store, 'ecdsa'));
    assert.equal(store.ecdsaSigner('unverified').id, activeId(store, 'ecdsa-unverified'));
    assert.equal(store.rsaSigner().id, activeId(store, 'rsa'));
    assert.equal(store.rsaSigner('unverified').id, activeId(store, 'rsa-unverified'));
    assert.notEqual(store.openpgpSigner('unverified').id, store.openpgpSigner().id);
    assert.notEqual(store.ecdsaSigner('unverified').id, store.ecdsaSigner().id);
    assert.notEqual(store.rsaSigner('unverified').id, store.rsaSigner().id);
    for (const k of store.list()) assert.equal(k.role, k.kind.endsWith('-unverified') ? 'unverified' : 'primary', k.kind);
    assert.deepEqual(store.list().filter((k) => k.role === 'unverified').map((k) => k.kind).sort(), ['ecdsa-unverified', 'openpgp-unverified', 'rsa-unverified', 'x509-ca-unverified', 'x509-ecdsa-unverified', 'x509-rsa-unverified']);
  });

  it('X.509 twins: unverified leaves are issued by a separate CA, published as ca-unverified.pem', async () => {
    const caPrimary = new X509Certificate(store.caPem());
    const caUnverified = new X509Certificate(store.caPem('unverified'));
    assert.notEqual(caUnverified.fingerprint256, caPrimary.fingerprint256);
    assert.match(caUnverified.subject, /unverified/);
    for (const type of ['rsa', 'ecdsa'] as const) {
      const leaf = new X509Certificate(store.x509Leaf(type, 'unverified').certDer);
      assert.equal(store.x509Leaf(type, 'unverified').role, 'unverified');
      assert.ok(leaf.checkIssued(caUnverified) && leaf.verify(caUnverified.publicKey), `${type}: issued by the unverified CA`);
      assert.ok(!leaf.verify(caPrimary.publicKey), `${type}: never by the primary CA`);
      assert.ok(store.x509Leaf(type, 'unverified').chainPem.endsWith(store.caPem('unverified')));
    }
    assert.equal(store.publicFile('ca-unverified.pem')?.body, store.caPem('unverified'));
    assert.equal(store.publicFile('ca.pem')?.body, store.caPem());
    assert.equal(store.caBundlePem('unverified'), store.caPem('unverified'));
  });

  it('rotating or revoking the unverified CA replaces only the unverified leaves', async () => {
    const primaryLeaves = [store.x509Leaf('rsa').id, store.x509Leaf('ecdsa').id];
    const before = store.x509Leaf('rsa', 'unverified').id;
    await store.rotate('x509-ca-unverified');
    assert.notEqual(store.x509Leaf('rsa', 'unverified').id, before);
    assert.ok(new X509Certificate(store.x509Leaf('ecdsa', 'unverified').certDer).checkIssued(new X509Certificate(store.caPem('unverified'))));
    const revokedCa = activeId(store, 'x509-ca-unverified');
    const leafBefore = store.x509Leaf('ecdsa', 'unverified').id;
    await store.revoke('x509-ca-unverified');
    assert.equal(store.list().find((k) => k.id === leafBefore)?.status, 'revoked');
    assert.notEqual(activeId(store, 'x509-ca-unverified'), revokedCa);
    assert.deepEqual([store.x509Leaf('rsa').id, store.x509Leaf('ecdsa').id], primaryLeaves, 'primary leaves are untouched');
  });

  it('refuses an unknown role instead of falling back to primary', () => {
    for (const call of [() => store.openpgpSigner('other' as KeyRole), () => store.cosignPublicPem('other' as KeyRole), () => store.openpgpPublicArmored('x' as KeyRole)]) {
      assert.throws(call, (err) => isMirrorError(err) && err.code === 'KEY_ERROR' && /Unknown key role/.test(err.message));
    }
  });

  it('keeps the OpenPGP keyrings apart: each holds only its own role', async () => {
    const primary = await fingerprints(store.openpgpPublicArmored());
    const unverified = await fingerprints(store.openpgpPublicArmored('unverified'));
    assert.deepEqual(primary, [activeId(store, 'openpgp')]);
    assert.deepEqual(unverified, [activeId(store, 'openpgp-unverified')]);
    assert.equal(store.publicFile('openpgp.asc')?.body, store.openpgpPublicArmored());
    assert.equal(store.publicFile('openpgp-unverified.asc')?.body, store.openpgpPublicArmored('unverified'));
    assert.equal(store.exportPublic('openpgp-unverified'), store.openpgpPublicArmored('unverified'));
    assert.equal(store.exportPublic('openpgp'), store.openpgpPublicArmored('primary'));
    // After rotating the unverified key both of its keys are in its keyring, still none in the primary one.
    await store.rotate('openpgp-unverified');
    assert.deepEqual(await fingerprints(store.openpgpPublicArmored()), primary);
    assert.equal((await fingerprints(store.openpgpPublicArmored('unverified'))).length, 2);
  });

  it('the unverified OpenPGP key says so in its user id', async () => {
    const [unverified] = await openpgp.readKeys({ armoredKeys: store.openpgpPublicArmored('unverified') });
    const [primary] = await openpgp.readKeys({ armoredKeys: store.openpgpPublicArmored() });
    assert.deepEqual(unverified!.getUserIDs(), ['Acme Mirror (unverified upstream content) <mirror@acme.test>']);
    assert.deepEqual(primary!.getUserIDs(), ['Acme Mirror <mirror@acme.test>']);
  });

  it('gpg: an unverified signature does not verify against the primary keyring, only its own', async () => {
    const data = Buffer.from('Origin: unverified upstream\n');
    const signature = await store.openpgpSigner('unverified').signDetached(data);
    const againstPrimary = await gpgVerify(store.openpgpPublicArmored(), data, signature);
    assert.doesNotMatch(againstPrimary, /GOODSIG|VALIDSIG/);
    assert.match(againstPrimary, /NO_PUBKEY|ERRSIG/);
    const againstOwn = await gpgVerify(store.openpgpPublicArmored('unverified'), data, signature);
    assert.match(againstOwn, new RegExp(`VALIDSIG ${store.openpgpSigner('unverified').id}`));
  });

  it('publishes the unverified ECDSA and Alpine keys under names of their own', () => {
    const pem = store.cosignPublicPem('unverified');
    assert.notEqual(pem, store.cosignPublicPem());
    assert.equal(store.publicFile('cosign-unverified.pub')?.body, pem);
    assert.equal(store.publicFile('cosign.pub')?.body, store.cosignPublicPem());
    const info = store.list().find((k) => k.kind === 'ecdsa-unverified' && k.status === 'active')!;
    assert.equal(info.downloadUrl, '/-/keys/cosign-unverified.pub');
    const data = Buffer.from('payload');
    assert.ok(cryptoVerify('sha256', data, pem, store.ecdsaSigner('unverified').sign(data)));
    assert.ok(!cryptoVerify('sha256', data, store.cosignPublicPem(), store.ecdsaSigner('unverified').sign(data)), 'the primary key does not verify it');

    const rsa = store.rsaPublic('unverified');
    assert.equal(store.rsaPublic().fileName, 'acme.rsa.pub');
    assert.match(rsa.fileName, /^acme-unverified-[0-9a-f]{8}\.rsa\.pub$/);
    assert.equal(store.rsaSigner('unverified').fileName, rsa.fileName);
    assert.equal(store.publicFile(rsa.fileName)?.body, rsa.pem);
    assert.ok(cryptoVerify('sha1', data, rsa.pem, store.rsaSigner('unverified').sign(data, 'sha1')));
  });

  it('rotating an unverified kind leaves the primary one alone, and keeps Alpine names distinct', async () => {
    const before = { rsa: store.rsaSigner().id, name: store.rsaPublic('unverified').fileName };
    const info = await store.rotate('rsa-unverified');
    assert.equal(store.rsaSigner('unverified').id, info.id);
    assert.equal(store.rsaSigner().id, before.rsa);
    assert.notEqual(store.rsaPublic('unverified').fileName, before.name);
    assert.ok(store.publicFile(before.name), 'the retired unverified Alpine key stays published');
  });

  it('imports a key as unverified; the same key can then not also become primary', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const primaryBefore = store.ecdsaSigner().id;
    const info = await store.importKey('ecdsa-unverified', pem);
    assert.equal(info.role, 'unverified');
    assert.equal(store.ecdsaSigner('unverified').id, info.id);
    assert.equal(store.ecdsaSigner().id, primaryBefore);
    await assert.rejects(store.importKey('ecdsa', pem), (err) => isMirrorError(err) && /already in the store/.test(err.message));
    assert.equal(store.ecdsaSigner().id, primaryBefore);
  });

  it('npm keys document: require repositories list only primary keys, warn/off ones both roles', () => {
    const doc = (includeUnverified: boolean) => (JSON.parse(orgKeysDocument(store, { includeUnverified }).toString()) as { keys: Array<{ keyid: string; expires: string | null }> }).keys.map((k) => k.keyid);
    const primary = store.list().filter((k) => k.kind === 'ecdsa').map((k) => k.id);
    const unverified = store.list().filter((k) => k.kind === 'ecdsa-unverified').map((k) => k.id);
    assert.ok(unverified.length >= 2);
    assert.deepEqual(doc(false), primary);
    assert.deepEqual(doc(true), [...primary, ...unverified]);
  });

  it('loads a manifest written before roles existed and adds the unverified kinds', async () => {
    const oldDir = join(root, 'old-keys');
    const old = await openKeyStore({ dir: oldDir, options: { openpgp: 'ed25519' }, env: FAST });
    const file = join(oldDir, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { keys: Array<{ kind: string; id: string }> };
    manifest.keys = manifest.keys.filter((k) => !k.kind.endsWith('-unverified'));
    await writeFile(file, JSON.stringify(manifest));
    const kept = manifest.keys.map((k) => `${k.kind} ${k.id}`).sort();
    assert.equal(kept.length, 7);
    const reopened = await openKeyStore({ dir: oldDir, options: { openpgp: 'ed25519' }, env: FAST });
    const now = reopened.list();
    for (const line of kept) assert.ok(now.some((k) => `${k.kind} ${k.id}` === line), `${line} is kept`);
    assert.equal(now.length, 13);
    assert.notEqual(reopened.openpgpSigner('unverified').id, old.openpgpSigner('unverified').id, 'a fresh unverified key was made');
  });
});
