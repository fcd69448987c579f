/**
 * Revocation of a compromised key, as opposed to planned rotation: the key never signs again,
 * OpenPGP keyrings carry it with a revocation signature (checked with real gpg), the npm keys
 * document expires it at its creation, and every other publication drops it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { isMirrorError } from '../../src/errors.js';
import { orgKeysDocument } from '../../src/formats/npm/org-keys.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyKind, KeyStore, PublicKeyInfo } from '../../src/keys/types.js';

const run = promisify(execFile);
const FAST = { COUNTERSIGN_TEST_FAST_KEYS: '1' };
const PASSPHRASE = 'correct horse battery staple';

interface GpgResult {
  /** `gpg --list-keys --with-colons` pub lines: fingerprint-suffix → validity. */
  validity: Map<string, string>;
  status: string;
  exitCode: number;
}

/** Imports the published keyring into a fresh GNUPGHOME, lists it and verifies one signature. */
async function gpgCheck(keyring: string, data: Buffer, signature: string): Promise<GpgResult> {
  const home = await mkdtemp(join(tmpdir(), 'cs-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), keyring);
    await writeFile(join(home, 'data'), data);
    await writeFile(join(home, 'data.asc'), signature);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys.asc')]);
    const { stdout: listing } = await run('gpg', ['--homedir', home, '--batch', '--list-keys', '--with-colons']);
    const validity = new Map<string, string>();
    for (const line of listing.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') validity.set(f[4]!, f[1]!);
    }
    try {
      const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', join(home, 'data.asc'), join(home, 'data')]);
      return { validity, status: stdout, exitCode: 0 };
    } catch (err) {
      const e = err as { code?: number; stdout?: string };
      return { validity, status: e.stdout ?? '', exitCode: e.code ?? -1 };
    }
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

function info(store: KeyStore, id: string): PublicKeyInfo {
  const k = store.list().find((x) => x.id === id);
  assert.ok(k, `key ${id} is listed`);
  return k;
}

function active(store: KeyStore, kind: KeyKind): PublicKeyInfo {
  const k = store.list().find((x) => x.kind === kind && x.status === 'active');
  assert.ok(k, `an active ${kind} key`);
  return k;
}

const isKeyError = (pattern: RegExp) => (err: unknown) => isMirrorError(err) && err.code === 'KEY_ERROR' && pattern.test(err.message);

describe('key store: revocation', () => {
  let root: string;
  let dir: string;
  let store: KeyStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-revoke-'));
    dir = join(root, 'keys');
    store = await openKeyStore({ dir, passphrase: PASSPHRASE, options: { openpgp: 'ed25519', rsaKeyName: 'acme' }, env: FAST });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('OpenPGP: gpg sees the published key as revoked and reports its old signatures as by a revoked key', async () => {
    const data = Buffer.from('Release file signed before the compromise\n');
    const old = store.openpgpSigner();
    const oldSignature = await old.signDetached(data);
    // Positive control before revocation: the same signature is good.
    const before = await gpgCheck(store.publicFile('openpgp.asc')!.body, data, oldSignature);
    assert.match(before.status, /GOODSIG/);
    assert.equal(before.validity.get(old.id.slice(-16)), '-');

    const revoked = await store.revoke('openpgp', undefined, 'build host compromised');
    assert.equal(revoked.id, old.id);
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revocationReason, 'build host compromised');
    assert.ok(revoked.revokedAt);
    assert.equal(revoked.downloadUrl, '/-/keys/openpgp.asc', 'the keyring distributes the revocation');
    const replacement = store.openpgpSigner();
    assert.notEqual(replacement.id, old.id);
    assert.equal(active(store, 'openpgp').id, replacement.id);

    const keyring = store.publicFile('openpgp.asc')!.body;
    const after = await gpgCheck(keyring, data, oldSignature);
    assert.equal(after.validity.get(old.id.slice(-16)), 'r', 'gpg lists the old key as revoked');
    assert.notEqual(after.validity.get(replacement.id.slice(-16)), 'r');
    assert.match(after.status, new RegExp(`REVKEYSIG ${old.id.slice(-16)}`));
    assert.match(after.status, /KEYREVOKED/);
    assert.doesNotMatch(after.status, /GOODSIG/, 'never reported as a good signature (apt treats REVKEYSIG as invalid)');

    // Positive control: the replacement's signature verifies with the same keyring.
    const fresh = await gpgCheck(keyring, data, await replacement.signDetached(data));
    assert.match(fresh.status, new RegExp(`GOODSIG ${replacement.id.slice(-16)}`));
    assert.equal(fresh.exitCode, 0);
    assert.doesNotMatch(fresh.status, /REVKEYSIG|KEYREVOKED/);

    // openpgp.js also refuses the old signature with this keyring, and accepts the new one.
    const keys = await openpgp.readKeys({ armoredKeys: keyring });
    const verifies = async (armored: string) => {
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature: await openpgp.readSignature({ armoredSignature: armored }), verificationKeys: keys });
      return result.signatures[0]!.verified.then(() => true, () => false);
    };
    assert.equal(await verifies(oldSignature), false);
    assert.equal(await verifies(await replacement.signDetached(data)), true);
  });

  it('a revoked key never signs again, even through a signer handed out before', async () => {
    const oldSigner = store.ecdsaSigner();
    const oldPgp = store.openpgpSigner('unverified');
    assert.ok(oldSigner.sign(Buffer.from('before')).length > 0, 'positive control: it signs before revocation');
    await store.revoke('ecdsa', undefined, 'leaked');
    await store.revoke('openpgp-unverified');
    assert.throws(() => oldSigner.sign(Buffer.from('after')), isKeyError(/revoked/));
    await assert.rejects(oldPgp.signCleartext('after\n'), isKeyError(/revoked/));
    assert.notEqual(store.ecdsaSigner().id, oldSigner.id);
    assert.ok(store.ecdsaSigner().sign(Buffer.from('after')).length > 0, 'the replacement signs');
    assert.ok((await store.openpgpSigner('unverified').signCleartext('after\n')).includes('BEGIN PGP SIGNATURE'));
  });

  it('ECDSA: a revoked key is unpublished and expires at the Unix epoch in the npm keys document; a retired one at retirement', async () => {
    const retiredId = store.ecdsaSigner().id;
    await store.rotate('ecdsa');
    const revoked = store.list().find((k) => k.kind === 'ecdsa' && k.status === 'revoked')!;
    assert.equal(revoked.downloadUrl, undefined);
    const retired = info(store, retiredId);
    assert.equal(retired.status, 'retired');
    assert.equal(store.publicFile(retired.downloadUrl!.slice('/-/keys/'.length))?.body, store.exportPublic('ecdsa', retiredId), 'positive control: a retired key stays downloadable');
    const names = store.list().flatMap((k) => (k.downloadUrl ? [k.downloadUrl] : []));
    const revokedPem = store.exportPublic('ecdsa', revoked.id);
    for (const name of names) assert.notEqual(store.publicFile(name.slice('/-/keys/'.length))?.body, revokedPem, `${name} does not serve the revoked key`);

    const doc = JSON.parse(orgKeysDocument(store, { includeUnverified: false }).toString()) as { keys: Array<{ keyid: string; expires: string | null }> };
    const expires = Object.fromEntries(doc.keys.map((k) => [k.keyid, k.expires]));
    // Before every publish time: the mirror re-signs versions published long before the key existed.
    assert.equal(expires[revoked.id], '1970-01-01T00:00:00.000Z');
    assert.equal(expires[retiredId], retired.retiredAt);
    assert.equal(expires[store.ecdsaSigner().id], null);
  });

  it('Alpine RSA: a revoked key has no .rsa.pub any more; the replacement has one', async () => {
    const old = store.rsaPublic();
    assert.ok(store.publicFile(old.fileName));
    const revoked = await store.revoke('rsa');
    assert.equal(revoked.downloadUrl, undefined);
    assert.equal(store.publicFile(old.fileName), undefined);
    const now = store.rsaPublic();
    assert.notEqual(now.fileName, old.fileName);
    assert.equal(store.publicFile(now.fileName)?.body, now.pem);
  });

  it('X.509: revoking the CA drops it (and the leaves it issued) from the bundle and files, and re-issues the leaves', async () => {
    const oldCa = active(store, 'x509-ca');
    const oldLeaf = store.x509Leaf('rsa').id;
    const oldCaPem = store.caPem();
    assert.ok(store.caBundlePem().includes(oldCaPem));
    await store.revoke('x509-ca', undefined, 'CA key exposed');
    assert.equal(info(store, oldCa.id).status, 'revoked');
    assert.equal(info(store, oldCa.id).downloadUrl, undefined);
    assert.ok(!store.caBundlePem().includes(oldCaPem), 'not in the CA bundle');
    assert.equal(store.caBundlePem(), store.caPem(), 'positive control: the new CA is');
    assert.notEqual(store.x509Leaf('rsa').id, oldLeaf);
    assert.equal(info(store, oldLeaf).status, 'revoked', 'leaves of the revoked CA are revoked with it');
    assert.match(info(store, oldLeaf).revocationReason ?? '', /issuer CA/);
    assert.ok(store.x509Leaf('rsa').chainPem.endsWith(store.caPem()), 'the new leaf chains to the new CA');
    for (const k of store.list()) if (k.downloadUrl) assert.ok(!store.publicFile(k.downloadUrl.slice('/-/keys/'.length))!.body.includes(oldCaPem), k.downloadUrl);
  });

  it('revokes a retired OpenPGP key by id (its private file is read back, encrypted) without touching the active one', async () => {
    const retiredId = store.openpgpSigner('unverified').id;
    await store.rotate('openpgp-unverified');
    const activeId = store.openpgpSigner('unverified').id;
    const primaryKeyring = store.openpgpPublicArmored();
    await store.revoke('openpgp-unverified', retiredId, 'found on a paste site');
    assert.equal(store.openpgpSigner('unverified').id, activeId, 'no new key for a retired one');
    assert.equal(store.openpgpPublicArmored(), primaryKeyring, 'the primary keyring is unchanged');
    const keys = await openpgp.readKeys({ armoredKeys: store.publicFile('openpgp-unverified.asc')!.body });
    const byId = new Map(keys.map((k) => [k.getFingerprint().toUpperCase(), k]));
    assert.equal(await byId.get(retiredId)!.isRevoked(), true);
    assert.equal(await byId.get(activeId)!.isRevoked(), false);
  });

  it('refuses to revoke twice or an unknown id, and refuses a multi-line reason', async () => {
    const revoked = store.list().find((k) => k.kind === 'rsa' && k.status === 'revoked')!;
    await assert.rejects(store.revoke('rsa', revoked.id), isKeyError(/already revoked/));
    await assert.rejects(store.revoke('rsa', 'SHA256:nope'), isKeyError(/no rsa key with id/));
    await assert.rejects(store.revoke('ed25519', undefined, 'line one\nline two'), isKeyError(/one line/));
    const ed = store.ed25519Signer().id;
    assert.equal(info(store, ed).status, 'active', 'the refused revocation changed nothing');
    assert.equal((await store.revoke('ed25519', undefined, 'one line')).status, 'revoked', 'positive control');
  });

  it('survives reopening: revoked keys stay revoked, unpublished, and are never loaded to sign', async () => {
    const before = store.list();
    const reopened = await openKeyStore({ dir, passphrase: PASSPHRASE, env: FAST });
    assert.deepEqual(reopened.list(), before);
    assert.equal(reopened.openpgpPublicArmored(), store.openpgpPublicArmored());
    for (const k of before.filter((x) => x.status === 'revoked')) {
      if (!k.kind.startsWith('openpgp')) assert.equal(k.downloadUrl, undefined, k.kind);
    }
    const [revokedPgp] = before.filter((k) => k.kind === 'openpgp' && k.status === 'revoked');
    const keys = await openpgp.readKeys({ armoredKeys: reopened.openpgpPublicArmored() });
    assert.equal(await keys.find((k) => k.getFingerprint().toUpperCase() === revokedPgp!.id)!.isRevoked(), true);
    assert.notEqual(reopened.openpgpSigner().id, revokedPgp!.id);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { keys: Array<{ id: string; status: string; revokedAt?: string; revocationReason?: string }> };
    const record = manifest.keys.find((k) => k.id === revokedPgp!.id)!;
    assert.equal(record.status, 'revoked');
    assert.equal(record.revocationReason, 'build host compromised');
  });

  it('refuses to re-import a revoked key', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { keys: Array<{ kind: string; status: string; files: { private: string } }> };
    const revoked = manifest.keys.find((k) => k.kind === 'ecdsa' && k.status === 'revoked')!;
    const material = await readFile(join(dir, revoked.files.private), 'utf8');
    await assert.rejects(store.importKey('ecdsa', material, { passphrase: PASSPHRASE }), isKeyError(/already in the store \(revoked\)/));
    await assert.rejects(store.importKey('ecdsa-unverified', material, { passphrase: PASSPHRASE }), isKeyError(/already in the store \(revoked\)/));
  });

  it('a manifest naming a revoked key without revokedAt is refused', async () => {
    const copy = join(root, 'tampered');
    await run('cp', ['-r', dir, copy]);
    const file = join(copy, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { keys: Array<{ status: string; revokedAt?: string }> };
    // Positive control: the copy opens as it is.
    await openKeyStore({ dir: copy, passphrase: PASSPHRASE, env: FAST });
    delete manifest.keys.find((k) => k.status === 'revoked')!.revokedAt;
    await writeFile(file, JSON.stringify(manifest));
    await assert.rejects(openKeyStore({ dir: copy, passphrase: PASSPHRASE, env: FAST }), isKeyError(/revoked but has no revokedAt/));
  });
});
