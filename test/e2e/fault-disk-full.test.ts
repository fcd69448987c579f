/**
 * Issue 10, "Faults": the data directory fills up. A size-limited tmpfs is the data dir; a
 * download that does not fit must give the client a clear error (507, code STORE_FULL) and a
 * log line, leave nothing partial in the store (verify-store clean), keep serving what is
 * cached, and succeed once space returns. Needs root for `mount -t tmpfs`: without it the
 * test fails and says so (a skipped disk-full test proves nothing).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { configText, freePort, sharedKeyDir } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { startServeChild, verifyStoreCli, waitFor, type ServeChild } from '../helpers/fault-serve.js';
import { makeUpstreamPgpKey } from '../helpers/upstream-openpgp.js';

const MOUNT_BYTES = 24 * 1024 * 1024;
const BIG = 4 * 1024 * 1024;

let root: string;
let dataDir: string;
let upstream: FixtureUpstream;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'countersign-full-'));
  dataDir = join(root, 'data');
  await mkdir(dataDir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${MOUNT_BYTES}`, 'tmpfs', dataDir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`the disk-full test needs root to mount a size-limited tmpfs as the data dir (mount -t tmpfs): ${(err as Error).message}`);
  }
  upstream = await startFixtureUpstream();
});

after(async () => {
  await upstream?.stop();
  try {
    execFileSync('umount', [dataDir], { stdio: 'pipe' });
  } catch {
    // Not mounted (before failed): nothing to undo.
  }
  await rm(root, { recursive: true, force: true });
});

test('a download that does not fit: 507 STORE_FULL, logged, nothing partial, served once space returns', { timeout: 120_000 }, async () => {
  const key = await makeUpstreamPgpKey();
  await cp(await sharedKeyDir(), join(dataDir, 'keys'), { recursive: true });
  const port = await freePort();
  const configFile = join(root, 'config.yaml');
  await writeFile(join(root, 'upstream.asc'), key.armoredPublic);
  await writeFile(
    configFile,
    configText({
      listen: { host: '127.0.0.1', port },
      dataDir,
      log: { level: 'info' },
      repositories: [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: join(root, 'upstream.asc'), checksums: 'sha256' } }],
    }),
  );
  const big = randomBytes(BIG);
  await publishRaw(upstream, key, '/big.bin', big);
  await publishRaw(upstream, key, '/small.txt', 'cached before the disk filled\n');

  let mirror: ServeChild | undefined = await startServeChild(configFile, port);
  try {
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/files/small.txt`)).text(), 'cached before the disk filled\n');

    // Leave ~1 MiB: room for the index and small files, not for a 4 MiB blob.
    const free = await freeBytes(dataDir);
    const filler = join(dataDir, 'filler');
    await writeFile(filler, Buffer.alloc(Math.max(0, free - 1024 * 1024)));
    assert.ok((await freeBytes(dataDir)) < BIG, 'the big file no longer fits');

    const refused = await fetch(`http://127.0.0.1:${port}/files/big.bin`);
    const body = await refused.text();
    assert.equal(mirror.process.exitCode, null, 'the mirror is still running');
    assert.equal(refused.status, 507, `a full disk is 507 Insufficient Storage, not ${refused.status}: ${body}`);
    assert.equal((JSON.parse(body) as { code?: string }).code, 'STORE_FULL', body);
    // pino writes asynchronously: give the line a moment to arrive.
    const logged = await waitFor(async () => /"code":"STORE_FULL"/.test(mirror!.log()), 5_000).then(() => true, () => false);
    assert.ok(logged, `the failure is logged with its code: ${mirror.log().slice(-2000)}`);
    assert.deepEqual(await readdir(join(dataDir, 'blobs', 'tmp')), [], 'the partial download was removed');
    // Blobs live at blobs/<2 hex>/<2 hex>/<sha256>; another blob may share the first directory.
    const bigBlob = join(dataDir, 'blobs', sha256(big).slice(0, 2), sha256(big).slice(2, 4), sha256(big));
    assert.equal(await stat(bigBlob).then(() => true, () => false), false, 'no blob of the big file');

    // Positive control: what is cached is still served while the disk is full.
    assert.equal((await fetch(`http://127.0.0.1:${port}/files/small.txt`)).status, 200);

    assert.equal(await mirror.stop(), 0, 'graceful shutdown with a full disk');
    mirror = undefined;
    const report = await verifyStoreCli(configFile);
    assert.equal(report.clean, true, `the store is intact: ${JSON.stringify(report)}`);

    await rm(filler);
    mirror = await startServeChild(configFile, port);
    const retried = await fetch(`http://127.0.0.1:${port}/files/big.bin`);
    assert.equal(retried.status, 200, 'served once space returns');
    assert.equal(sha256(Buffer.from(await retried.arrayBuffer())), sha256(big));
    assert.equal(await mirror.stop(), 0);
    mirror = undefined;
    assert.equal((await verifyStoreCli(configFile)).clean, true);
  } finally {
    await mirror?.stop();
  }
});

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
