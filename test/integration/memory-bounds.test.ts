/**
 * Issue 10, bounded state: an object a format reads whole into memory (an npm packument here; RPM
 * and Alpine packages it re-signs, indexes) is refused above limits.maxInMemorySize with a precise
 * error, and nothing is stored; the same object under the default limit is served (the control).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

describe('objects read whole into memory are bounded', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    for (let i = 0; i < 8; i++) registry.publish({ name: 'wide', version: `1.0.${i}` });
    const repo = { format: 'npm', upstream: registry.url, verify: 'warn', retries: 0 };
    mirror = await startMirror({
      repositories: [{ name: 'small', ...repo, maxInMemorySize: '2KiB' }, { name: 'npm', ...repo }] as never,
    });
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  test('a packument above maxInMemorySize: 502 TOO_LARGE_IN_MEMORY, nothing stored; the default limit serves it', async () => {
    const full = JSON.stringify(registry.packument('wide'));
    assert.ok(Buffer.byteLength(full) > 2048, `the fixture packument (${Buffer.byteLength(full)} bytes) must exceed the limit`);
    const refused = await mirror.get('/small/wide');
    assert.equal(refused.status, 502);
    const body = (await refused.json()) as { error?: string; code?: string };
    assert.match(JSON.stringify(body), /TOO_LARGE_IN_MEMORY|maxInMemorySize/);
    assert.equal(mirror.app.store.index.getObject('small', 'wide'), undefined, 'nothing stored');
    const served = await mirror.get('/npm/wide');
    assert.equal(served.status, 200);
    assert.deepEqual(Object.keys(((await served.json()) as { versions: object }).versions).length, 8);
    assert.ok(mirror.app.store.index.getObject('npm', 'wide'), 'the control is stored under the path the refusal was checked at');
  });
});
