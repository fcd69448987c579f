/** `countersign warm` fills the mirror from a real lockfile, so the tree is served with the upstream gone. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { npmLockPaths } from '../../src/cli/warm.js';
import { startFixtureNpmRegistry } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror } from '../helpers/mirror-harness.js';
import { makeNpmProject, npmInstall } from '../helpers/npm-client.js';
import { DEMO_TREE_ROOT, publishDemoTree } from '../helpers/npm-demo-tree.js';

const exec = promisify(execFile);

test('warm pre-fetches every packument and tarball of a lockfile; they are then served offline', { timeout: 180_000 }, async () => {
  const registry = await startFixtureNpmRegistry();
  publishDemoTree(registry);
  const project = await makeNpmProject();
  const mirror = await startMirror({ repositories: [{ name: 'npm', format: 'npm', upstream: registry.url, anchor: 'first-use', metadataTtl: '1ms' }] });
  try {
    const install = await npmInstall(project, [DEMO_TREE_ROOT], { registry: `${registry.url}/` });
    assert.equal(install.code, 0, install.stderr);
    const lockFile = join(project, 'package-lock.json');
    const { stdout } = await exec(process.execPath, [join(process.cwd(), 'bin', 'countersign.js'), 'warm', '--repo', 'npm', '--mirror', mirror.url, '--no-progress', lockFile]);
    const { readFile } = await import('node:fs/promises');
    const paths = npmLockPaths(JSON.parse(await readFile(lockFile, 'utf8')));
    assert.ok(paths.length >= 40, `${paths.length} paths`);
    assert.match(stdout, new RegExp(`warmed ${paths.length} of ${paths.length} objects`));

    await registry.stop();
    for (const path of paths) {
      const res = await mirror.get(`/npm/${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
  } finally {
    await mirror.close();
    await registry.stop().catch(() => undefined);
    await removeDir(mirror.dataDir);
    await removeDir(project);
  }
});
