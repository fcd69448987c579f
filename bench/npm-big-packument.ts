/**
 *   npm-packument: a 2,000-version signed packument (~8 MB full, ~3.7 MB abbreviated), the
 *   Verdaccio #6019 case. Measures the mirror's cold derive (verify 2,000 signatures, re-sign,
 *   rewrite) once per form, then p99 with 1 and 20 concurrent clients on warm hits: the mirror
 *   (its own process) vs Verdaccio vs nginx proxy_cache vs a bare node:http server answering the
 *   mirror's own served bytes from memory, same fixture, same run.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { startBareNode } from './anchors/bare-node.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { startNginxCache } from './anchors/nginx.js';
import type { Target } from './anchors/target.js';
import { startVerdaccio } from './anchors/verdaccio.js';
import { compare, split } from './compare.js';
import { ROUNDS, SECONDS, warm } from './settings.js';

const VERSIONS = Number(process.env.BENCH_NPM_VERSIONS ?? 2000);
// Verdaccio's 20-client p99 is ~8-10 s: a round must be longer than that for it to mean anything.
const LONG_SECONDS = Number(process.env.BENCH_PACKUMENT_SECONDS ?? Math.max(SECONDS, 20));
const CORGI = 'application/vnd.npm.install-v1+json';
const ABBREVIATED_FIELDS = ['name', 'version', 'dependencies', 'optionalDependencies', 'peerDependencies', 'bin', 'engines', 'dist', 'deprecated'];

/** Per version ~4 KB full: a 2.2 KB description (dropped when abbreviated) and 40 dependencies (kept). */
function makePackument(privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'], base: string) {
  const versions: Record<string, Record<string, unknown>> = {};
  const time: Record<string, string> = {};
  const description = 'x'.repeat(2200);
  const dependencies = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`dependency-number-${i}`, `^${i}.0.0`]));
  for (let i = 0; i < VERSIONS; i++) {
    const v = `1.${Math.floor(i / 100)}.${i % 100}`;
    const integrity = `sha512-${createHash('sha512').update(v).digest('base64')}`;
    const sig = sign('sha256', Buffer.from(`big@${v}:${integrity}`), privateKey).toString('base64');
    versions[v] = {
      name: 'big', version: v, description, dependencies,
      dist: { integrity, shasum: createHash('sha1').update(v).digest('hex'), tarball: `${base}/big/-/big-${v}.tgz`, signatures: [{ keyid: 'SHA256:bench', sig }] },
    };
    time[v] = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString();
  }
  const last = Object.keys(versions).at(-1)!;
  const full = { name: 'big', 'dist-tags': { latest: last }, versions, time };
  const abbreviated = {
    name: 'big', modified: time[last], 'dist-tags': { latest: last },
    versions: Object.fromEntries(Object.entries(versions).map(([v, m]) => [v, Object.fromEntries(ABBREVIATED_FIELDS.filter((f) => f in m).map((f) => [f, m[f]]))])),
  };
  return { full: Buffer.from(JSON.stringify(full)), abbreviated: Buffer.from(JSON.stringify(abbreviated)) };
}

export async function npmBigPackument(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const upstream = await startFixtureUpstream();
  const docs = makePackument(privateKey, upstream.url);
  const etag = (b: Buffer): string => `"${createHash('sha256').update(b).digest('hex').slice(0, 32)}"`;
  upstream.setHandler('/big', (req, res) => {
    const corgi = (req.headers.accept ?? '').includes(CORGI);
    const body = corgi ? docs.abbreviated : docs.full;
    res.writeHead(200, { 'content-type': corgi ? CORGI : 'application/json', 'content-length': body.length, etag: etag(body), vary: 'accept' });
    res.end(body);
  });
  const keysDoc = { keys: [{ keyid: 'SHA256:bench', keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), expires: null }] };
  upstream.setFile('/-/npm/v1/keys', JSON.stringify(keysDoc), { contentType: 'application/json' });
  const started: Target[] = [];
  try {
    const mirror = await startMirrorProcess([{ name: 'npm', format: 'npm', upstream: upstream.url, verify: 'require', anchor: 'first-use', metadataTtl: '1h' }]);
    started.push(mirror);
    const served: Record<'full' | 'abbreviated', Buffer> = { full: Buffer.alloc(0), abbreviated: Buffer.alloc(0) };
    for (const form of ['full', 'abbreviated'] as const) {
      const t0 = performance.now();
      const res = await fetch(`${mirror.url}/npm/big`, { headers: { accept: form === 'full' ? 'application/json' : CORGI } });
      served[form] = Buffer.from(await res.arrayBuffer());
      const coldMs = performance.now() - t0;
      if (res.status !== 200) throw new Error(`cold ${form} request failed: ${res.status} ${served[form].toString('utf8', 0, 300)}`);
      console.log(`  ${form}: upstream ${(docs[form].length / 1e6).toFixed(1)} MB, mirror serves ${(served[form].length / 1e6).toFixed(1)} MB; cold through the mirror (fetch + verify ${VERSIONS} signatures + re-sign + rewrite) ${coldMs.toFixed(0)} ms`);
    }
    const { targets, skipped } = split([
      await startNginxCache(upstream.url),
      await startVerdaccio(upstream.url),
      await startBareNode(new Map([['/big', { bytes: served.full, contentType: 'application/json' }], ['/big-abbreviated', { bytes: served.abbreviated, contentType: CORGI }]])),
    ]);
    started.push(...targets);
    for (const accept of ['application/json', CORGI]) {
      await warm(mirror.url, ['/npm/big'], { accept });
      for (const t of targets) if (t.name !== 'bare node:http') await warm(t.url, ['/big'], { accept });
    }
    for (const form of ['full', 'abbreviated'] as const) {
      const accept = form === 'full' ? 'application/json' : CORGI;
      for (const connections of [1, 20]) {
        await compare(
          [{ target: mirror, paths: ['/npm/big'], accept }, ...targets.map((t) => ({ target: t, paths: [t.name === 'bare node:http' ? (form === 'full' ? '/big' : '/big-abbreviated') : '/big'], accept }))],
          skipped,
          { title: `${VERSIONS}-version packument, ${form} (${(served[form].length / 1e6).toFixed(1)} MB), warm hits`, connections, seconds: connections > 1 ? LONG_SECONDS : SECONDS, rounds: ROUNDS, best: 'p99', upstreamRequests: () => upstream.requests() },
        );
      }
    }
  } finally {
    for (const t of started) await t.stop();
    await upstream.stop();
  }
}
