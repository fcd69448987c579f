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
import { openStore } from '../../src/store/open-store.js';
import { isClean, verifyStore as checkStore } from '../../src/store/verify-store.js';
import { startFixtureUpstream } from '../helpers/fixture-upstream.js';
import { configText, makeDataDir, removeDir } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../helpers/upstream-openpgp.js';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

/** A fixture upstream, its signing key, and a data directory with a config for a mirror child process. */
async function crashWorld() {
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
  return { upstream, key, dataDir, port, configFile };
}

test('SIGKILL during concurrent downloads leaves a consistent store', { timeout: 120_000 }, async () => {
  const { upstream, key, dataDir, port, configFile } = await crashWorld();
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

/**
 * Issue 10, "Faults": 20 rounds of SIGKILL while cold downloads trickle in and warm clients
 * hammer cached files. After each kill the store holds no corrupt or missing blob (only the
 * dead process's temp files), the next start removes those temps and serves every file of
 * the round byte-exact, and a final graceful stop leaves a fully clean store.
 */
test('20 rounds of SIGKILL under load: verify-store finds no corruption after any round', { timeout: 180_000 }, async () => {
  const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
  const COLD = 4;
  const WARM_CLIENTS = 4;
  const { upstream, key, dataDir, port, configFile } = await crashWorld();
  const warm = Array.from({ length: 3 }, (_, i) => ({ path: `/warm-${i}.txt`, bytes: Buffer.from(`warm file ${i}\n`.repeat(100)) }));
  for (const f of warm) await publishRaw(upstream, key, f.path, f.bytes);
  const started = performance.now();
  const figures = { kills: 0, tempsAtKill: 0, orphansAtKill: 0, warmServed: 0, coldCompletedBeforeKill: 0 };
  let child: ChildProcess | undefined;
  try {
    child = await startServe(configFile, port);
    for (const f of warm) assert.equal((await fetch(`http://127.0.0.1:${port}/files${f.path}`)).status, 200);

    for (let round = 0; round < ROUNDS; round++) {
      const cold = Array.from({ length: COLD }, (_, i) => ({ path: `/r${round}-${i}.bin`, bytes: Buffer.alloc(256 * 1024 + round * 1000 + i, (round * COLD + i) % 251) }));
      for (const f of cold) {
        await publishRaw(upstream, key, f.path, f.bytes);
        upstream.setMode(f.path, { trickleMs: 8, chunkBytes: 16 * 1024 });
      }
      let killed = false;
      const coldDownloads = cold.map((f) =>
        fetch(`http://127.0.0.1:${port}/files${f.path}`)
          .then(async (r) => {
            const body = Buffer.from(await r.arrayBuffer());
            if (r.status === 200 && sha256(body) === sha256(f.bytes)) figures.coldCompletedBeforeKill++;
            else assert.ok(killed, `before the kill ${f.path} was served whole (${r.status}, ${body.length} bytes)`);
          })
          .catch(() => assert.ok(killed, `only the kill interrupts ${f.path}`)),
      );
      const warmLoad = Array.from({ length: WARM_CLIENTS }, async (_, c) => {
        for (let n = 0; !killed; n++) {
          const f = warm[(c + n) % warm.length]!;
          const r = await fetch(`http://127.0.0.1:${port}/files${f.path}`).catch(() => undefined);
          if (!r) return;
          const body = Buffer.from(await r.arrayBuffer().catch(() => new ArrayBuffer(0)));
          if (killed) return;
          assert.equal(sha256(body), sha256(f.bytes), 'a warm hit under load is byte-exact');
          figures.warmServed++;
        }
      });
      // Land the kill at a different point of the downloads each round: just begun, mid-body, near the end.
      await waitFor(async () => (await readdir(join(dataDir, 'blobs', 'tmp'))).length >= 1, 20_000);
      if (round % 3 === 2) {
        // Every third round: right after a first download was committed and served, the others in flight.
        const before = figures.coldCompletedBeforeKill;
        await waitFor(async () => figures.coldCompletedBeforeKill > before, 20_000);
      } else await sleep((round * 37) % 200);
      figures.tempsAtKill += (await readdir(join(dataDir, 'blobs', 'tmp'))).length;
      killed = true;
      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
      figures.kills++;
      await Promise.all([...coldDownloads, ...warmLoad]);

      // The CLI's own check, in this process: a `countersign verify-store` child costs ~2 s of tsx start-up a
      // round on a 2-core runner; the CLI itself runs after the first and the last kill, and at the end.
      const report = round === 0 || round === ROUNDS - 1 ? await verifyStore(configFile) : await verifyStoreInProcess(dataDir);
      assert.deepEqual({ round, corrupt: report.corrupt, missing: report.missing }, { round, corrupt: [], missing: [] }, 'no partial or lost blob after SIGKILL');
      figures.orphansAtKill += report.orphaned.length;

      upstream.clearModes();
      child = await startServe(configFile, port);
      assert.deepEqual(await readdir(join(dataDir, 'blobs', 'tmp')), [], `round ${round}: the next start removes the dead process's temp files`);
      for (const f of [...cold, ...warm]) {
        const r = await fetch(`http://127.0.0.1:${port}/files${f.path}`);
        assert.equal(r.status, 200, `round ${round}: ${f.path} after restart`);
        assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(f.bytes), `round ${round}: ${f.path} is byte-exact after restart`);
      }
    }
    child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => child!.once('exit', resolve)), 0);
    child = undefined;
    const after = await verifyStore(configFile);
    assert.equal(after.clean, true, JSON.stringify(after));
    assert.ok(after.blobs >= ROUNDS * COLD + warm.length, `every round's files are stored (${after.blobs} blobs)`);
    console.log(`crash rounds: ${JSON.stringify(figures)}; final store ${after.blobs} blobs, clean; ${Math.round((performance.now() - started) / 1000)} s`);
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

/** What `countersign verify-store` runs (src/cli/verify-store-command.ts), without a process start. */
async function verifyStoreInProcess(dataDir: string): Promise<Report> {
  const store = await openStore(dataDir, { keepTemps: true });
  try {
    const report = await checkStore(store, { repair: false });
    return { clean: isClean(report), ...report };
  } finally {
    await store.close();
  }
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${ms} ms`);
}
