/**
 * Profiles cold npm tarball requests (issue 13, npm cold installs): a mirror process
 * (`countersign serve` under `node --cpu-prof`, debug log) answers what `npm ci` asks of a cold
 * mirror (only tarballs, PROFILE_NPM_CONCURRENCY at a time, npm's maxsockets) from a fixture
 * registry of PROFILE_NPM_PACKAGES signed packages, each with PROFILE_NPM_VERSIONS versions (a
 * tarball's packument lists them all). It prints where a cold tarball request spends its time,
 * from the mirror's own log (the request, and its upstream exchanges), then the profile's top
 * functions by self time. The .cpuprofile is kept for a flame graph.
 *
 *   node --import tsx bench/profile-npm-cold.ts
 *   PROFILE_NPM_LOCKFILE=path/package-lock.json node --import tsx bench/profile-npm-cold.ts
 *
 * With PROFILE_NPM_LOCKFILE the tarballs are those the lockfile resolves, from the registry this
 * machine's npm is configured with (`npm config get registry`, network), under `verify: warn`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureNpmRegistry } from '../test/helpers/fixture-npm-registry.js';
import { configText, freePort, makeDataDir, removeDir } from '../test/helpers/mirror-harness.js';
import { mapLimit } from '../src/formats/map-limit.js';
import { topSelf } from './profile-warm.js';

const PACKAGES = Number(process.env.PROFILE_NPM_PACKAGES ?? 300);
const VERSIONS = Number(process.env.PROFILE_NPM_VERSIONS ?? 1);
const CONCURRENCY = Number(process.env.PROFILE_NPM_CONCURRENCY ?? 15);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

interface LogLine { msg?: string; url?: string; upstream?: string; ms?: number; time?: number }

/** Tarball paths (from the registry root) and the repository that serves them. */
async function upstreamUnderTest(): Promise<{ tarballs: string[]; repository: Record<string, unknown>; stop(): Promise<void> }> {
  const lockfile = process.env.PROFILE_NPM_LOCKFILE;
  if (lockfile) {
    const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/?$/, '/');
    const { packages } = JSON.parse(await readFile(lockfile, 'utf8')) as { packages: Record<string, { resolved?: string }> };
    const tarballs = Object.values(packages).map((p) => p.resolved).filter((r): r is string => r?.startsWith(registry) ?? false).map((r) => `/${r.slice(registry.length)}`);
    return { tarballs, repository: { name: 'npm', format: 'npm', upstream: registry, verify: 'warn', metadataTtl: '1h' }, stop: async () => undefined };
  }
  const npm = await startFixtureNpmRegistry();
  const tarballs: string[] = [];
  for (let i = 0; i < PACKAGES; i++) {
    for (let v = 0; v < VERSIONS; v++) {
      const p = npm.publish({ name: `prof-dep-${i}`, version: `1.0.${v}`, files: { 'lib.js': `module.exports = ${JSON.stringify('x'.repeat(3000 + i))};\n` } });
      if (v === VERSIONS - 1) tarballs.push(p.tarballPath);
    }
  }
  return { tarballs, repository: { name: 'npm', format: 'npm', upstream: npm.url, trust: { keys: npm.keysDocument }, metadataTtl: '1h' }, stop: () => npm.stop() };
}

export async function profileNpmCold(): Promise<void> {
  const npm = await upstreamUnderTest();
  const { tarballs } = npm;
  const dataDir = await makeDataDir();
  const port = await freePort();
  const configFile = join(dataDir, 'config.yaml');
  await writeFile(configFile, configText({
    listen: { host: '127.0.0.1', port, maxRequestsPerSocket: 0 }, publicUrl: `http://127.0.0.1:${port}`, dataDir, log: { level: 'debug' },
    repositories: [npm.repository as never],
  }));
  const profDir = join(dataDir, 'profile');
  const child = spawn('taskset', ['-c', '0', process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${base}/-/health`).catch(() => undefined))?.ok; i++) {
    if (i > 300) throw new Error('the mirror did not start');
    await sleep(100);
  }
  const started = performance.now();
  const latencies: number[] = [];
  await mapLimit(tarballs, CONCURRENCY, async (path) => {
    const t = performance.now();
    const res = await fetch(`${base}/npm${path}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    latencies.push(performance.now() - t);
  });
  const wall = performance.now() - started;
  // A warm pass (what `npm ci` with a clean npm cache asks of a warm mirror), for comparison.
  const warmStarted = performance.now();
  const warmLatencies: number[] = [];
  await mapLimit(tarballs, CONCURRENCY, async (path) => {
    const t = performance.now();
    const res = await fetch(`${base}/npm${path}`);
    await res.arrayBuffer();
    warmLatencies.push(performance.now() - t);
  });
  const warmWall = performance.now() - warmStarted;
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
  await npm.stop();

  const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const ms = (pick: (l: LogLine) => boolean): number[] => lines.filter(pick).map((l) => l.ms ?? 0);
  // The cold pass ends before the warm one starts, so its request lines come first.
  const requests = lines.filter((l) => l.msg === 'request' && (l.url ?? '').endsWith('.tgz')).slice(0, tarballs.length).map((l) => l.ms ?? 0);
  const packuments = ms((l) => l.msg === 'Upstream request' && !(l.upstream ?? '').endsWith('.tgz') && !(l.upstream ?? '').includes('/-/npm/'));
  const upstreamTarballs = ms((l) => l.msg === 'Upstream request' && (l.upstream ?? '').endsWith('.tgz'));
  console.log(`${tarballs.length} cold tarball requests, ${CONCURRENCY} at a time${process.env.PROFILE_NPM_LOCKFILE ? '' : `, packuments of ${VERSIONS} version(s)`}: ${(wall / 1000).toFixed(2)} s wall`);
  console.log(`  cold, median ms: client-seen ${median(latencies).toFixed(1)}, in the mirror ${median(requests)}; its upstream exchanges: packument ${median(packuments)}, tarball ${median(upstreamTarballs)}`);
  console.log(`  warm pass: ${(warmWall / 1000).toFixed(2)} s wall, client-seen median ${median(warmLatencies).toFixed(1)} ms`);
  // tsx's loader runs in a worker thread with a profile of its own: the main thread's is the largest.
  const profiles = await Promise.all((await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, text: await readFile(join(profDir, f), 'utf8') })));
  const main = profiles.sort((a, b) => b.text.length - a.text.length)[0]!;
  const file = main.f;
  const profile = JSON.parse(main.text) as Parameters<typeof topSelf>[0];
  for (const { share, name } of topSelf(profile, 25)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
  if (process.env.PROFILE_KEEP === '1') console.log(`profile: ${join(profDir, file)}`);
  else await removeDir(dataDir);
}

if (import.meta.url === `file://${process.argv[1]}`) await profileNpmCold();
