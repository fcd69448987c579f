/**
 *   raw: warm Raw hits (20 OpenPGP-signed 50 KB files) through the mirror (its own process) vs
 *   nginx proxy_cache vs a bare node:http server with the same bytes in memory, same run.
 *   cold-coalesce: 1,000 concurrent cold requests for one object (BENCH_COLD_CONCURRENCY) →
 *   upstream request count, and every response checked against the published bytes.
 */
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { publishRaw } from '../test/helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../test/helpers/upstream-openpgp.js';
import { startBareNode, type BareFile } from './anchors/bare-node.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { startNginxCache } from './anchors/nginx.js';
import { peakOf, type Target } from './anchors/target.js';
import { compare, split } from './compare.js';
import { CONNECTIONS, ROUNDS, SECONDS, warm } from './settings.js';

const COLD_CONCURRENCY = Number(process.env.BENCH_COLD_CONCURRENCY ?? 1000);
const BASELINE = process.env.BENCH_BASELINE;

export async function rawWarm(): Promise<void> {
  const [upstream, key] = await Promise.all([startFixtureUpstream(), makeUpstreamPgpKey()]);
  const files = Array.from({ length: 20 }, (_, i) => `/pkg-${i}.tgz`);
  const bare = new Map<string, BareFile>();
  for (const [i, f] of files.entries()) {
    await publishRaw(upstream, key, f, Buffer.alloc(50 * 1024, i));
    bare.set(f, { bytes: Buffer.alloc(50 * 1024, i) });
  }
  const started: Target[] = [];
  try {
    const mirror = await startMirrorProcess(
      [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: '1h' }],
      {
        files: { 'upstream.asc': key.armoredPublic },
        // One client opening COLD_CONCURRENCY connections at once: above the default per-client cap.
        extra: { listen: { maxConnectionsPerClient: Math.max(256, COLD_CONCURRENCY + 16), maxConnections: Math.max(2048, COLD_CONCURRENCY + 64) } },
      },
    );
    started.push(mirror);
    // BENCH_BASELINE=<another checkout>: its mirror measured beside this one (an A/B of a change).
    const baseline = BASELINE ? await startMirrorProcess(
      [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: '1h' }],
      { files: { 'upstream.asc': key.armoredPublic }, checkout: BASELINE },
    ) : undefined;
    if (baseline) started.push(baseline);
    const { targets, skipped } = split([await startNginxCache(upstream.url), await startBareNode(bare)]);
    started.push(...targets);
    const mirrorPaths = files.map((f) => `/files${f}`);
    await warm(mirror.url, mirrorPaths);
    if (baseline) await warm(baseline.url, mirrorPaths);
    for (const t of targets) if (t.name.startsWith('nginx')) await warm(t.url, files);
    await compare([{ target: mirror, paths: mirrorPaths }, ...(baseline ? [{ target: baseline, paths: mirrorPaths }] : []), ...targets.map((t) => ({ target: t, paths: files }))], skipped, {
      title: 'Raw files, 50 KB, warm hits', connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, best: 'rps', upstreamRequests: () => upstream.requests(),
    });

    const hot = Buffer.alloc(1024 * 1024, 9);
    await publishRaw(upstream, key, '/hot.bin', hot);
    upstream.setMode('/hot.bin', { slowMs: 300 });
    upstream.resetCounts();
    const t0 = performance.now();
    const bodies = await Promise.all(Array.from({ length: COLD_CONCURRENCY }, async () => {
      const res = await fetch(`${mirror.url}/files/hot.bin`);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }));
    const wrong = bodies.filter((b) => b.status !== 200 || !b.body.equals(hot)).length;
    console.log(`  cold-coalesce: ${COLD_CONCURRENCY} concurrent cold requests for one 1 MiB object → ${upstream.requests('/hot.bin')} upstream request(s) for it (${upstream.requests()} upstream requests in all) in ${(performance.now() - t0).toFixed(0)} ms; ${COLD_CONCURRENCY - wrong} answered 200 with the published bytes, ${wrong} did not; mirror peak RSS ${peakOf(mirror)}`);
  } finally {
    for (const t of started) await t.stop();
    await upstream.stop();
  }
}
