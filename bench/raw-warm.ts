/**
 *   warm-raw: warm Raw hits through the mirror vs the same bytes straight from the fixture
 *             upstream (a plain node:http server serving from memory), 50 KB files.
 *   cold-coalesce: 1,000 concurrent cold requests for one object (BENCH_COLD_CONCURRENCY) →
 *   upstream request count, and every response checked against the published bytes.
 */
import { load as loadWith } from './load-child.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror } from '../test/helpers/mirror-harness.js';
import { publishRaw } from '../test/helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../test/helpers/upstream-openpgp.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const COLD_CONCURRENCY = Number(process.env.BENCH_COLD_CONCURRENCY ?? 1000);

const load = (url: string, paths: string[]) => loadWith(url, paths, { connections: CONNECTIONS, seconds: DURATION_S });

export async function rawWarm(): Promise<void> {
  // The baseline is a second fixture with the same files, so its load never counts as mirror traffic.
  const [upstream, baseline] = await Promise.all([startFixtureUpstream(), startFixtureUpstream()]);
  const key = await makeUpstreamPgpKey();
  const dataDir = await makeDataDir();
  await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
  const files = Array.from({ length: 20 }, (_, i) => `/pkg-${i}.tgz`);
  for (const [i, f] of files.entries()) {
    await publishRaw(upstream, key, f, Buffer.alloc(50 * 1024, i));
    baseline.setFile(f, Buffer.alloc(50 * 1024, i));
  }
  const mirror = await startMirror({
    dataDir,
    // One client opening COLD_CONCURRENCY connections at once: above the default per-client cap.
    listen: { maxConnectionsPerClient: Math.max(256, COLD_CONCURRENCY + 16), maxConnections: Math.max(2048, COLD_CONCURRENCY + 64) },
    repositories: [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: '1h' }],
  });
  try {
    const mirrorPaths = files.map((f) => `/files${f}`);
    for (let pass = 0; pass < 2; pass++) for (const p of mirrorPaths) await (await mirror.get(p)).arrayBuffer();
    upstream.resetCounts();

    let best = { base: { rps: 0, p99: 0, errors: 0 }, mirror: { rps: 0, p99: 0, errors: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      const base = await load(baseline.url, files);
      const m = await load(mirror.url, mirrorPaths);
      if (upstream.requests() !== 0) throw new Error(`warm run reached the upstream ${upstream.requests()} times`);
      if (base.rps > best.base.rps) best = { ...best, base };
      if (m.rps > best.mirror.rps) best = { ...best, mirror: m };
      console.log(`round ${round + 1}: baseline ${base.rps.toFixed(0)} req/s p99 ${base.p99} ms | mirror ${m.rps.toFixed(0)} req/s p99 ${m.p99} ms`);
    }
    console.log(`warm-raw (50 KB, ${CONNECTIONS} connections, best of ${ROUNDS}):`);
    console.log(`  baseline (fixture from memory): ${best.base.rps.toFixed(0)} req/s, p99 ${best.base.p99} ms`);
    console.log(`  mirror warm hits:               ${best.mirror.rps.toFixed(0)} req/s, p99 ${best.mirror.p99} ms, errors ${best.mirror.errors}`);
    console.log(`  ratio mirror/baseline: ${(best.mirror.rps / best.base.rps).toFixed(2)}x throughput`);

    const hot = Buffer.alloc(1024 * 1024, 9);
    await publishRaw(upstream, key, '/hot.bin', hot);
    upstream.setMode('/hot.bin', { slowMs: 300 });
    upstream.resetCounts();
    const started = performance.now();
    const bodies = await Promise.all(Array.from({ length: COLD_CONCURRENCY }, async () => {
      const res = await mirror.get('/files/hot.bin');
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }));
    const wrong = bodies.filter((b) => b.status !== 200 || !b.body.equals(hot)).length;
    console.log(`cold-coalesce: ${COLD_CONCURRENCY} concurrent cold requests for one 1 MiB object → ${upstream.requests('/hot.bin')} upstream request(s) for it (${upstream.requests()} upstream requests in all) in ${(performance.now() - started).toFixed(0)} ms; ${COLD_CONCURRENCY - wrong} answered 200 with the published bytes, ${wrong} did not`);
  } finally {
    await mirror.close();
    await upstream.stop();
    await baseline.stop();
    await removeDir(dataDir);
  }
}

