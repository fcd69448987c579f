/**
 * `listen.workers`: the real `countersign serve` with a primary and two workers. Warm hits are
 * answered by the workers from the store without reaching the upstream; misses, revalidations
 * and the mirror's own endpoints by the primary; a trust change made while the mirror was
 * stopped is honoured by every process (a worker never serves a copy verified under older
 * trust); one upstream request for many concurrent cold requests spread over the workers;
 * /-/metrics sums every process; a killed worker is replaced, a killed primary leaves no worker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { startServeChild, waitFor, type ServeChild } from '../helpers/fault-serve.js';
import { configText, freePort, makeDataDir, removeDir } from '../helpers/mirror-harness.js';
import { publishRaw, sha256 } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey, type UpstreamPgpKey } from '../helpers/upstream-openpgp.js';

/** A test with its own upstream, data directory and mirror, all torn down after it. */
function workersTest(name: string, body: (w: World) => Promise<void>): void {
  test(name, { timeout: 120_000 }, async () => {
    const w = await world();
    try {
      await body(w);
    } finally {
      await w.close();
    }
  });
}

/** The access log is written in blocks at least once a second. */
const LOG_FLUSHED_MS = 1500;

interface World {
  upstream: FixtureUpstream;
  key: UpstreamPgpKey;
  dataDir: string;
  port: number;
  configFile: string;
  base: string;
  /** The mirror `start` started last. */
  child?: ServeChild;
  /** Stops the mirror (unless it is already gone) and the upstream, and removes the data directory. */
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const upstream = await startFixtureUpstream();
  const key = await makeUpstreamPgpKey();
  const dataDir = await makeDataDir();
  const port = await freePort();
  await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
  const w: World = {
    upstream, key, dataDir, port, configFile: join(dataDir, 'config.yaml'), base: `http://127.0.0.1:${port}/files`,
    async close() {
      const child = w.child?.process;
      if (child && child.exitCode === null && child.signalCode === null) await w.child!.stop();
      await upstream.stop();
      await removeDir(dataDir);
    },
  };
  return w;
}

async function start(w: World, trust: Record<string, unknown>, extra: { metadataTtl?: string } = {}): Promise<ServeChild> {
  await writeFile(w.configFile, configText({
    listen: { host: '127.0.0.1', port: w.port, workers: 2 },
    dataDir: w.dataDir,
    log: { level: 'info' },
    repositories: [{ name: 'files', format: 'raw', upstream: w.upstream.url, trust, ...extra }],
  }));
  const child = await startServeChild(w.configFile, w.port);
  // /-/health answers once the first worker listens; the primary says so when all of them do.
  await waitFor(async () => child.log().includes('"msg":"countersign listening"'), 15_000);
  w.child = child;
  return child;
}

/** Access-log lines written by worker processes (their lines carry `worker`: the pid). */
function workerRequestLines(log: string, url = '/files/a.txt'): { hits: number; pids: Set<number> } {
  const pids = new Set<number>();
  let hits = 0;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { worker?: number; msg?: string; url?: string; status?: number };
    if (entry.worker === undefined || entry.msg !== 'request') continue;
    pids.add(entry.worker);
    if (entry.url === url && entry.status === 200) hits++;
  }
  return { hits, pids };
}

workersTest('workers serve warm hits from the store; the primary fetches, verifies and stores; /-/metrics sums them', async (w) => {
  let child: ServeChild | undefined;
  await publishRaw(w.upstream, w.key, '/a.txt', 'alpha');
  child = await start(w, { keyring: 'upstream.asc', checksums: 'sha256' });

  const cold = await fetch(`${w.base}/a.txt`);
  assert.equal(cold.status, 200);
  assert.equal(await cold.text(), 'alpha');
  assert.equal(cold.headers.get('x-cache'), 'MISS');
  assert.match(cold.headers.get('x-countersign-verification') ?? '', /^verified/);
  const upstreamAfterCold = w.upstream.requests('/a.txt');

  // Fresh connections, so the cluster spreads them over both workers.
  const warm = await Promise.all(Array.from({ length: 40 }, () => fetch(`${w.base}/a.txt`, { headers: { connection: 'close' } })));
  for (const r of warm) {
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-cache'), 'HIT');
    assert.equal(r.headers.get('x-content-sha256'), sha256('alpha'));
    assert.equal(await r.text(), 'alpha');
  }
  assert.equal(w.upstream.requests('/a.txt'), upstreamAfterCold, 'warm hits never reach the upstream');

  // Concurrent cold requests over both workers: one flight in the primary, one upstream request.
  await publishRaw(w.upstream, w.key, '/b.txt', 'bravo'.repeat(1000));
  w.upstream.setMode('/b.txt', { trickleMs: 5, chunkBytes: 512 });
  const many = await Promise.all(Array.from({ length: 60 }, () => fetch(`${w.base}/b.txt`, { headers: { connection: 'close' } }).then(async (r) => ({ status: r.status, body: await r.text() }))));
  for (const r of many) assert.deepEqual(r, { status: 200, body: 'bravo'.repeat(1000) });
  assert.equal(w.upstream.requests('/b.txt'), 1, 'one upstream request for 60 concurrent cold requests');

  // The org's signature: made and stored by the primary, then found by the workers, which hold no private key.
  const signed = await fetch(`${w.base}/a.txt.asc`);
  assert.equal(signed.status, 200);
  const signature = await signed.text();
  assert.match(signature, /BEGIN PGP SIGNATURE/);
  const again = await Promise.all(Array.from({ length: 20 }, () => fetch(`${w.base}/a.txt.asc`, { headers: { connection: 'close' } }).then((r) => r.text())));
  for (const text of again) assert.equal(text, signature);

  const metrics = await (await fetch(`http://127.0.0.1:${w.port}/-/metrics`)).text();
  const hits = /countersign_cache_results_total\{repository="files",result="hit"\} (\d+)/.exec(metrics);
  assert.ok(hits && Number(hits[1]) >= 40, `metrics sum the workers' hits: ${hits?.[0]}`);
  const served = /countersign_http_requests_total\{repository="files",format="raw",status="200"\} (\d+)/.exec(metrics);
  assert.ok(served && Number(served[1]) >= 101, `every request counted once: ${served?.[0]}`);

  assert.equal(await child.stop(), 0, 'a graceful shutdown of primary and workers exits 0');
  // Written by now: each worker flushes its log before it exits.
  const fromWorkers = workerRequestLines(child.log());
  assert.ok(fromWorkers.hits >= 20, `the workers answered the warm hits themselves (${fromWorkers.hits} access lines)`);
  assert.equal(fromWorkers.pids.size, 2, 'both workers took connections');
  assert.ok(workerRequestLines(child.log(), '/files/a.txt.asc').hits >= 15, 'the stored signature served by the workers themselves');
});

workersTest('workers: trust changed while stopped → no process serves the copy verified under the old trust', async (w) => {
  let child: ServeChild | undefined;
  await publishRaw(w.upstream, w.key, '/a.txt', 'alpha');
  child = await start(w, { keyring: 'upstream.asc', checksums: 'sha256' });
  assert.equal((await fetch(`${w.base}/a.txt`)).status, 200);
  assert.equal((await fetch(`${w.base}/a.txt`)).headers.get('x-cache'), 'HIT');
  await child.stop();

  // The operator now trusts another key only: the stored copy's signature is by the old one.
  const other = await makeUpstreamPgpKey();
  await writeFile(join(w.dataDir, 'upstream.asc'), other.armoredPublic);
  child = await start(w, { keyring: 'upstream.asc', checksums: 'sha256' });
  const refused = await Promise.all(Array.from({ length: 10 }, () => fetch(`${w.base}/a.txt`, { headers: { connection: 'close' } })));
  for (const r of refused) {
    assert.equal(r.status, 502, 'refused by whichever process took the connection');
    assert.equal((await r.json() as { code: string }).code, 'VERIFICATION_FAILED');
  }

  // Positive control: the upstream re-signs with the key now trusted; every process serves it.
  await publishRaw(w.upstream, other, '/a.txt', 'alpha');
  const ok = await fetch(`${w.base}/a.txt`);
  assert.equal(ok.status, 200);
  const warm = await Promise.all(Array.from({ length: 10 }, () => fetch(`${w.base}/a.txt`, { headers: { connection: 'close' } })));
  for (const r of warm) {
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'alpha');
  }
});

workersTest('workers see what the primary stores after they started: a revalidated mutable object is a hit again', async (w) => {
  let child: ServeChild | undefined;
  await publishRaw(w.upstream, w.key, '/SHA256SUMS-index', 'v1');
  child = await start(w, { keyring: 'upstream.asc', checksums: 'sha256' }, { metadataTtl: '3s' });
  assert.equal(await (await fetch(`${w.base}/SHA256SUMS-index`)).text(), 'v1');
  await publishRaw(w.upstream, w.key, '/SHA256SUMS-index', 'v2');
  await sleep(3200);
  // The TTL ran out: the first request after it goes through the primary, which fetches v2 …
  const next = await fetch(`${w.base}/SHA256SUMS-index`);
  assert.equal(await next.text(), 'v2');
  const upstreamCount = w.upstream.requests('/SHA256SUMS-index');
  // … and every worker now reads the new row (their cached rows are dropped when the database changes).
  await sleep(LOG_FLUSHED_MS);
  const before = workerRequestLines(child.log(), '/files/SHA256SUMS-index').hits;
  const warm = await Promise.all(Array.from({ length: 20 }, () => fetch(`${w.base}/SHA256SUMS-index`, { headers: { connection: 'close' } })));
  for (const r of warm) assert.equal(await r.text(), 'v2');
  assert.equal(w.upstream.requests('/SHA256SUMS-index'), upstreamCount, 'served from the store');
  await sleep(LOG_FLUSHED_MS);
  const after = workerRequestLines(child.log(), '/files/SHA256SUMS-index').hits;
  assert.equal(after - before, 20, 'by the workers themselves, not forwarded to the primary');
});

workersTest('workers: a killed worker is replaced while the other serves; a killed primary takes its workers with it', async (w) => {
  let child: ServeChild | undefined;
  await publishRaw(w.upstream, w.key, '/a.txt', 'alpha');
  child = await start(w, { keyring: 'upstream.asc', checksums: 'sha256' });
  assert.equal((await fetch(`${w.base}/a.txt`)).status, 200);
  const primary = child.process.pid!;
  const [first, second] = childrenOf(primary);
  assert.ok(first && second, 'two workers');

  process.kill(first, 'SIGKILL');
  // Once the primary has seen it die, every request is answered by the other worker meanwhile.
  await waitFor(async () => !childrenOf(primary).includes(first), 15_000);
  for (let i = 0; i < 20; i++) assert.equal(await (await fetch(`${w.base}/a.txt`, { headers: { connection: 'close' } })).text(), 'alpha');
  await waitFor(async () => childrenOf(primary).length === 2 && !childrenOf(primary).includes(first), 15_000);
  assert.equal(await (await fetch(`${w.base}/a.txt`)).text(), 'alpha', 'served with the replacement worker');

  const workers = childrenOf(primary);
  child.process.kill('SIGKILL');
  await waitFor(async () => workers.every((pid) => !alive(pid)), 15_000);
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
