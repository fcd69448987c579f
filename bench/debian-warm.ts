/**
 *   debian: warm hits on a signed fixture archive (InRelease, Packages.gz/.xz and 20 .debs made
 *   with dpkg-deb and apt-ftparchive, signed with gpg): the mirror (its own process) vs the same
 *   archive files served directly by a bare node:http server from memory (the archive as its
 *   own server answers them) vs nginx proxy_cache in front of the fixture archive. The request
 *   mix is apt's: indexes first, then packages.
 */
import { DebianFixture, makeGpgKey } from '../test/helpers/debian-fixture.js';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { startBareNode, type BareFile } from './anchors/bare-node.js';
import { startMirrorProcess } from './anchors/mirror-process.js';
import { startNginxCache } from './anchors/nginx.js';
import type { Target } from './anchors/target.js';
import { compare, split, type Measured } from './compare.js';
import { CONNECTIONS, ROUNDS, SECONDS, warm } from './settings.js';

const DEBS = 20;

export async function debianWarm(): Promise<void> {
  const [upstream, key] = await Promise.all([startFixtureUpstream(), makeGpgKey('Bench Archive')]);
  const archive = await DebianFixture.create(key);
  const started: Target[] = [];
  try {
    const debs: string[] = [];
    for (let i = 0; i < DEBS; i++) debs.push(await archive.addDeb({ name: `bench-pkg-${i}`, version: '1.0', pool: `pool/main/b/bench-pkg-${i}` }));
    await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['gz', 'xz'], signing: 'both' });
    await archive.publish(upstream, '/debian');
    const files = ['dists/stable/InRelease', 'dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/main/binary-amd64/Packages.gz', 'dists/stable/main/binary-amd64/Packages.xz', ...debs];
    const bare = new Map<string, BareFile>();
    for (const f of files) bare.set(`/debian/${f}`, { bytes: await archive.file(f) });
    const mirror = await startMirrorProcess(
      [{ name: 'deb', format: 'debian', upstream: `${upstream.url}/debian`, trust: { keyring: 'archive.gpg' }, metadataTtl: '1h' }],
      { files: { 'archive.gpg': key.binaryKeyring } },
    );
    started.push(mirror);
    const { targets, skipped } = split([await startBareNode(bare, 'archive direct (node:http)'), await startNginxCache(upstream.url)]);
    started.push(...targets);
    const upstreamPaths = files.map((f) => `/debian/${f}`);
    const mirrorPaths = files.map((f) => `/deb/${f}`);
    await warm(mirror.url, mirrorPaths);
    for (const t of targets) if (t.name.startsWith('nginx')) await warm(t.url, upstreamPaths);
    const sizes = await Promise.all(['dists/stable/main/binary-amd64/Packages.xz', debs[0]!].map(async (f) => `${f.split('/').pop()} ${(await archive.file(f)).length} B`));
    console.log(`  archive: ${DEBS} .debs, InRelease + Release + Release.gpg + Packages.gz/.xz (${sizes.join(', ')})`);
    const measured: Measured[] = [{ target: mirror, paths: mirrorPaths }, ...targets.map((t) => ({ target: t, paths: upstreamPaths }))];
    await compare(measured, skipped, {
      title: 'Debian index and package files, warm hits', connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, best: 'rps', upstreamRequests: () => upstream.requests(),
    });
  } finally {
    for (const t of started) await t.stop();
    await upstream.stop();
    await archive.close();
    await key.close();
  }
}
