/**
 * The key store as a worker opens it (`publicOnly`, listen.workers): the same public keys and key
 * ids as the primary's, so derived signatures and views stored by the primary are found under
 * the same signing-ledger keys; no private file is read (not even with the passphrase withheld:
 * the keys below are encrypted under one), and every signer refuses.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SigningLedger } from '../../src/core/signing-ledger.js';
import { isMirrorError } from '../../src/errors.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import type { KeyStore } from '../../src/keys/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { openStore, type Store } from '../../src/store/open-store.js';

describe('key store: public halves only (a worker)', () => {
  const passphrase = 'only the primary knows this';
  let root: string;
  let full: KeyStore;
  let publicOnly: KeyStore;
  let store: Store;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-public-'));
    const dir = join(root, 'keys');
    // Made under a passphrase: a worker that tried to read a private file would fail to start.
    full = await openKeyStore({ dir, passphrase, options: { openpgp: 'ed25519' }, env: { ...process.env, COUNTERSIGN_TEST_FAST_KEYS: '1' } });
    publicOnly = await openKeyStore({ dir, publicOnly: true, options: { openpgp: 'ed25519' } });
    store = await openStore(join(root, 'data'));
  });

  after(async () => {
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lists the same keys and active ids as the full store', () => {
    assert.deepEqual(publicOnly.list(), full.list());
    for (const kind of ['openpgp', 'ecdsa', 'rsa', 'x509-rsa', 'x509-ecdsa', 'openpgp-unverified'] as const) {
      assert.equal(publicOnly.activeKeyId(kind), full.activeKeyId(kind));
    }
    assert.equal(full.activeKeyId('openpgp'), full.openpgpSigner().id, 'the id a signer signs as');
    assert.equal(full.activeKeyId('x509-rsa'), full.x509Leaf('rsa').id);
  });

  it('gives the signing ledger the same cache keys, so a worker finds what the primary stored', () => {
    const trust = { repository: 'r', mode: 'require' as const, epoch: 'e1' };
    const a = new SigningLedger(full, store.index, createMetrics()).cacheKey(trust, 'x');
    const b = new SigningLedger(publicOnly, store.index, createMetrics()).cacheKey(trust, 'x');
    assert.equal(a, b);
    assert.notEqual(a, new SigningLedger(full, store.index, createMetrics()).cacheKey({ ...trust, epoch: 'e2' }, 'x'), 'control: the epoch changes it');
  });

  it('refuses to make any signer', () => {
    const refused = (fn: () => unknown): void => assert.throws(fn, (err: unknown) => isMirrorError(err) && err.code === 'KEY_ERROR');
    refused(() => publicOnly.openpgpSigner());
    refused(() => publicOnly.ecdsaSigner());
    refused(() => publicOnly.rsaSigner());
    refused(() => publicOnly.x509Leaf('rsa'));
    refused(() => publicOnly.openpgpSigner('unverified'));
    // Control: the full store signs.
    assert.ok(full.openpgpSigner().id);
  });

  it('generates nothing: a directory without keys gives a store without keys', async () => {
    const empty = join(root, 'empty-keys');
    const none = await openKeyStore({ dir: empty, publicOnly: true });
    assert.deepEqual(none.list(), []);
    assert.throws(() => none.activeKeyId('openpgp'), (err: unknown) => isMirrorError(err) && err.code === 'KEY_ERROR');
  });
});
