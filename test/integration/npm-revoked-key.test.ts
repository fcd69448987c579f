/**
 * A revoked org ECDSA key is refused by npm's own verifier (pacote) for everything it signed, even
 * versions published long before the key existed (a mirror signs old versions with new keys): the
 * keys document gives it `expires` 1970-01-01, and npm compares `expires` with the publish time.
 * Positive controls: the same document verifies with the keys document from before the revocation,
 * and the mirror's re-signed document verifies with the keys document from after it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { verifyPackagesWithPacote } from '../helpers/npm-client.js';
import type { NpmRegistryKey } from '../helpers/npm-keys.js';

describe('npm: a revoked org key', () => {
  let registry: FixtureNpmRegistry;
  let replay: FixtureUpstream;
  let mirror: RunningMirror;

  before(async () => {
    [registry, replay] = await Promise.all([startFixtureNpmRegistry(), startFixtureUpstream()]);
    // Published years before any org key existed, as most of what a mirror serves is.
    registry.publish({ name: 'alpha', version: '1.0.0', time: '2015-06-01T00:00:00.000Z' });
    mirror = await startMirror({ repositories: [{ name: 'npm', format: 'npm', upstream: registry.url, anchor: 'first-use' }] });
  });
  after(async () => {
    await mirror?.close();
    await Promise.all([registry?.stop(), replay?.stop()]);
    if (mirror) await removeDir(mirror.dataDir);
  });

  const keysDoc = async (): Promise<NpmRegistryKey[]> => ((await (await mirror.get('/npm/-/npm/v1/keys')).json()) as { keys: NpmRegistryKey[] }).keys;
  const spec = [{ name: 'alpha', version: '1.0.0' }];

  test('everything it signed is refused by pacote; the re-signed document verifies with the new key', async () => {
    const signedBefore = Buffer.from(await (await mirror.get('/npm/alpha')).arrayBuffer());
    const keysBefore = await keysDoc();
    // A registry that replays the document the revoked key signed (a client's cache, a downstream mirror).
    replay.setFile('/alpha', signedBefore, { contentType: 'application/json' });
    const [before] = await verifyPackagesWithPacote(`${replay.url}/`, spec, keysBefore);
    assert.equal(before?.status, 'verified', `positive control before the revocation: ${JSON.stringify(before)}`);

    await mirror.app.keys.revoke('ecdsa', undefined, 'test: compromised');
    const keysAfter = await keysDoc();
    const [replayed] = await verifyPackagesWithPacote(`${replay.url}/`, spec, keysAfter);
    assert.equal(replayed?.status, 'failed', `the revoked key's signature must be refused: ${JSON.stringify(replayed)}`);

    const [resigned] = await verifyPackagesWithPacote(`${mirror.url}/npm/`, spec, keysAfter);
    assert.equal(resigned?.status, 'verified', `the mirror re-signs with the new key: ${JSON.stringify(resigned)}`);
  });
});
