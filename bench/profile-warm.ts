/**
 * Profiles warm hits (issue 13: "profile before changing it"): a mirror process (`countersign serve`
 * under `node --cpu-prof`) answers warm raw hits (50 KB files) and npm tarball hits from a
 * loopback load generator for PROFILE_SECONDS, then the profile's top functions by self time are
 * printed. The .cpuprofile is kept for a flame graph (Chrome DevTools, speedscope).
 *
 *   node --import tsx bench/profile-warm.ts            # prints the top 25, keeps the profile
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from './load-child.js';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { configText, freePort, makeDataDir } from '../test/helpers/mirror-harness.js';
import { publishRaw } from '../test/helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../test/helpers/upstream-openpgp.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Self time per function (name, file, line), as a share of all samples. */
export function topSelf(profile: CpuProfile, n: number): { share: number; name: string }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, c]) => ({ share: c / total, name }));
}

export async function profileWarm(): Promise<void> {
  const upstream = await startFixtureUpstream();
  const key = await makeUpstreamPgpKey();
  const dataDir = await makeDataDir();
  await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
  const files = Array.from({ length: 20 }, (_, i) => `/pkg-${i}.tgz`);
  for (const [i, f] of files.entries()) await publishRaw(upstream, key, f, Buffer.alloc(50 * 1024, i));
  const port = await freePort();
  const configFile = join(dataDir, 'config.yaml');
  await writeFile(configFile, configText({
    listen: { host: '127.0.0.1', port, maxRequestsPerSocket: 0 }, publicUrl: `http://127.0.0.1:${port}`, dataDir, log: { level: 'info' },
    repositories: [{ name: 'files', format: 'raw', upstream: upstream.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: '1h' }],
  }));
  const profDir = join(dataDir, 'profile');
  const child = spawn('taskset', ['-c', '0', process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${base}/-/health`).catch(() => undefined))?.ok; i++) {
    if (i > 300) throw new Error('the mirror did not start');
    await sleep(100);
  }
  const paths = files.map((f) => `/files${f}`);
  for (let pass = 0; pass < 2; pass++) for (const p of paths) await (await fetch(base + p)).arrayBuffer();
  const result = await load(base, paths, { connections: 64, seconds: SECONDS });
  console.log(`warm raw hits under the profiler: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, errors ${result.errors}`);
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
  await upstream.stop();
  // tsx's loader thread writes a profile too: the main thread's is the largest.
  const profiles = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  const sizes = await Promise.all(profiles.map(async (f) => ({ f, size: (await stat(join(profDir, f))).size })));
  const file = sizes.sort((a, b) => b.size - a.size)[0]?.f;
  const profile = JSON.parse(await readFile(join(profDir, file!), 'utf8')) as CpuProfile;
  for (const { share, name } of topSelf(profile, 25)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`profile: ${join(profDir, file!)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await profileWarm();
