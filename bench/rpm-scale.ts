/**
 *   rpm-scale (issue 13): `dnf makecache` on a real-size RPM repository (20,000 packages by
 *   default) directly from the upstream vs through a cold mirror in `packages: keep` mode, and
 *   warm; the mirror's peak RSS (VmHWM of its own process) while it vouches for the metadata; then
 *   `dnf install` of one package through the mirror with the .repo text its /-/setup prints.
 *   Ratios against the direct run of the same round; each figure is the best of BENCH_RPM_ROUNDS.
 *
 *   The repository is built once, outside the repo (rpmbuild, rpmsign, createrepo_c, gpg):
 *     bash bench/rpm-scale-fixture.sh            # CHUNKS=20 PER=1000 → /tmp/rpmscale/{repo,upstream-key.asc}
 *     node --import tsx bench/rpm-scale.ts       # (BENCH=rpm npm run bench once bench/run.ts lists rpmScale)
 *   BENCH_RPM_REPO / BENCH_RPM_KEY point elsewhere; BENCH_RPM_RESIGN=1 also tries a cold
 *   makecache with `packages: resign` (every listed package fetched and re-signed first).
 */
import { copyFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeDataDir, removeDir } from '../test/helpers/mirror-harness.js';
import { unpinSelf } from './load-child.js';
import { serveDirectory, startMirrorProcess, timedDnf, type StaticUpstream } from './rpm-scale-parts.js';

const REPO = process.env.BENCH_RPM_REPO ?? '/tmp/rpmscale/repo';
const KEY = process.env.BENCH_RPM_KEY ?? '/tmp/rpmscale/upstream-key.asc';
const ROUNDS = Number(process.env.BENCH_RPM_ROUNDS ?? 2);

interface Round { direct: number; cold: number; warm: number; peakMib: number; idleMib: number; packagesFetched: number }

export async function rpmScale(): Promise<void> {
  unpinSelf();
  if (!(await stat(join(REPO, 'repodata', 'repomd.xml')).catch(() => undefined))) {
    console.log(`rpm-scale: no repository at ${REPO}; build it with: bash bench/rpm-scale-fixture.sh`);
    return;
  }
  const packages = (await readdir(join(REPO, 'Packages'))).filter((f) => f.endsWith('.rpm')).sort();
  const upstream = await serveDirectory(REPO);
  const directRepo = ['[direct]', 'name=direct', `baseurl=${upstream.url}/`, 'gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=${pathToFileURL(KEY).href}`, ''].join('\n');
  const rounds: Round[] = [];
  let install: { seconds: number; name: string; peakMib: number } | undefined;
  const installName = packages[0]!.replace(/-[^-]+-[^-]+\.noarch\.rpm$/, '');
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const direct = await timedDnf('direct', directRepo, 'makecache');
      const last = i === ROUNDS - 1;
      const round = await throughMirror(upstream, 'keep', last ? packages[0] : undefined);
      rounds.push({ direct: direct.seconds, ...round.figures });
      install ??= round.install;
    }
    const best = <K extends keyof Round>(k: K): number => Math.min(...rounds.map((r) => r[k]));
    const d = best('direct');
    console.log(`repository: ${packages.length} packages (${REPO}); best of ${ROUNDS} rounds`);
    console.log(`  dnf makecache direct (baseline): ${d.toFixed(2)} s`);
    console.log(`  dnf makecache through a cold mirror, packages: keep: ${best('cold').toFixed(2)} s, ${(best('cold') / d).toFixed(2)}x direct (target ≤ 3x); packages fetched upstream meanwhile: ${Math.max(...rounds.map((r) => r.packagesFetched))}`);
    console.log(`  dnf makecache through the warm mirror: ${best('warm').toFixed(2)} s, ${(best('warm') / d).toFixed(2)}x direct`);
    console.log(`  mirror process peak RSS (VmHWM) after the cold makecache: ${Math.max(...rounds.map((r) => r.peakMib))} MiB (idle after start: ${Math.min(...rounds.map((r) => r.idleMib))} MiB)`);
    if (install) {
      const direct = await timedDnf('direct', directRepo, 'install', installName);
      console.log(`  dnf install ${install.name} through the cold-metadata mirror with its /-/setup text: ${install.seconds.toFixed(2)} s, ${(install.seconds / direct.seconds).toFixed(2)}x direct (${direct.seconds.toFixed(2)} s; makecache included, fresh clients); mirror peak RSS after it (primary's package list read): ${install.peakMib} MiB`);
    }
    if (process.env.BENCH_RPM_RESIGN === '1') await resignAttempt(upstream, d, packages.length);
  } finally {
    await upstream.close();
  }
}

/** One cold mirror (fresh data directory and process): cold makecache, warm makecache, and optionally one install. */
async function throughMirror(upstream: StaticUpstream, packages: 'keep' | 'resign', installFile?: string) {
  const dataDir = await makeDataDir();
  await copyFile(KEY, join(dataDir, 'upstream.asc'));
  const mirror = await startMirrorProcess(dataDir, { name: 'el', format: 'rpm', upstream: upstream.url, trust: { keyring: 'upstream.asc', packages } });
  try {
    const idleMib = mirror.memory().rssMib;
    const setup = await (await fetch(`${mirror.url}/el/-/setup`)).text();
    const fetchedBefore = upstream.requests('/Packages/');
    const cold = await timedDnf('el', setup, 'makecache');
    const { peakMib } = mirror.memory();
    const packagesFetched = upstream.requests('/Packages/') - fetchedBefore;
    const warm = await timedDnf('el', setup, 'makecache');
    let install: { seconds: number; name: string; peakMib: number } | undefined;
    if (installFile) {
      const name = installFile.replace(/-[^-]+-[^-]+\.noarch\.rpm$/, '');
      const r = await timedDnf('el', setup, 'install', name);
      if (!/Complete!/.test(r.out)) throw new Error(`dnf install ${name} did not complete:\n${r.out.slice(-2000)}`);
      install = { seconds: r.seconds, name, peakMib: mirror.memory().peakMib };
    }
    return { figures: { cold: cold.seconds, warm: warm.seconds, peakMib, idleMib, packagesFetched }, install };
  } finally {
    await mirror.close();
    await removeDir(dataDir);
  }
}

/** The same cold makecache with every package re-signed first (what the mirror did before `keep`): how far it gets. */
async function resignAttempt(upstream: StaticUpstream, direct: number, total: number): Promise<void> {
  const dataDir = await makeDataDir();
  await copyFile(KEY, join(dataDir, 'upstream.asc'));
  const mirror = await startMirrorProcess(dataDir, { name: 'el', format: 'rpm', upstream: upstream.url, trust: { keyring: 'upstream.asc', packages: 'resign' } });
  try {
    const setup = await (await fetch(`${mirror.url}/el/-/setup`)).text();
    const before = upstream.requests('/Packages/');
    const started = Date.now();
    const outcome = await timedDnf('el', setup, 'makecache').then((r) => `ok in ${r.seconds.toFixed(2)} s, ${(r.seconds / direct).toFixed(2)}x direct`, (err: Error) => `no answer: dnf ${/Curl error[^\n]*/.exec(err.message)?.[0] ?? 'stopped at the bench\'s limit'} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`  packages: resign, cold makecache: ${outcome}; packages fetched (of ${total}) by then: ${upstream.requests('/Packages/') - before}; peak RSS ${mirror.memory().peakMib} MiB`);
  } finally {
    await mirror.close();
    await removeDir(dataDir);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await rpmScale();
