/**
 * `countersign warm` from Python lock files: a requirements.txt with --hash lines and a
 * pylock.toml fill the mirror, then the real pip installs with --require-hashes with the
 * upstream gone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startFixtureUpstream } from '../helpers/fixture-upstream.js';
import { removeDir, startMirror } from '../helpers/mirror-harness.js';
import { runPip } from '../helpers/pypi-client.js';
import { buildDists } from '../helpers/pypi-dists.js';
import { PypiFixture } from '../helpers/pypi-fixture.js';

const exec = promisify(execFile);

async function fixtureIndex() {
  const upstream = await startFixtureUpstream();
  const index = new PypiFixture(upstream);
  const [beta, alpha] = await Promise.all([
    buildDists({ name: 'cs-beta', version: '1.0' }),
    buildDists({ name: 'cs-alpha', version: '1.0', requires: ['cs-beta>=1.0'] }),
  ]);
  const files = { beta: index.publish('cs-beta', '1.0', beta.wheel), alpha: index.publish('cs-alpha', '1.0', alpha.wheel) };
  index.publish('cs-beta', '1.0', beta.sdist);
  return { upstream, files };
}

for (const kind of ['requirements.txt', 'pylock.toml'] as const) {
  test(`warm from ${kind}: everything pip needs is cached and installs with the upstream gone`, { timeout: 240_000 }, async () => {
    const { upstream, files } = await fixtureIndex();
    const mirror = await startMirror({ repositories: [{ name: 'py', format: 'pypi', upstream: upstream.url, anchor: 'first-use', metadataTtl: '1h' }] });
    const work = await mkdtemp(join(tmpdir(), 'countersign-pywarm-'));
    try {
      const requirements = [
        `cs-alpha==1.0 \\\n    --hash=sha256:${files.alpha.sha256}`,
        `cs-beta==1.0 \\\n    --hash=sha256:${files.beta.sha256}  # via cs-alpha`,
        '',
      ].join('\n');
      const pylock = [
        'lock-version = "1.0"', 'created-by = "test"', '',
        '[[packages]]', 'name = "cs-alpha"', 'version = "1.0"',
        `wheels = [{ name = "${files.alpha.filename}", url = "https://upstream.example/x", hashes = { sha256 = "${files.alpha.sha256}" } }]`, '',
        '[[packages]]', 'name = "cs_beta"', 'version = "1.0"',
        '[[packages.wheels]]', `name = "${files.beta.filename}"`, `hashes = { sha256 = "${files.beta.sha256}" }`, '',
      ].join('\n');
      const lockFile = join(work, kind);
      await writeFile(lockFile, kind === 'pylock.toml' ? pylock : requirements);
      const { stdout } = await exec(process.execPath, [join(process.cwd(), 'bin', 'countersign.js'), 'warm', '--repo', 'py', '--mirror', mirror.url, '--no-progress', lockFile]);
      // Two pages, two wheels, two metadata files.
      assert.match(stdout, /warmed 6 of 6 objects in py/);

      await upstream.stop();
      const reqFile = join(work, 'req.txt');
      await writeFile(reqFile, requirements);
      const target = join(work, 'site');
      const r = await runPip(['install', '--index-url', `${mirror.url}/py/simple`, '--require-hashes', '--no-deps', '--target', target, '-r', reqFile]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual((await readdir(target)).filter((n) => !n.endsWith('.dist-info')).sort(), ['cs_alpha', 'cs_beta']);
    } finally {
      await mirror.close();
      await upstream.stop().catch(() => undefined);
      await removeDir(mirror.dataDir);
      await removeDir(work);
    }
  });
}
