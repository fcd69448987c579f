/**
 * Issue 9, findings 5 and 7 (npm): where the upstream's keys are anchored, and which org key signs.
 * `verify: require` needs keys pinned in trust.keys or `anchor: first-use`; keys pinned on first use
 * refuse a changed set; keys taken from the upstream unpinned (warn) and versions that did not
 * verify are signed only by the separately published unverified key, which clients of a `require`
 * repository (npm's own pacote with its keys) refuse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { verifyPackagesWithPacote } from '../helpers/npm-client.js';
import type { NpmRegistryKey } from '../helpers/npm-keys.js';
import { refusal, servedDocuments, signedRole } from '../helpers/npm-served.js';

describe('npm: trust anchors and the org key that signs', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    registry.publish({ name: 'mix', version: '1.0.0' });
    registry.publish({ name: 'mix', version: '1.1.0', signature: 'none' });
    mirror = await startMirror({
      repositories: [
        { name: 'strict', format: 'npm', upstream: registry.url, verify: 'require', trust: { keys: registry.keysDocument } },
        { name: 'lenient', format: 'npm', upstream: registry.url, verify: 'warn', trust: { keys: registry.keysDocument } },
        { name: 'unpinned', format: 'npm', upstream: registry.url, verify: 'warn' },
      ],
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  const keysOf = async (repo: string): Promise<NpmRegistryKey[]> => ((await (await mirror.get(`/${repo}/-/npm/v1/keys`)).json()) as { keys: NpmRegistryKey[] }).keys;

  test('verify: require without trust.keys or anchor: first-use does not start, and says both', async () => {
    const config = { name: 'npm', format: 'npm', upstream: registry.url, verify: 'require' } as const;
    await assert.rejects(startMirror({ repositories: [config] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /Repository "npm"/);
      assert.match(err.message, /trust\.keys/);
      assert.match(err.message, /anchor: first-use/);
      return true;
    });
    // Positive control: the same repository with either anchor starts and serves.
    for (const extra of [{ anchor: 'first-use' as const }, { trust: { keys: registry.keysDocument } }]) {
      const m = await startMirror({ repositories: [{ ...config, ...extra }] });
      try {
        const { full } = await servedDocuments(m, 'npm', 'mix');
        assert.equal(signedRole(m, 'mix', '1.0.0', full.versions['1.0.0']!), 'primary', JSON.stringify(extra));
      } finally {
        await m.close();
        await removeDir(m.dataDir);
      }
    }
  });

  test('warn: a version that did not verify is signed by the unverified key only, the verified one by the primary key', async () => {
    const { full, abbreviated } = await servedDocuments(mirror, 'lenient', 'mix');
    assert.equal(signedRole(mirror, 'mix', '1.1.0', full.versions['1.1.0']!), 'unverified');
    assert.equal(signedRole(mirror, 'mix', '1.1.0', abbreviated.versions['1.1.0']!), 'unverified');
    assert.equal(signedRole(mirror, 'mix', '1.0.0', full.versions['1.0.0']!), 'primary');
    const unverifiedId = mirror.app.keys.ecdsaSigner('unverified').id;
    assert.ok((await keysOf('lenient')).some((k) => k.keyid === unverifiedId), 'a warn repository publishes the unverified key');
    assert.ok(!(await keysOf('strict')).some((k) => k.keyid === unverifiedId), 'a require repository does not');
  });

  test("npm's pacote with the primary key only refuses the unverified version and verifies the other", async () => {
    const strictKeys = await keysOf('strict');
    const verdicts = await verifyPackagesWithPacote(`${mirror.url}/lenient`, [{ name: 'mix', version: '1.0.0' }, { name: 'mix', version: '1.1.0' }], strictKeys);
    const by = new Map(verdicts.map((v) => [v.version, v]));
    assert.deepEqual([by.get('1.1.0')?.status, by.get('1.1.0')?.code], ['failed', 'EMISSINGSIGNATUREKEY'], by.get('1.1.0')?.message);
    assert.deepEqual([by.get('1.0.0')?.status, by.get('1.0.0')?.keyids], ['verified', [mirror.app.keys.ecdsaSigner().id]], by.get('1.0.0')?.message);
    // Clients of the warn repository itself (its own keys document) keep working.
    const own = await verifyPackagesWithPacote(`${mirror.url}/lenient`, [{ name: 'mix', version: '1.1.0' }]);
    assert.equal(own[0]?.status, 'verified', own[0]?.message);
  });

  test('warn without pinned keys: the upstream keys are used but anchor nothing, so even a valid signature earns only the unverified key', async () => {
    const { full } = await servedDocuments(mirror, 'unpinned', 'mix');
    assert.equal(signedRole(mirror, 'mix', '1.0.0', full.versions['1.0.0']!), 'unverified');
    assert.equal(mirror.app.store.index.getObject('unpinned', 'mix')?.verification.anchor, 'none');
    // Positive control: the same version under pinned keys is signed by the primary key, anchored 'pinned'.
    assert.equal(mirror.app.store.index.getObject('lenient', 'mix')?.verification.anchor, 'pinned');
  });

  test('anchor: first-use pins the first key set; a changed set is refused (TRUST_CHANGED) until accepted', async () => {
    const own = await startFixtureNpmRegistry();
    own.publish({ name: 'pkg', version: '1.0.0' });
    const dataDir = await makeDataDir();
    const repo = { name: 'npm', format: 'npm', upstream: own.url, verify: 'require', anchor: 'first-use' } as const;
    try {
      let m = await startMirror({ dataDir, repositories: [repo] });
      const first = await servedDocuments(m, 'npm', 'pkg');
      assert.equal(signedRole(m, 'pkg', '1.0.0', first.full.versions['1.0.0']!), 'primary');
      assert.equal(m.app.store.index.getObject('npm', 'pkg')?.verification.anchor, 'first-use');
      await m.close();

      // Positive control: the same keys after a restart are still trusted.
      m = await startMirror({ dataDir, repositories: [repo] });
      own.publish({ name: 'pkg2', version: '1.0.0' });
      const second = await servedDocuments(m, 'npm', 'pkg2');
      assert.equal(signedRole(m, 'pkg2', '1.0.0', second.full.versions['1.0.0']!), 'primary');
      await m.close();

      own.rekey();
      own.publish({ name: 'pkg3', version: '1.0.0' });
      m = await startMirror({ dataDir, repositories: [repo] });
      try {
        const r = await refusal(await m.get('/npm/pkg3'));
        assert.deepEqual([r.status, r.code], [502, 'TRUST_CHANGED'], r.error);
        assert.match(r.error, /npm-registry-keys changed since it was pinned on first use/);
        assert.match(r.error, /countersign trust accept npm npm-registry-keys/);
        // A revision of a cached package signed under the changed keys is refused as well: the copy
        // verified under the pinned keys stays served, marked stale.
        m.advanceClock(10 * 60_000);
        const kept = await m.get('/npm/pkg', { headers: { accept: 'application/json' } });
        assert.equal(kept.status, 200);
        assert.equal(kept.headers.get('x-countersign-stale'), 'verification-failed');
        const doc = (await kept.json()) as { versions: Record<string, never> };
        assert.equal(signedRole(m, 'pkg', '1.0.0', doc.versions['1.0.0']!), 'primary');
      } finally {
        await m.close();
      }
    } finally {
      await own.stop();
      await removeDir(dataDir);
    }
  });
});
