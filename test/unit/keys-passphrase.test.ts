/**
 * Keys encrypted at rest: with a passphrase no private file is readable without it, and a
 * wrong or missing passphrase stops start-up with a KEY_ERROR naming the file.
 */
import assert from 'node:assert/strict';
import { verify as cryptoVerify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { isMirrorError, type MirrorError } from '../../src/errors.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyStore } from '../../src/keys/types.js';

interface ManifestFile {
  keys: Array<{ id: string; kind: string; encrypted: boolean; files: { private: string; public: string } }>;
}

function keyError(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isMirrorError(err), `expected a MirrorError, got ${String(err)}`);
    assert.equal((err as MirrorError).code, 'KEY_ERROR');
    assert.match((err as MirrorError).message, pattern);
    assert.doesNotMatch((err as MirrorError).message, /BEGIN|PRIVATE KEY/);
    return true;
  };
}

describe('key store: passphrase', () => {
  const passphrase = 'correct horse battery staple';
  let root: string;
  let dir: string;
  let store: KeyStore;
  let manifest: ManifestFile;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-pw-'));
    dir = join(root, 'keys');
    store = await openKeyStore({ dir, passphrase, options: { openpgp: 'ed25519', ecdsaCurve: 'P-384' } });
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ManifestFile;
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('encrypts every private file', async () => {
    for (const key of manifest.keys) {
      assert.equal(key.encrypted, true);
      const body = await readFile(join(dir, key.files.private), 'utf8');
      if (key.kind.startsWith('openpgp')) {
        const pgp = await openpgp.readPrivateKey({ armoredKey: body });
        assert.equal(pgp.isDecrypted(), false, 'OpenPGP secret key packets are encrypted');
      } else {
        assert.match(body, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
        assert.doesNotMatch(body, /-----BEGIN (RSA |EC )?PRIVATE KEY-----/);
      }
    }
  });

  it('reopens with the passphrase and signs', async () => {
    const reopened = await openKeyStore({ dir, passphrase });
    assert.deepEqual(reopened.list(), store.list());
    const data = Buffer.from('hello');
    const ecdsa = reopened.ecdsaSigner();
    assert.equal(ecdsa.curve, 'P-384');
    assert.ok(cryptoVerify('sha256', data, reopened.cosignPublicPem(), ecdsa.sign(data)));
    const signature = await openpgp.readSignature({ armoredSignature: await reopened.openpgpSigner().signDetached(data) });
    const keys = await openpgp.readKeys({ armoredKeys: reopened.openpgpPublicArmored() });
    const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature, verificationKeys: keys });
    assert.equal(await result.signatures[0]!.verified, true);
  });

  it('refuses a wrong passphrase, naming the key file', async () => {
    const files = manifest.keys.map((k) => k.files.private.replace(/[.]/g, '\\.')).join('|');
    await assert.rejects(openKeyStore({ dir, passphrase: 'wrong' }), keyError(new RegExp(`${dir.replace(/[.]/g, '\\.')}/(${files}).*wrong passphrase`)));
  });

  it('refuses a missing passphrase, naming the key file', async () => {
    await assert.rejects(openKeyStore({ dir }), keyError(/is encrypted and no passphrase was given/));
    await assert.rejects(openKeyStore({ dir, passphrase: '' }), keyError(/is encrypted and no passphrase was given/));
  });

  it('keeps rotated keys encrypted too', async () => {
    const info = await store.rotate('ed25519');
    const after = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ManifestFile;
    const record = after.keys.find((k) => k.id === info.id)!;
    assert.equal(record.encrypted, true);
    assert.match(await readFile(join(dir, record.files.private), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  });

  it('warns when a passphrase is set but the keys on disk are plain', async () => {
    const plainDir = join(root, 'plain');
    await openKeyStore({ dir: plainDir, options: { openpgp: 'ed25519' } });
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
    await openKeyStore({ dir: plainDir, passphrase, logger });
    assert.ok(warnings.some((w) => /not encrypted at rest/.test(w)));
  });
});
