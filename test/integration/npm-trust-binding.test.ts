/**
 * Issue 9, findings 4 and 6 (npm): an upstream signature holds only for the document it sits in
 * (a signature for `foo@1.0.0` replayed into `bar`, a version whose `name` is not the packument's,
 * vouch for nothing), and an older packument than the one served is refused (rollback).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { verifyPackagesWithPacote } from '../helpers/npm-client.js';
import { refusal, servedDocuments, signedRole } from '../helpers/npm-served.js';

const TTL_MS = 60_000;
type Doc = { versions: Record<string, Record<string, unknown> & { dist: Record<string, unknown> }>; time: Record<string, string>; 'dist-tags': Record<string, string> };

describe('npm: signatures bound to their document, and no rollback', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    const foo = registry.publish({ name: 'foo', version: '1.0.0', files: { 'index.js': 'module.exports = "foo, not bar";\n' } });
    registry.publish({ name: 'bar', version: '1.0.0' });
    registry.publish({ name: 'bar', version: '2.0.0' });
    registry.publish({ name: 'bar', version: '3.0.0' });
    // The attacker's bar: 1.0.0 is foo's genuinely signed manifest, its tarball foo's bytes; 3.0.0 has a
    // numeric name, signed by the registry over the statement it makes ("123@3.0.0:…").
    const bar = registry.packument('bar') as unknown as Doc;
    const fooManifest = (registry.packument('foo') as unknown as Doc).versions['1.0.0']!;
    bar.versions['1.0.0'] = { ...fooManifest, version: '1.0.0', dist: { ...fooManifest.dist, tarball: `${registry.url}/bar/-/bar-1.0.0.tgz` } };
    const v3 = bar.versions['3.0.0']!;
    bar.versions['3.0.0'] = { ...v3, name: 123, dist: { ...v3.dist, signatures: [registry.key.signVersion('123', '3.0.0', String(v3.dist['integrity']))] } };
    bar['dist-tags'] = { latest: '3.0.0' };
    registry.serveDocument('bar', bar as unknown as Record<string, unknown>);
    registry.upstream.setFile('/bar/-/bar-1.0.0.tgz', foo.bytes, { contentType: 'application/octet-stream' });
    mirror = await startMirror({
      repositories: [{ name: 'npm', format: 'npm', upstream: registry.url, verify: 'require', trust: { keys: registry.keysDocument }, metadataTtl: `${TTL_MS}ms`, retries: 0 }],
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  test("a signature replayed from another package, and a numeric name, are refused; bar's genuine versions are served", async () => {
    const { full, abbreviated, distTags } = await servedDocuments(mirror, 'npm', 'bar');
    assert.deepEqual(Object.keys(full.versions), ['2.0.0']);
    assert.deepEqual(Object.keys(abbreviated.versions), ['2.0.0']);
    assert.deepEqual(distTags, { latest: '2.0.0' });
    const rejected = Object.fromEntries((mirror.app.store.index.getObject('npm', 'bar')?.verification.rejected ?? []).map((r) => [r.item, r.reason]));
    assert.match(rejected['1.0.0'] ?? '', /names package "foo", not "bar"/);
    assert.match(rejected['3.0.0'] ?? '', /names package 123, not "bar"/);
    for (const v of ['1.0.0', '3.0.0']) {
      assert.equal((await mirror.get(`/npm/bar/${v}`)).status, 404, `bar@${v} document`);
      const r = await refusal(await mirror.get(`/npm/bar/-/bar-${v}.tgz`));
      assert.equal(r.status, 502, `bar-${v}.tgz: ${r.error}`);
    }
    // Positive control: the genuine version, signed by the primary key over exactly bar@2.0.0, which npm's pacote accepts.
    assert.equal(signedRole(mirror, 'bar', '2.0.0', full.versions['2.0.0']!), 'primary');
    const verdicts = await verifyPackagesWithPacote(`${mirror.url}/npm`, [{ name: 'bar', version: '2.0.0' }, { name: 'foo', version: '1.0.0' }]);
    for (const v of verdicts) assert.deepEqual([v.name, v.status, v.keyids], [v.name, 'verified', [mirror.app.keys.ecdsaSigner().id]], v.message);
  });

  test('rollback: an older packument is refused and the newer one kept served (stale); a newer one is taken', async () => {
    registry.publish({ name: 'roll', version: '1.0.0' });
    const older = registry.packument('roll');
    registry.publish({ name: 'roll', version: '1.1.0' });
    const served = await servedDocuments(mirror, 'npm', 'roll');
    assert.deepEqual(Object.keys(served.full.versions), ['1.0.0', '1.1.0']);

    registry.serveDocument('roll', older);
    mirror.advanceClock(TTL_MS + 1);
    const res = await mirror.get('/npm/roll', { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-countersign-stale'), 'rollback');
    const kept = (await res.json()) as Doc;
    assert.deepEqual(Object.keys(kept.versions), ['1.0.0', '1.1.0'], 'the newer revision stays served');
    assert.equal(kept['dist-tags'].latest, '1.1.0');
    assert.match(mirror.app.store.index.getObject('npm', 'roll')?.verification.revision?.label ?? '', /^time\.modified \d{4}-/);

    // Positive control: a newer revision than the served one is taken.
    registry.serveDocument('roll', undefined);
    registry.publish({ name: 'roll', version: '1.2.0' });
    mirror.advanceClock(TTL_MS + 1);
    const newer = await mirror.get('/npm/roll', { headers: { accept: 'application/json' } });
    assert.equal(newer.status, 200);
    assert.equal(newer.headers.get('x-countersign-stale'), null);
    const doc = (await newer.json()) as Doc;
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '1.1.0', '1.2.0']);
    assert.equal(signedRole(mirror, 'roll', '1.2.0', doc.versions['1.2.0'] as never), 'primary');
  });
});
