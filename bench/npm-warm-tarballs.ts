/**
 *   npm-warm-tarballs: warm hits on 20 npm tarballs of ~50 KB, 64 connections, from one signed
 *   fixture registry: the mirror (its own process) vs Verdaccio vs nginx proxy_cache vs a bare
 *   node:http server answering the same bytes from memory. Every server on CPU 0, the load
 *   generator on CPU 1. Prints req/s, p99, each server's peak RSS and the ratios.
 */
import { randomBytes } from 'node:crypto';
import { startFixtureNpmRegistry } from '../test/helpers/fixture-npm-registry.js';
import { startBareNode, type BareFile } from './anchors/bare-node.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { startNginxCache } from './anchors/nginx.js';
import type { Target } from './anchors/target.js';
import { startVerdaccio } from './anchors/verdaccio.js';
import { compare, split, type Measured } from './compare.js';
import { CONNECTIONS, ROUNDS, SECONDS, warm } from './settings.js';

const PACKAGES = 20;

export async function npmWarmTarballs(): Promise<void> {
  const npm = await startFixtureNpmRegistry();
  const names = Array.from({ length: PACKAGES }, (_, i) => `bench-tar-${i}`);
  const bare = new Map<string, BareFile>();
  for (const name of names) {
    // Random bytes do not compress: the tarball stays ~50 KB after gzip.
    const p = npm.publish({ name, version: '1.0.0', files: { 'data.bin': randomBytes(50 * 1024 - 700) } });
    bare.set(p.tarballPath, { bytes: p.bytes });
  }
  const tarballs = names.map((n) => npm.tarballPath(n, '1.0.0'));
  console.log(`  ${PACKAGES} tarballs of ${(bare.get(tarballs[0]!)!.bytes.length / 1024).toFixed(1)} KB`);
  const started: Target[] = [];
  try {
    const mirror = await startMirrorProcess([{ name: 'npm', format: 'npm', upstream: npm.url, trust: { keys: npm.keysDocument }, metadataTtl: '1h' }]);
    started.push(mirror);
    const { targets, skipped } = split([await startNginxCache(npm.url), await startVerdaccio(npm.url), await startBareNode(bare)]);
    started.push(...targets);
    const measured: Measured[] = [{ target: mirror, paths: tarballs.map((t) => `/npm${t}`) }];
    for (const t of targets) measured.push({ target: t, paths: tarballs });
    // As a client does: the packument, then the tarball; two passes, the second all hits.
    await warm(mirror.url, names.flatMap((n, i) => [`/npm/${n}`, measured[0]!.paths[i]!]));
    for (const t of targets) if (t.name !== 'bare node:http') await warm(t.url, names.flatMap((n, i) => [`/${n}`, tarballs[i]!]));
    await compare(measured, skipped, {
      title: 'npm tarballs, 50 KB, warm hits', connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, best: 'rps', upstreamRequests: () => npm.requests(),
    });
  } finally {
    for (const t of started) await t.stop();
    await npm.stop();
  }
}
