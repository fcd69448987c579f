/**
 * The signing ledger decides which org key may sign from the verification record and today's
 * trust: primary only for verified-under-today's-epoch with a pinned or first-use anchor, the
 * unverified key for everything else under warn/off, and nothing under require.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SigningLedger, type RepositoryTrust } from '../../src/core/signing-ledger.js';
import { isMirrorError } from '../../src/errors.js';
import type { VerificationRecord } from '../../src/formats/types.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyStore } from '../../src/keys/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { makeDataDir, removeDir } from '../helpers/mirror-harness.js';

describe('signing ledger', () => {
  let dataDir: string;
  let store: Store;
  let keys: KeyStore;
  let ledger: SigningLedger;
  const require: RepositoryTrust = { repository: 'r', mode: 'require', epoch: 'e1' };
  const warn: RepositoryTrust = { repository: 'r', mode: 'warn', epoch: 'e1' };
  const verified: VerificationRecord = { status: 'verified', by: ['openpgp:X'], at: 0, mode: 'require', epoch: 'e1', anchor: 'pinned' };
  const refusedBy = (code: string) => (err: unknown) => isMirrorError(err) && err.code === code;

  before(async () => {
    dataDir = await makeDataDir();
    store = await openStore(dataDir);
    keys = await openKeyStore({ dir: join(dataDir, 'keys') });
    ledger = new SigningLedger(keys, store.index, createMetrics());
  });
  after(async () => {
    await store.close();
    await removeDir(dataDir);
  });

  test('verified under today\'s epoch: the primary key signs, and the signature is logged', async () => {
    const made = await ledger.sign(require, verified, { scheme: 'ecdsa', object: 'a@1.0.0', data: 'a@1.0.0:sha512-x' });
    assert.equal(made.role, 'primary');
    assert.equal(made.keyId, keys.ecdsaSigner('primary').id);
    assert.ok(verify('sha256', Buffer.from('a@1.0.0:sha512-x'), createPublicKey(keys.cosignPublicPem('primary')), made.signature));
    assert.equal(store.index.signatureLog(1)[0]?.object, 'a@1.0.0');
  });

  test('a record from another epoch is refused whatever it says', async () => {
    await assert.rejects(ledger.sign(require, { ...verified, epoch: 'e0' }, { scheme: 'ecdsa', object: 'a', data: 'x' }), refusedBy('SIGNING_REFUSED'));
    await assert.rejects(ledger.sign(warn, { ...verified, epoch: undefined }, { scheme: 'ecdsa', object: 'a', data: 'x' }), refusedBy('SIGNING_REFUSED'));
  });

  test('under require, unverified bytes, a refused part and an unanchored verification are never signed', async () => {
    const unverified: VerificationRecord = { ...verified, status: 'unverified', anchor: 'none', reason: 'no signature' };
    await assert.rejects(ledger.sign(require, unverified, { scheme: 'openpgp-detached', object: 'f', data: 'x' }), refusedBy('SIGNING_REFUSED'));
    const partly: VerificationRecord = { ...verified, rejected: [{ item: '2.0.0', reason: 'bad signature' }] };
    await assert.rejects(ledger.sign(require, partly, { scheme: 'ecdsa', object: 'a@2.0.0', data: 'x', item: '2.0.0' }), refusedBy('SIGNING_REFUSED'));
    assert.equal((await ledger.sign(require, partly, { scheme: 'ecdsa', object: 'a@1.0.0', data: 'y', item: '1.0.0' })).role, 'primary');
    await assert.rejects(ledger.sign(require, { ...verified, anchor: 'none' }, { scheme: 'ecdsa', object: 'm', data: 'x' }), refusedBy('SIGNING_REFUSED'));
  });

  test('under warn, what did not verify is signed by the unverified key, never the primary one', async () => {
    const unverified: VerificationRecord = { ...verified, mode: 'warn', status: 'unverified', anchor: 'none' };
    const made = await ledger.sign(warn, unverified, { scheme: 'rsa-sha256', object: 'APKINDEX.tar.gz', data: Buffer.from('x') });
    assert.equal(made.role, 'unverified');
    assert.equal(made.keyId, keys.rsaSigner('unverified').id);
    assert.notEqual(made.keyId, keys.rsaSigner('primary').id);
    assert.equal(made.keyFileName, keys.rsaSigner('unverified').fileName);
    const unanchored = await ledger.sign(warn, { ...verified, mode: 'warn', anchor: 'none' }, { scheme: 'openpgp-cleartext', object: 'InRelease', data: 'Origin: x\n' });
    assert.equal(unanchored.role, 'unverified');
    assert.equal(unanchored.keyId, keys.openpgpSigner('unverified').id);
    assert.equal((await ledger.sign(warn, { ...verified, mode: 'warn' }, { scheme: 'openpgp-binary', object: 'p.rpm', data: Buffer.from('h') })).role, 'primary');
  });

  test('the cache key moves with the epoch and with the signing keys', async () => {
    const k1 = ledger.cacheKey(require, 'x');
    assert.equal(ledger.cacheKey(require, 'x'), k1);
    assert.notEqual(ledger.cacheKey({ ...require, epoch: 'e2' }, 'x'), k1);
    await keys.rotate('ecdsa-unverified');
    assert.notEqual(ledger.cacheKey(require, 'x'), k1);
  });
});
