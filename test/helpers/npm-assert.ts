/** Assertions over what the real npm left on disk after installing the demo tree. */
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FixtureNpmRegistry } from './fixture-npm-registry.js';
import { DEMO_TREE_INSTALLED } from './npm-demo-tree.js';

export interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
}

export async function readLock(dir: string): Promise<Record<string, LockEntry>> {
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as { lockfileVersion?: number; packages?: Record<string, LockEntry> };
  assert.equal(lock.lockfileVersion, 3);
  return lock.packages ?? {};
}

export function nameAt(location: string): string {
  return location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/**
 * The demo tree is installed in `dir` exactly as DEMO_TREE_INSTALLED says: lockfile entries,
 * `resolved` URLs under `registryBase` (e.g. `<mirror>/npm`), integrity equal to what the
 * upstream published, and the packages' files on disk (nested gamma, scoped, bin link).
 */
export async function assertDemoTreeInstalled(dir: string, registryBase: string, upstream: FixtureNpmRegistry): Promise<void> {
  const packages = await readLock(dir);
  const installed = Object.keys(packages).filter((k) => k.startsWith('node_modules/')).sort();
  assert.deepEqual(installed, Object.keys(DEMO_TREE_INSTALLED).sort(), 'package-lock.json lists exactly the expected locations');
  const base = registryBase.replace(/\/+$/, '');
  for (const [location, version] of Object.entries(DEMO_TREE_INSTALLED)) {
    const entry = packages[location]!;
    const name = nameAt(location);
    assert.equal(entry.version, version, `${location} version`);
    assert.equal(entry.resolved, `${base}/${name}/-/${name.split('/').pop()}-${version}.tgz`, `${location} resolved`);
    const published = (upstream.packument(name)['versions'] as Record<string, { dist: { integrity: string } }>)[version]!;
    assert.equal(entry.integrity, published.dist.integrity, `${location} integrity is the upstream's`);
    const onDisk = JSON.parse(await readFile(join(dir, location, 'package.json'), 'utf8')) as { name: string; version: string };
    assert.deepEqual({ name: onDisk.name, version: onDisk.version }, { name, version }, `${location}/package.json on disk`);
    const index = await readFile(join(dir, location, 'index.js'), 'utf8');
    assert.equal(index, `module.exports = ${JSON.stringify({ name, version })};\n`, `${location}/index.js on disk`);
  }
  await access(join(dir, 'node_modules/delta/node_modules/gamma/lib/old.js'));
  await access(join(dir, 'node_modules/@org/utils/lib/strings.js'));
  await access(join(dir, 'node_modules/.bin/org-cli'));
  assert.deepEqual(packages['node_modules/delta']?.dependencies, { gamma: '^1.0.0', epsilon: '^1.0.0' });
}
