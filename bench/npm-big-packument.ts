/**
 *   npm-big-packument: a 2,000-version (~8 MB) signed packument, the Verdaccio #6019 case.
 *   Measures the cold derive (verify 2,000 signatures, re-sign, rewrite) once, then p99 with
 *   1 and 20 concurrent clients through the warm mirror vs the same bytes from a plain
 *   node:http server in memory (the baseline), in the same run.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { removeDir, startMirror } from '../test/helpers/mirror-harness.js';
import { load } from './load-child.js';

const VERSIONS = Number(process.env.BENCH_NPM_VERSIONS ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function makePackument(privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'], base: string) {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = {};
  const filler = 'x'.repeat(3500);
  for (let i = 0; i < VERSIONS; i++) {
    const v = `1.${Math.floor(i / 100)}.${i % 100}`;
    const integrity = `sha512-${createHash('sha512').update(v).digest('base64')}`;
    const sig = sign('sha256', Buffer.from(`big@${v}:${integrity}`), privateKey).toString('base64');
    versions[v] = {
      name: 'big', version: v, description: filler, dependencies: { a: '^1.0.0' },
      dist: { integrity, shasum: createHash('sha1').update(v).digest('hex'), tarball: `${base}/big/-/big-${v}.tgz`, signatures: [{ keyid: 'SHA256:bench', sig }] },
    };
    time[v] = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString();
  }
  const last = Object.keys(versions).at(-1)!;
  return { name: 'big', 'dist-tags': { latest: last }, versions, time };
}

export async function npmBigPackument(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const [upstream, baseline] = await Promise.all([startFixtureUpstream(), startFixtureUpstream()]);
  const doc = Buffer.from(JSON.stringify(makePackument(privateKey, upstream.url)));
  upstream.setFile('/big', doc, { contentType: 'application/json' });
  const keysDoc = { keys: [{ keyid: 'SHA256:bench', key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), expires: null }] };
  upstream.setFile('/-/npm/v1/keys', JSON.stringify(keysDoc), { contentType: 'application/json' });
  const mirror = await startMirror({ repositories: [{ name: 'npm', format: 'npm', upstream: upstream.url, verify: 'require', anchor: 'first-use', metadataTtl: '1h' }] });
  try {
    let started = performance.now();
    const first = await mirror.get('/npm/big');
    const served = Buffer.from(await first.arrayBuffer());
    const coldMs = performance.now() - started;
    if (first.status !== 200) throw new Error(`cold request failed: ${first.status} ${served.toString().slice(0, 300)}`);
    started = performance.now();
    await (await mirror.get('/npm/big')).arrayBuffer();
    const warmMs = performance.now() - started;
    baseline.setFile('/big', served, { contentType: 'application/json' });
    upstream.resetCounts();
    console.log(`packument: ${VERSIONS} versions, upstream ${(doc.length / 1e6).toFixed(1)} MB, served ${(served.length / 1e6).toFixed(1)} MB`);
    console.log(`  cold (fetch + verify ${VERSIONS} signatures + re-sign + rewrite): ${coldMs.toFixed(0)} ms; next request ${warmMs.toFixed(1)} ms`);
    for (const connections of [1, 20]) {
      // Interleaved rounds, best p99 of each: other load on a shared machine only ever slows a target down.
      let base = { rps: 0, p99: Infinity, errors: 0 };
      let m = { rps: 0, p99: Infinity, errors: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        const b = await load(baseline.url, ['/big'], { connections, seconds: SECONDS });
        const t = await load(mirror.url, ['/npm/big'], { connections, seconds: SECONDS });
        if (b.p99 < base.p99) base = b;
        if (t.p99 < m.p99) m = t;
      }
      console.log(`  ${String(connections).padStart(2)} clients: baseline p99 ${base.p99} ms (${base.rps.toFixed(0)} req/s) | mirror p99 ${m.p99} ms (${m.rps.toFixed(0)} req/s, errors ${m.errors}) | p99 ratio ${(m.p99 / Math.max(1, base.p99)).toFixed(2)}x`);
    }
    if (upstream.requests() !== 0) throw new Error(`warm runs reached the upstream ${upstream.requests()} times`);
  } finally {
    await mirror.close();
    await Promise.all([upstream.stop(), baseline.stop()]);
    await removeDir(mirror.dataDir);
  }
}
