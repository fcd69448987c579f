/**
 *   npm-real (opt-in, network): `npm ci` of a real tree (express, typescript, eslint, jest, axios,
 *   @babel/core, lodash: ~420 packages) with a clean npm cache each time, from the registry this
 *   machine's npm is configured with (`npm config get registry`, read at run time): direct vs
 *   through the mirror cold (an empty data directory) then warm. That registry publishes no keys
 *   the mirror could pin, so the repository runs `verify: warn`. The lockfile is made once against
 *   the registry; each target gets it with `resolved` pointing at that target. Cold and direct
 *   rounds alternate (each cold round on a fresh mirror), so load on a shared machine hits both.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNpm, withSlash } from '../test/helpers/npm-client.js';
import { startMirrorProcess, type MirrorTarget } from './anchors/mirror-process.js';
import { peakOf } from './anchors/target.js';
import { pinSelf, unpinSelf } from './load-child.js';
import { cpuMs } from './anchors/process-memory.js';
import { project } from './npm-ci-lockfile.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TREE = { express: '^4', typescript: '^5', eslint: '^8', jest: '^29', axios: '^1', '@babel/core': '^7', lodash: '^4' };

export async function npmReal(): Promise<void> {
  unpinSelf();
  const registry = withSlash(execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim());
  const work = await mkdtemp(join(tmpdir(), 'countersign-bench-npm-real-'));
  const started: MirrorTarget[] = [];
  try {
    const pkg = { name: 'bench-real', version: '1.0.0', private: true, dependencies: TREE };
    const lockDir = await project(work, 'lock', pkg, undefined);
    const locked = await runNpm(lockDir, ['install', '--package-lock-only', '--no-audit', '--no-fund'], { registry, timeoutMs: 600_000 });
    if (locked.code !== 0) throw new Error(`npm install --package-lock-only failed: ${locked.stderr.slice(-1000)}`);
    const lockfile = await readFile(join(lockDir, 'package-lock.json'), 'utf8');
    const entries = Object.keys((JSON.parse(lockfile) as { packages: Record<string, unknown> }).packages).filter((k) => k.startsWith('node_modules/')).length;
    console.log(`  lockfile: ${entries} packages from the configured registry`);

    const cpus: Record<string, number[]> = {};
    const ci = async (label: string, base: string, server?: MirrorTarget): Promise<number> => {
      const dir = await project(work, label.replace(/\W+/g, '-'), pkg, lockfile.replaceAll(registry, base));
      const cpuBefore = server ? cpuMs(server) : 0;
      const r = await runNpm(dir, ['ci', '--no-audit', '--no-fund'], { registry: base, timeoutMs: 900_000 });
      if (server) (cpus[label] ??= []).push(cpuMs(server) - cpuBefore);
      if (r.code !== 0) throw new Error(`${label}: npm ci failed (${r.code}): ${r.stderr.slice(-1500)}`);
      const installed = (await readdir(join(dir, 'node_modules'))).length;
      if (installed === 0) throw new Error(`${label}: nothing installed`);
      await rm(dir, { recursive: true, force: true });
      console.log(`    ${label}: ${(r.durationMs / 1000).toFixed(2)} s${server ? ` (mirror CPU ${(cpus[label]!.at(-1)! / 1000).toFixed(2)} s)` : ''}`);
      return r.durationMs;
    };
    const startMirror = async (): Promise<MirrorTarget> => {
      const m = await startMirrorProcess([{ name: 'npm', format: 'npm', upstream: registry, verify: 'warn', metadataTtl: '1h' }]);
      started.push(m);
      return m;
    };
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let last: MirrorTarget | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await ci('direct', registry));
      if (last) await last.stop();
      last = await startMirror();
      cold.push(await ci('mirror cold', `${last.url}/npm/`, last));
      warm.push(await ci('mirror warm', `${last.url}/npm/`, last));
    }
    const best = (xs: number[]): number => Math.min(...xs);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const d = best(direct);
    const show = (xs: number[], label: string): string => `best ${(best(xs) / 1000).toFixed(2)} s (${(best(xs) / d).toFixed(2)}x direct), median ${(median(xs) / 1000).toFixed(2)} s (${(median(xs) / median(direct)).toFixed(2)}x direct's median); mirror CPU median ${(median(cpus[label]!) / 1000).toFixed(2)} s`;
    console.log(`  npm ci, ${entries}-package real tree, clean npm cache each time, ${ROUNDS} rounds (each cold one on an empty mirror); shared noisy machine`);
    console.log(`    direct:           best ${(d / 1000).toFixed(2)} s, median ${(median(direct) / 1000).toFixed(2)} s`);
    console.log(`    countersign cold: ${show(cold, 'mirror cold')}`);
    console.log(`    countersign warm: ${show(warm, 'mirror warm')}; peak RSS ${last ? peakOf(last) : 'n/a'}`);
  } finally {
    for (const t of started) await t.stop();
    await rm(work, { recursive: true, force: true });
    pinSelf();
  }
}

