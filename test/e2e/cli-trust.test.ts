/** `countersign trust list|accept`, as an operator runs them against a data directory. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/open-store.js';
import { configText, makeDataDir, removeDir } from '../helpers/mirror-harness.js';

const exec = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('trust list shows first-use pins and trust accept forgets one so the next is pinned', async () => {
  const dataDir = await makeDataDir();
  try {
    const config = join(dataDir, 'config.yaml');
    await writeFile(config, configText({
      dataDir, repositories: [{ name: 'npm', format: 'npm', upstream: 'http://upstream.example/', anchor: 'first-use' }],
    }));
    const store = await openStore(dataDir);
    store.index.pinFirstUse('npm', 'npm-registry-keys', 'a'.repeat(64), Date.UTC(2026, 0, 2));
    store.index.pinFirstUse('npm', 'other', 'b'.repeat(64), Date.UTC(2026, 0, 3));
    // A second pin under the same name keeps the first: first use means first.
    assert.equal(store.index.pinFirstUse('npm', 'npm-registry-keys', 'c'.repeat(64), Date.now()).sha256, 'a'.repeat(64));
    await store.close();

    const listed = await cli(['--config', config, 'trust', 'list', 'npm']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`npm-registry-keys\\tsha256:${'a'.repeat(64)}\\tpinned 2026-01-02`));

    const accepted = await cli(['--config', config, 'trust', 'accept', 'npm', 'npm-registry-keys']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /forgot 1 pin/);
    const after = await cli(['--config', config, 'trust', 'list', 'npm']);
    assert.doesNotMatch(after.stdout, /npm-registry-keys/);
    assert.match(after.stdout, /other/);

    const again = await cli(['--config', config, 'trust', 'accept', 'npm', 'npm-registry-keys']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /no pin named npm-registry-keys/);
    const unknown = await cli(['--config', config, 'trust', 'list', 'nope']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /No repository named nope/);
  } finally {
    await removeDir(dataDir);
  }
});
