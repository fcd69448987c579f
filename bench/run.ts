/**
 * Benchmarks, run on demand (`npm run bench`, or `BENCH=npm-tarballs,npm-packument npm run bench`).
 * Each prints ratios against anchors measured in the same run (Verdaccio, nginx proxy_cache, a
 * bare node:http server, docker-registry, the fixture archive, direct npm installs), because
 * absolute numbers drift on shared 2-core machines. Anchors are installed on demand by
 * scripts/bench-anchors.sh (BENCH_NO_INSTALL=1 skips that); an anchor that cannot be installed
 * or started is skipped with the reason printed. `BENCH=oci` pulls a 1 GiB blob and needs
 * ~3 GiB of free disk. Figures are single-core (every server on CPU 0, the load generator on
 * CPU 1) unless BENCH_CORES=all: then the mirror runs a worker per core and nothing is pinned.
 */
import { spawnSync } from 'node:child_process';
import { hasTaskset, loadGenerator, pinSelf } from './load-child.js';
import { debianAptUpdate } from './debian-apt-update.js';
import { debianWarm } from './debian-warm.js';
import { npmCiLockfile } from './npm-ci-lockfile.js';
import { npmReal } from './npm-real.js';
import { npmBigPackument } from './npm-big-packument.js';
import { npmWarmTarballs } from './npm-warm-tarballs.js';
import { ociBigBlob } from './oci-big-blob.js';
import { ociWarmBlobs } from './oci-warm-blobs.js';
import { rawWarm } from './raw-warm.js';
import { rpmScale } from './rpm-scale.js';
import { ALL_CORES } from './settings.js';

const BENCHES: Record<string, () => Promise<void>> = {
  'npm-tarballs': npmWarmTarballs,
  'npm-packument': npmBigPackument,
  'npm-ci': npmCiLockfile,
  'oci-blobs': ociWarmBlobs,
  debian: debianWarm,
  raw: rawWarm,
  oci: ociBigBlob,
  // Opt-in: the machine's own Debian archive (network), and a generated 20,000-package RPM
  // repository (bench/rpm-scale-fixture.sh builds it under /tmp first).
  'debian-real': debianAptUpdate,
  rpm: rpmScale,
  // Opt-in: `npm ci` of a real ~420-package tree from the registry this machine's npm is configured with.
  'npm-real': npmReal,
};
const OPT_IN = new Set(['debian-real', 'rpm', 'npm-real']);
const selected = (process.env.BENCH ?? Object.keys(BENCHES).filter((b) => !OPT_IN.has(b)).join(',')).split(',');
for (const name of selected) if (!BENCHES[name]) throw new Error(`unknown bench "${name}" (known: ${Object.keys(BENCHES).join(', ')})`);
if (process.env.BENCH_NO_INSTALL !== '1') {
  const r = spawnSync('sh', ['scripts/bench-anchors.sh'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) console.log(`scripts/bench-anchors.sh exited ${r.status}; missing anchors will be skipped`);
}
pinSelf();
console.log(ALL_CORES
  ? `multi-core figures: the mirror with a worker per core, nginx with worker_processes auto, the load generator (${loadGenerator}), all unpinned`
  : `single-core figures: the mirror and every anchor on CPU 0, the load generator (${loadGenerator}) on CPU 1${hasTaskset ? '' : ' (taskset missing: NOT pinned)'}; BENCH_CORES=all for multi-core figures`);
for (const name of selected) {
  console.log(`== ${name}`);
  try {
    await BENCHES[name]!();
  } catch (err) {
    // One bench failing (a cache that was not warm, a client that failed) does not hide the others' figures.
    console.log(`  FAILED: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
}
