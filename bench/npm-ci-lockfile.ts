/**
 *   npm-ci: `npm ci` of a 300-package lockfile with a clean npm cache each time, from one signed
 *   fixture registry (generated here: 300 packages, each depending on up to two others, every
 *   version signed as the public registry signs): direct from the fixture vs through the mirror
 *   cold then warm vs through Verdaccio cold then warm, same run. The servers are on CPU 0; npm
 *   and the fixture are not pinned (npm is the client, and would use every core a build machine has).
 *   The lockfile is made once against the fixture; each target gets it with `resolved` pointing
 *   at that target, as a lockfile made against it would. Rounds interleave direct, mirror cold (a
 *   fresh mirror each round) and mirror warm; beside wall times the mirror's own CPU time per
 *   install is printed, which other load on a shared machine disturbs far less.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureNpmRegistry } from '../test/helpers/fixture-npm-registry.js';
import { runNpm } from '../test/helpers/npm-client.js';
import { startMirrorProcess, type MirrorTarget } from './anchors/mirror-process.js';
import { isSkipped, peakOf, type Target } from './anchors/target.js';
import { startVerdaccio } from './anchors/verdaccio.js';
import { pinSelf, unpinSelf } from './load-child.js';
import { cpuMs } from './anchors/process-memory.js';

const PACKAGES = Number(process.env.BENCH_NPM_CI_PACKAGES ?? 300);
const WARM_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Timing { label: string; ms: number; cpuMs?: number }

export async function npmCiLockfile(): Promise<void> {
  unpinSelf();
  const npm = await startFixtureNpmRegistry();
  const work = await mkdtemp(join(tmpdir(), 'countersign-bench-npm-ci-'));
  const started: Target[] = [];
  try {
    for (let i = 0; i < PACKAGES; i++) {
      const deps = [2 * i + 1, 2 * i + 2].filter((j) => j < PACKAGES);
      npm.publish({
        name: `bench-dep-${i}`, version: '1.0.0',
        dependencies: Object.fromEntries(deps.map((j) => [`bench-dep-${j}`, '^1.0.0'])),
        files: { 'lib.js': `module.exports = ${JSON.stringify(randomBytes(3000).toString('base64'))};\n` },
      });
    }
    const pkg = { name: 'bench-app', version: '1.0.0', private: true, dependencies: Object.fromEntries(Array.from({ length: Math.min(10, PACKAGES) }, (_, i) => [`bench-dep-${i}`, '^1.0.0'])) };
    const lockDir = await project(work, 'lock', pkg, undefined);
    const locked = await runNpm(lockDir, ['install', '--package-lock-only', '--no-audit', '--no-fund'], { registry: npm.url, timeoutMs: 300_000 });
    if (locked.code !== 0) throw new Error(`npm install --package-lock-only failed: ${locked.stderr.slice(-1000)}`);
    const lockfile = await readFile(join(lockDir, 'package-lock.json'), 'utf8');
    const entries = Object.keys((JSON.parse(lockfile) as { packages: Record<string, unknown> }).packages).filter((k) => k.startsWith('node_modules/')).length;
    console.log(`  lockfile: ${entries} packages from the fixture registry`);

    const startCountersign = async (): Promise<MirrorTarget> => {
      const m = await startMirrorProcess([{ name: 'npm', format: 'npm', upstream: npm.url, trust: { keys: npm.keysDocument }, metadataTtl: '1h' }]);
      started.push(m);
      return m;
    };
    const verdaccio = await startVerdaccio(npm.url);
    if (!isSkipped(verdaccio)) started.push(verdaccio);

    const ci = async (label: string, registry: string, server?: MirrorTarget): Promise<Timing> => {
      const dir = await project(work, label.replace(/\W+/g, '-'), pkg, lockfile.replaceAll(`${npm.url}/`, registry));
      const cpuBefore = server ? cpuMs(server) : 0;
      const r = await runNpm(dir, ['ci', '--no-audit', '--no-fund'], { registry, timeoutMs: 600_000 });
      const cpu = server ? cpuMs(server) - cpuBefore : undefined;
      if (r.code !== 0) throw new Error(`${label}: npm ci failed (${r.code}): ${r.stderr.slice(-1500)}`);
      const installed = (await readdir(join(dir, 'node_modules'))).filter((n) => !n.startsWith('.')).length;
      if (installed !== entries) throw new Error(`${label}: ${installed} packages installed, the lockfile has ${entries}`);
      await rm(dir, { recursive: true, force: true });
      console.log(`    ${label}: ${(r.durationMs / 1000).toFixed(2)} s${cpu === undefined ? '' : ` (mirror CPU ${(cpu / 1000).toFixed(2)} s)`}`);
      return { label, ms: r.durationMs, ...(cpu === undefined ? {} : { cpuMs: cpu }) };
    };
    const best = (ts: Timing[]): number => Math.min(...ts.map((t) => t.ms));
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const direct: Timing[] = [];
    const mirrorCold: Timing[] = [];
    const mirrorWarm: Timing[] = [];
    const verdaccioWarm: Timing[] = [];
    let coldUpstream = 0;
    let mirror: MirrorTarget | undefined;
    let verdaccioCold: Timing | undefined;
    for (let round = 0; round < WARM_ROUNDS; round++) {
      direct.push(await ci('direct', `${npm.url}/`));
      // Each cold round on an empty mirror; the warm round after it on the same one.
      if (mirror) {
        await mirror.stop();
        started.splice(started.indexOf(mirror), 1);
      }
      mirror = await startCountersign();
      const mirrorBase = `${mirror.url}/npm/`;
      npm.resetCounts();
      mirrorCold.push(await ci('mirror cold', mirrorBase, mirror));
      coldUpstream = npm.requests();
      if (!isSkipped(verdaccio) && !verdaccioCold) verdaccioCold = await ci('verdaccio cold', `${verdaccio.url}/`);
      const before = npm.requests();
      mirrorWarm.push(await ci('mirror warm', mirrorBase, mirror));
      if (npm.requests() !== before) throw new Error(`mirror warm: reached the fixture ${npm.requests() - before} times`);
      if (!isSkipped(verdaccio)) verdaccioWarm.push(await ci('verdaccio warm', `${verdaccio.url}/`));
    }
    const d = best(direct);
    const ratio = (ms: number): string => `${(ms / 1000).toFixed(2)} s, ${(ms / d).toFixed(2)}x direct`;
    const cpu = (ts: Timing[]): string => `mirror CPU median ${(median(ts.map((t) => t.cpuMs ?? 0)) / 1000).toFixed(2)} s`;
    console.log(`  npm ci, ${entries}-package lockfile, clean npm cache each time (best of ${direct.length} interleaved rounds, each cold one on an empty mirror); shared noisy 2-core machine`);
    console.log(`    direct from the fixture: ${(d / 1000).toFixed(2)} s (median ${(median(direct.map((t) => t.ms)) / 1000).toFixed(2)} s)`);
    console.log(`    countersign cold:        ${ratio(best(mirrorCold))} (median ${(median(mirrorCold.map((t) => t.ms)) / 1000).toFixed(2)} s; ${coldUpstream} fixture requests; ${cpu(mirrorCold)})`);
    console.log(`    countersign warm:        ${ratio(best(mirrorWarm))} (median ${(median(mirrorWarm.map((t) => t.ms)) / 1000).toFixed(2)} s; ${cpu(mirrorWarm)}); peak RSS ${mirror ? peakOf(mirror) : 'n/a'}`);
    if (isSkipped(verdaccio)) console.log(`    ${verdaccio.name}: skipped: ${verdaccio.skipped}`);
    else {
      console.log(`    verdaccio cold:          ${ratio(verdaccioCold!.ms)}`);
      console.log(`    verdaccio warm:          ${ratio(best(verdaccioWarm))}; peak RSS ${peakOf(verdaccio)}`);
      console.log(`    ratio countersign/verdaccio: cold ${(best(mirrorCold) / verdaccioCold!.ms).toFixed(2)}x, warm ${(best(mirrorWarm) / best(verdaccioWarm)).toFixed(2)}x`);
    }
  } finally {
    for (const t of started) await t.stop();
    await npm.stop();
    await rm(work, { recursive: true, force: true });
    pinSelf();
  }
}

/** A project directory for one install: package.json and, when given, its lockfile. */
export async function project(work: string, name: string, pkg: object, lockfile: string | undefined): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-`));
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  if (lockfile !== undefined) await writeFile(join(dir, 'package-lock.json'), lockfile);
  return dir;
}
