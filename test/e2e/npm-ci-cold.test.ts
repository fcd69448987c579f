/**
 * Issue 13 (npm cold installs): the real npm CLI runs `npm ci` from a lockfile through a COLD
 * mirror, which is asked for tarballs only. The mirror downloads each tarball while it fetches
 * and verifies its packument; the fixture registry answers every packument only after its
 * tarball was sent whole, so every tarball below was downloaded before its packument verified.
 * Then: a tampered tarball and a badly signed version make `npm ci` fail with nothing stored,
 * while the genuine tree (positive control, same mirror) installs and matches the upstream.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFixtureNpmRegistry, type FixtureNpmRegistry, type PublishedVersion } from '../helpers/fixture-npm-registry.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { assertDemoTreeInstalled, nameAt } from '../helpers/npm-assert.js';
import { makeNpmProject, runNpm, type NpmRunResult } from '../helpers/npm-client.js';
import { DEMO_TREE_INSTALLED, DEMO_TREE_ROOT, publishDemoTree } from '../helpers/npm-demo-tree.js';
import { flipLastBit, packumentAfterTarball } from '../helpers/npm-overlap.js';

const dirs: string[] = [];

/** A project whose lockfile npm made against the fixture registry directly, for `npm ci` through `registryBase`. */
async function lockedProject(registry: FixtureNpmRegistry, spec: string): Promise<{ at(registryBase: string): Promise<string> }> {
  const dir = await makeNpmProject();
  dirs.push(dir);
  const at = spec.lastIndexOf('@');
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'ci-probe', version: '1.0.0', private: true, dependencies: { [spec.slice(0, at)]: spec.slice(at + 1) } }, null, 2)}\n`);
  assertNpmOk(await runNpm(dir, ['install', '--package-lock-only', '--no-audit', '--no-fund'], { registry: registry.url }), `lockfile for ${spec}`);
  const lockfile = await readFile(join(dir, 'package-lock.json'), 'utf8');
  const pkg = await readFile(join(dir, 'package.json'), 'utf8');
  return {
    async at(registryBase) {
      const copy = await makeNpmProject();
      dirs.push(copy);
      await writeFile(join(copy, 'package.json'), pkg);
      await writeFile(join(copy, 'package-lock.json'), lockfile.replaceAll(`${registry.url}/`, `${registryBase}/`));
      return copy;
    },
  };
}

function assertNpmOk(r: NpmRunResult, what: string): void {
  assert.equal(r.timedOut, false, `${what} timed out`);
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}\n${r.stdout}`);
}

const ci = (dir: string, registry: string): Promise<NpmRunResult> => runNpm(dir, ['ci', '--no-audit', '--no-fund'], { registry, timeoutMs: 120_000 });

after(async () => {
  await Promise.all(dirs.map((d) => removeDir(d)));
});

describe('npm ci from a lockfile through a cold mirror (tarballs downloaded before their packuments verified)', () => {
  let registry: FixtureNpmRegistry;
  let mirror: RunningMirror;
  let repoUrl: string;
  let tree: { at(registryBase: string): Promise<string> };
  let tamperedProject: { at(registryBase: string): Promise<string> };
  let badSigProject: { at(registryBase: string): Promise<string> };
  let tampered: PublishedVersion;
  let badSig: PublishedVersion;

  before(async () => {
    registry = await startFixtureNpmRegistry();
    publishDemoTree(registry);
    tampered = registry.publish({ name: 'ci-tampered', version: '1.0.0' });
    badSig = registry.publish({ name: 'ci-badsig', version: '1.0.0', signature: 'wrong-key' });
    // Lockfiles first (npm asks for packuments only then), the ordering after.
    tree = await lockedProject(registry, DEMO_TREE_ROOT);
    tamperedProject = await lockedProject(registry, 'ci-tampered@1.0.0');
    badSigProject = await lockedProject(registry, 'ci-badsig@1.0.0');
    const gated = new Set<string>();
    for (const [location, version] of Object.entries(DEMO_TREE_INSTALLED)) {
      const name = nameAt(location);
      if (gated.has(name) || location !== `node_modules/${name}`) continue;
      gated.add(name);
      const path = registry.tarballPath(name, version);
      const published = (registry.packument(name)['versions'] as Record<string, unknown>)[version];
      assert.ok(published, `${name}@${version} is published`);
      const bytes = Buffer.from(await (await fetch(`${registry.url}${path}`)).arrayBuffer());
      packumentAfterTarball(registry, name, path, bytes);
    }
    packumentAfterTarball(registry, 'ci-tampered', tampered.tarballPath, flipLastBit(tampered.bytes));
    packumentAfterTarball(registry, 'ci-badsig', badSig.tarballPath, badSig.bytes);
    mirror = await startMirror({ repositories: [{ name: 'npm', format: 'npm', upstream: registry.url, verify: 'require', trust: { keys: registry.keysDocument }, metadataTtl: '5m' } as never] });
    repoUrl = `${mirror.url}/npm`;
    registry.resetCounts();
  });
  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  test('positive control: npm ci installs the 25-package tree from the cold mirror, each tarball fetched once', async () => {
    const dir = await tree.at(repoUrl);
    assertNpmOk(await ci(dir, repoUrl), 'npm ci through the cold mirror');
    await assertDemoTreeInstalled(dir, repoUrl, registry);
    for (const [location, version] of Object.entries(DEMO_TREE_INSTALLED)) {
      const name = nameAt(location);
      assert.equal(registry.requests(registry.tarballPath(name, version)), 1, `${name}@${version}: one upstream tarball fetch`);
      assert.equal(registry.packumentRequests(name), 1, `${name}: one packument fetch`);
    }
  });

  test('a tarball that does not match the packument integrity: npm ci fails, nothing stored', async () => {
    const r = await ci(await tamperedProject.at(repoUrl), repoUrl);
    assert.notEqual(r.code, 0, 'npm ci must fail');
    assert.match(r.stderr, /502|Bad Gateway/, r.stderr);
    assert.equal(mirror.app.store.index.getObject('npm', 'ci-tampered/-/ci-tampered-1.0.0.tgz'), undefined, 'nothing stored');
    assert.ok(registry.requests(tampered.tarballPath) >= 1, 'the tarball was downloaded');
  });

  test('verify: require, a version whose registry signature is bad: npm ci fails although its tarball downloaded fine', async () => {
    const r = await ci(await badSigProject.at(repoUrl), repoUrl);
    assert.notEqual(r.code, 0, 'npm ci must fail');
    assert.match(r.stderr, /502|Bad Gateway/, r.stderr);
    assert.ok(registry.requests(badSig.tarballPath) >= 1, 'the tarball was downloaded');
    assert.equal(mirror.app.store.index.getObject('npm', 'ci-badsig/-/ci-badsig-1.0.0.tgz'), undefined, 'nothing stored');
  });
});
