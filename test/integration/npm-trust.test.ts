/**
 * Issue 9, finding 1 (npm): what an npm repository serves follows the trust configured today.
 * Each test fetches under one trust, restarts the mirror on the same data directory under
 * another, and checks that what no longer verifies is gone from every document and its tarball
 * refused, while what still verifies is served and signed by the primary org key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { refusal, servedDocuments, signedRole } from '../helpers/npm-served.js';

const started: RunningMirror[] = [];
async function mirrorOn(dataDir: string, repo: Record<string, unknown>): Promise<RunningMirror> {
  const m = await startMirror({ dataDir, repositories: [{ name: 'npm', format: 'npm', metadataTtl: '5m', retries: 0, ...repo } as never] });
  started.push(m);
  return m;
}
async function closeAll(): Promise<void> {
  while (started.length > 0) await started.pop()!.close();
}

describe('npm: a change of trust re-verifies what the mirror serves', () => {
  let registry: FixtureNpmRegistry;
  let other: FixtureNpmRegistry;
  const dirs: string[] = [];

  before(async () => {
    registry = await startFixtureNpmRegistry();
    registry.publish({ name: 'mix', version: '1.0.0' });
    registry.publish({ name: 'mix', version: '2.0.0', signature: 'none' });
    registry.publish({ name: 'duo', version: '1.0.0' });
    // Signed by the registry's second key, under that key's own id: valid while that key is trusted.
    registry.publish({ name: 'duo', version: '1.1.0', signature: 'unknown-key' });
    registry.publish({ name: 'moved', version: '1.0.0' });
    other = await startFixtureNpmRegistry();
    other.publish({ name: 'moved', version: '1.0.0' });
    other.publish({ name: 'moved', version: '6.6.6' });
    other.publish({ name: 'elsewhere', version: '1.0.0' });
  });
  after(async () => {
    await closeAll();
    await registry?.stop();
    await other?.stop();
    await Promise.all(dirs.map((d) => removeDir(d)));
  });
  const dataDir = async (): Promise<string> => {
    const d = await makeDataDir();
    dirs.push(d);
    return d;
  };

  test('warn → require: an unsigned version is gone from every document and latest, its tarball refused', async () => {
    const dir = await dataDir();
    const trust = { keys: registry.keysDocument };
    const warn = await mirrorOn(dir, { upstream: registry.url, verify: 'warn', trust });
    const lenient = await servedDocuments(warn, 'npm', 'mix');
    assert.deepEqual(Object.keys(lenient.full.versions).sort(), ['1.0.0', '2.0.0'], 'warn serves the unsigned version');
    assert.equal(lenient.distTags.latest, '2.0.0');
    const cachedTarball = await warn.get('/npm/mix/-/mix-2.0.0.tgz');
    assert.equal(cachedTarball.status, 200, 'warn serves its tarball (and caches it)');
    await cachedTarball.arrayBuffer();
    await closeAll();

    const strict = await mirrorOn(dir, { upstream: registry.url, verify: 'require', trust });
    const { full, abbreviated, distTags } = await servedDocuments(strict, 'npm', 'mix');
    assert.deepEqual(Object.keys(full.versions), ['1.0.0'], 'full document');
    assert.deepEqual(Object.keys(abbreviated.versions), ['1.0.0'], 'abbreviated document');
    assert.deepEqual(distTags, { latest: '1.0.0' }, 'dist-tags');
    assert.deepEqual(full['dist-tags'], { latest: '1.0.0' });
    assert.deepEqual(abbreviated['dist-tags'], { latest: '1.0.0' });
    assert.equal((await strict.get('/npm/mix/2.0.0')).status, 404, 'the version document');
    const latest = (await (await strict.get('/npm/mix/latest')).json()) as { version: string };
    assert.equal(latest.version, '1.0.0');
    const tarball = await refusal(await strict.get('/npm/mix/-/mix-2.0.0.tgz'));
    assert.equal(tarball.status, 502, `the cached tarball of the unsigned version is refused: ${tarball.error}`);
    // Positive control: the signed version is served, signed by the primary org key.
    assert.equal(signedRole(strict, 'mix', '1.0.0', full.versions['1.0.0']!), 'primary');
    assert.equal(signedRole(strict, 'mix', '1.0.0', abbreviated.versions['1.0.0']!), 'primary');
    const ok = await strict.get('/npm/mix/-/mix-1.0.0.tgz');
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    await closeAll();
  });

  test('a key removed from trust.keys: the versions only it signed disappear', async () => {
    const dir = await dataDir();
    const both = { keys: { keys: [registry.key.entry(), registry.wrongKey.entry()] } };
    const before = await mirrorOn(dir, { upstream: registry.url, verify: 'require', trust: both });
    const served = await servedDocuments(before, 'npm', 'duo');
    assert.deepEqual(Object.keys(served.full.versions).sort(), ['1.0.0', '1.1.0']);
    assert.equal(signedRole(before, 'duo', '1.1.0', served.full.versions['1.1.0']!), 'primary');
    const cached = await before.get('/npm/duo/-/duo-1.1.0.tgz');
    assert.equal(cached.status, 200);
    await cached.arrayBuffer();
    await closeAll();

    const after = await mirrorOn(dir, { upstream: registry.url, verify: 'require', trust: { keys: registry.keysDocument } });
    const { full, abbreviated, distTags } = await servedDocuments(after, 'npm', 'duo');
    assert.deepEqual(Object.keys(full.versions), ['1.0.0']);
    assert.deepEqual(Object.keys(abbreviated.versions), ['1.0.0']);
    assert.deepEqual(distTags, { latest: '1.0.0' });
    assert.equal((await after.get('/npm/duo/1.1.0')).status, 404);
    assert.equal((await refusal(await after.get('/npm/duo/-/duo-1.1.0.tgz'))).status, 502);
    assert.equal(signedRole(after, 'duo', '1.0.0', full.versions['1.0.0']!), 'primary', 'positive control');
    await closeAll();
  });

  test('another upstream under the same repository name: its keys are not the ones pinned on first use', async () => {
    const dir = await dataDir();
    const first = await mirrorOn(dir, { upstream: registry.url, verify: 'require', anchor: 'first-use' });
    const served = await servedDocuments(first, 'npm', 'moved');
    assert.equal(signedRole(first, 'moved', '1.0.0', served.full.versions['1.0.0']!), 'primary');
    await closeAll();

    const moved = await mirrorOn(dir, { upstream: other.url, verify: 'require', anchor: 'first-use' });
    const fresh = await refusal(await moved.get('/npm/elsewhere'));
    assert.deepEqual([fresh.status, fresh.code], [502, 'TRUST_CHANGED'], fresh.error);
    assert.match(fresh.error, /npm-registry-keys changed since it was pinned/);
    // The copy cached from the first upstream may still verify under the keys pinned for this
    // repository, if the core re-verifies it with the keys kept beside it (signature-material.ts);
    // otherwise it is refused too. Either way nothing from the new upstream is served.
    moved.advanceClock(10 * 60_000);
    const kept = await moved.get('/npm/moved', { headers: { accept: 'application/json' } });
    if (kept.status === 200) {
      assert.ok(kept.headers.get('x-countersign-stale'), 'served stale: the new upstream\'s revision did not verify');
      const doc = (await kept.json()) as { versions: Record<string, never> };
      assert.deepEqual(Object.keys(doc.versions), ['1.0.0'], 'nothing the new upstream serves (6.6.6)');
    } else {
      const refused = await refusal(kept);
      assert.deepEqual([refused.status, refused.code], [502, 'TRUST_CHANGED'], refused.error);
    }
    assert.notEqual((await moved.get('/npm/moved/6.6.6')).status, 200);
    assert.equal((await moved.get('/npm/moved/-/moved-6.6.6.tgz')).status, 502);
    await closeAll();

    // Positive control: back on the upstream whose keys were pinned, new packages are served again.
    const back = await mirrorOn(dir, { upstream: registry.url, verify: 'require', anchor: 'first-use' });
    const again = await servedDocuments(back, 'npm', 'mix');
    assert.equal(signedRole(back, 'mix', '1.0.0', again.full.versions['1.0.0']!), 'primary');
    await closeAll();
  });
});
