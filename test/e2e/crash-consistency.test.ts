/**
 * Kills the real mirror process with SIGKILL in the middle of concurrent downloads, then
 * checks with `countersign verify-store` that no partial blob was ever visible, and that a
 * restart leaves a clean store that serves everything again.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startFixtureUpstream } from '../helpers/fixture-upstream.js';
import { configText, makeDataDir, removeDir } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../helpers/upstream-openpgp.js';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

test('SIGKILL during concurrent downloads leaves a consistent store', { timeout: 120_000 }, async () => {
  const upstream = await startFixtureUpstream();
  const key = await makeUpstreamPgpKey();
  const dataDir = await makeDataDir();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const configFile = join(dataDir, 'config.yaml');
  await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
  await writeFile(
    configFile,
    configText({
      listen: { host: '127.0.0.1', port },
      dataDir,
      log: { level: 'warn' },
      repositories: [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' } }],
    }),
  );
  const files = Array.from({ length: 6 }, (_, i) => ({ path: `/big-${i}.bin`, bytes: Buffer.alloc(2 * 1024 * 1024, i + 1) }));
  for (const f of files) await publishRaw(upstream, key, f.path, f.bytes);
  await publishRaw(upstream, key, '/small.txt', 'fetched before the crash');
  let child: ChildProcess | undefined;
  try {
    child = await startServe(configFile, port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/files/small.txt`)).status, 200);

    // Big files trickle in, so the kill lands while all of them are half-written.
    for (const f of files) upstream.setMode(f.path, { trickleMs: 20, chunkBytes: 16 * 1024 });
    const downloads = files.map((f) => fetch(`http://127.0.0.1:${port}/files${f.path}`).then((r) => r.arrayBuffer()).catch(() => undefined));
    await waitFor(async () => (await readdir(join(dataDir, 'blobs', 'tmp'))).length >= files.length, 20_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    await Promise.all(downloads);

    const partial = (await readdir(join(dataDir, 'blobs', 'tmp'))).length;
    assert.ok(partial >= files.length, `partial downloads were in progress (${partial} temp files)`);
    const beforeRestart = await verifyStore(configFile);
    assert.equal(beforeRestart.corrupt.length, 0, 'no partial bytes ever reached the content-addressed store');
    assert.equal(beforeRestart.missing.length, 0);
    assert.equal(beforeRestart.partial.length, partial, 'the dead process left only temp files');

    upstream.clearModes();
    child = await startServe(configFile, port);
    const small = await fetch(`http://127.0.0.1:${port}/files/small.txt`);
    assert.equal(await small.text(), 'fetched before the crash');
    for (const f of files) {
      const body = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/files${f.path}`)).arrayBuffer());
      assert.equal(sha256(body), sha256(f.bytes));
    }
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child!.once('exit', resolve));
    assert.equal(code, 0, 'graceful shutdown exits 0');
    child = undefined;

    const after = await verifyStore(configFile);
    assert.equal(after.clean, true, JSON.stringify(after));
    assert.equal(after.partial.length, 0);
    assert.ok(after.blobs >= files.length + 1);
  } finally {
    child?.kill('SIGKILL');
    await upstream.stop();
    await removeDir(dataDir);
  }
});

async function startServe(configFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`countersign exited: ${stderr}`);
    return (await fetch(`http://127.0.0.1:${port}/-/health`).catch(() => undefined))?.ok === true;
  }, 30_000);
  return child;
}

interface Report { clean: boolean; blobs: number; corrupt: string[]; missing: string[]; partial: string[]; orphaned: string[] }

async function verifyStore(configFile: string): Promise<Report> {
  const out = await run(process.execPath, [BIN, 'verify-store', '--json', '--config', configFile]).catch((err: { stdout: string }) => err);
  return JSON.parse(out.stdout) as Report;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${ms} ms`);
}
