/** The trust epoch moves with everything a verification depends on, and with nothing else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrustMaterial, trustEpoch, type TrustEpochInput } from '../../src/core/trust-epoch.js';

async function epoch(over: Partial<TrustEpochInput> = {}, files: Record<string, string> = { 'keyring.asc': 'key A' }): Promise<string> {
  const material = new TrustMaterial();
  const read = material.readingFiles(async (p) => Buffer.from(files[p] ?? ''));
  for (const name of Object.keys(files)) await read(name);
  return trustEpoch({ mode: 'require', anchor: 'pinned', upstream: 'https://upstream.example/base', trust: { keyring: 'keyring.asc' }, material, acceptedChanges: 0, ...over });
}

test('the same trust gives the same epoch; key order in the trust block does not matter', async () => {
  assert.equal(await epoch(), await epoch());
  assert.equal(
    await epoch({ trust: { a: 1, b: { c: 2, d: 3 } } }),
    await epoch({ trust: { b: { d: 3, c: 2 }, a: 1 } }),
  );
  // Credentials are how we log in, not whom we trust.
  assert.equal(await epoch({ upstream: 'https://user:secret@upstream.example/base' }), await epoch());
});

test('mode, anchor, upstream, trust block, trust file bytes and accepted first-use changes each move it', async () => {
  const base = await epoch();
  const changed = [
    await epoch({ mode: 'warn' }),
    await epoch({ anchor: 'first-use' }),
    await epoch({ upstream: 'https://other.example/base' }),
    await epoch({ trust: { keyring: 'keyring.asc', checksums: 'sha256' } }),
    await epoch({}, { 'keyring.asc': 'key A and key B' }),
    await epoch({ acceptedChanges: 1 }),
  ];
  for (const e of changed) assert.notEqual(e, base);
  assert.equal(new Set(changed).size, changed.length);
});
