/**
 * Soak (issue 10, "Faults"), on demand, not CI: mixed traffic across formats against the
 * in-process mirror with fixture upstreams, cold and warm, with the metadata TTL expiring
 * every few seconds (revalidation) and new objects published as it runs (cold misses).
 * Samples RSS, heap and open file descriptors (/proc/self/fd) every SOAK_SAMPLE_SECONDS and
 * prints the curve; the question is whether they stay flat.
 *
 *   node --import tsx bench/soak.ts                  # 10 minutes
 *   SOAK_SECONDS=120 node --import tsx bench/soak.ts # shorter
 *   node --expose-gc --import tsx bench/soak.ts      # samples after a full GC: retained memory, not garbage
 *
 * The mirror runs in this process beside its fixture upstreams, whose published files grow as it
 * runs: `fixtures` is their size, `hot` the mirror's memory cache (limits.memoryCache, set by
 * SOAK_MEMORY_CACHE, default 32MiB, so that a full cache is reached early). What should stay flat is
 * heap and RSS less those two.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApk, buildApkIndex, makeApkKey } from '../test/helpers/apk-fixture.js';
import { DebianFixture, makeGpgKey } from '../test/helpers/debian-fixture.js';
import { startFixtureNpmRegistry } from '../test/helpers/fixture-npm-registry.js';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror } from '../test/helpers/mirror-harness.js';
import { publishRaw } from '../test/helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../test/helpers/upstream-openpgp.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 8);
const TTL_MS = 5_000;
const MEMORY_CACHE = process.env.SOAK_MEMORY_CACHE ?? '32MiB';
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample { t: number; rssMb: number; heapMb: number; buffersMb: number; hotMb: number; fixturesMb: number; fds: number; requests: number; errors: number }

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fds = (): number => readdirSync('/proc/self/fd').length;
const mb = (n: number): number => Math.round((n / 1024 / 1024) * 10) / 10;

export async function soak(): Promise<void> {
  // Upstreams: raw (OpenPGP-signed files), npm (signed packuments), debian (InRelease + Packages + .debs), alpine.
  const [rawUp, pgp, npm, debUp, archiveKey, apkUp, apkKey] = await Promise.all([
    startFixtureUpstream(), makeUpstreamPgpKey(), startFixtureNpmRegistry(), startFixtureUpstream(), makeGpgKey('Soak Archive'), startFixtureUpstream(), makeApkKey('soak@upstream.example-1111.rsa.pub'),
  ]);
  const archive = await DebianFixture.create(archiveKey);
  const dataDir = await makeDataDir();
  const rawFiles = new Map<string, Buffer>();
  const publishRawFile = async (path: string): Promise<void> => {
    const bytes = Buffer.alloc(64 * 1024 + rawFiles.size, rawFiles.size % 251);
    rawFiles.set(path, bytes);
    await publishRaw(rawUp, pgp, path, bytes);
  };
  for (let i = 0; i < 20; i++) await publishRawFile(`/warm-${i}.bin`);
  const npmNames: string[] = [];
  for (let i = 0; i < 10; i++) {
    npm.publish({ name: `soak-${i}`, version: '1.0.0' });
    npmNames.push(`soak-${i}`);
  }
  await archive.addDeb({ name: 'hello', version: '1.0', pool: 'pool/main/h/hello' });
  await archive.writeSuite({ suite: 'stable', pools: ['pool/main'], compressions: ['gz'], signing: 'inrelease' });
  await archive.publish(debUp, '/debian');
  const apks = await Promise.all([buildApk(apkKey, { name: 'soak-a' }), buildApk(apkKey, { name: 'soak-b' })]);
  const APK_DIR = '/alpine/v3.20/main/x86_64';
  apkUp.setFile(`${APK_DIR}/APKINDEX.tar.gz`, await buildApkIndex(apkKey, apks));
  for (const a of apks) apkUp.setFile(`${APK_DIR}/${a.fileName}`, a.bytes);
  await writeFile(join(dataDir, 'upstream.asc'), pgp.armoredPublic);
  await writeFile(join(dataDir, 'archive.gpg'), archiveKey.binaryKeyring);
  await mkdir(join(dataDir, 'apk-keys'));
  await writeFile(join(dataDir, 'apk-keys', apkKey.fileName), apkKey.publicPem);
  const ttl = `${TTL_MS}ms`;
  const mirror = await startMirror({
    dataDir,
    limits: { memoryCache: MEMORY_CACHE },
    repositories: [
      { name: 'files', format: 'raw', upstream: rawUp.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: ttl },
      { name: 'npm', format: 'npm', upstream: npm.url, trust: { keys: npm.keysDocument }, metadataTtl: ttl },
      { name: 'deb', format: 'debian', upstream: `${debUp.url}/debian`, trust: { keyring: 'archive.gpg' }, metadataTtl: ttl },
      { name: 'alpine', format: 'alpine', upstream: `${apkUp.url}/alpine`, trust: { keys: 'apk-keys' }, metadataTtl: ttl },
    ],
  }, { logLevel: 'error' });

  let requests = 0;
  let errors = 0;
  const failures = new Map<string, number>();
  const debFile = 'pool/main/h/hello/hello_1.0_all.deb';
  const paths = (): { path: string; accept?: string; exact?: Buffer }[] => {
    const raw = [...rawFiles.keys()];
    const r = raw[Math.floor(Math.random() * raw.length)]!;
    const name = npmNames[Math.floor(Math.random() * npmNames.length)]!;
    const apk = apks[Math.floor(Math.random() * apks.length)]!;
    return [
      { path: `/files${r}`, exact: rawFiles.get(r)! },
      { path: `/npm/${name}`, accept: 'application/json' },
      { path: `/npm/${name}`, accept: 'application/vnd.npm.install-v1+json' },
      { path: `/npm/${name}/-/${name}-1.0.0.tgz` },
      { path: '/deb/dists/stable/InRelease' },
      { path: '/deb/dists/stable/main/binary-amd64/Packages.gz' },
      { path: `/deb/${debFile}` },
      { path: `${APK_DIR}/APKINDEX.tar.gz` },
      { path: `${APK_DIR}/${apk.fileName}` },
    ];
  };
  // apt reads the indexes before the packages they name: so do the clients here.
  for (const p of ['/deb/dists/stable/InRelease', '/deb/dists/stable/main/binary-amd64/Packages.gz']) await (await mirror.get(p)).arrayBuffer();
  const end = Date.now() + SECONDS * 1000;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < end) {
      const choices = paths();
      const req = choices[Math.floor(Math.random() * choices.length)]!;
      try {
        const res = await mirror.get(req.path, req.accept ? { headers: { accept: req.accept } } : {});
        const body = Buffer.from(await res.arrayBuffer());
        requests++;
        if (res.status !== 200 || (req.exact && sha(body) !== sha(req.exact))) {
          errors++;
          const key = `${res.status} ${req.path.replace(/\d+/g, 'N')}`;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
      } catch (err) {
        errors++;
        failures.set(String(err), (failures.get(String(err)) ?? 0) + 1);
      }
    }
  });
  // Cold traffic and revalidation: new raw files and npm versions as the soak runs; the clock passes the TTL.
  let published = 0;
  const publisher = (async () => {
    while (Date.now() < end) {
      await sleep(1_000);
      await publishRawFile(`/cold-${published}.bin`);
      npm.publish({ name: npmNames[published % npmNames.length]!, version: `1.0.${published + 1}` });
      published++;
      mirror.advanceClock(TTL_MS);
    }
  })();

  const samples: Sample[] = [];
  const started = Date.now();
  const take = (): void => {
    gc?.();
    const m = process.memoryUsage();
    const fixtures = [...rawFiles.values()].reduce((n, b) => n + b.byteLength * 3, 0); // file, and the upstream's copy and .asc
    const hot = mirror.app.store.hot.calculatedSize;
    // Buffers (arrayBuffers) include the fixture upstreams' files, which grow as objects are published.
    samples.push({ t: Math.round((Date.now() - started) / 1000), rssMb: mb(m.rss), heapMb: mb(m.heapUsed), buffersMb: mb(m.arrayBuffers), hotMb: mb(hot), fixturesMb: mb(fixtures), fds: fds(), requests, errors });
    const s = samples[samples.length - 1]!;
    console.log(`t=${String(s.t).padStart(4)}s rss=${s.rssMb} MB heap=${s.heapMb} MB buffers=${s.buffersMb} MB (hot ${s.hotMb}, fixtures ~${s.fixturesMb}) rss-less-both=${Math.round((s.rssMb - s.hotMb - s.fixturesMb) * 10) / 10} MB fds=${s.fds} requests=${s.requests} errors=${s.errors}`);
  };
  take();
  const sampler = setInterval(take, SAMPLE_SECONDS * 1000);
  await Promise.all([...clients, publisher]);
  clearInterval(sampler);
  take();

  const settled = samples.slice(Math.min(2, samples.length - 1));
  const first = settled[0]!;
  const last = samples[samples.length - 1]!;
  const maxRss = Math.max(...settled.map((s) => s.rssMb));
  const maxFds = Math.max(...settled.map((s) => s.fds));
  console.log(`\nsoak ${SECONDS}s, ${CLIENTS} clients: ${last.requests} requests (${Math.round(last.requests / SECONDS)}/s), ${last.errors} errors, ${published} objects published`);
  console.log(`RSS from t=${first.t}s: ${first.rssMb} → ${last.rssMb} MB (max ${maxRss}); fds ${first.fds} → ${last.fds} (max ${maxFds})`);
  const own = (s: Sample): number => Math.round((s.rssMb - s.hotMb - s.fixturesMb) * 10) / 10;
  console.log(`heap${gc ? ' after GC' : ''} from t=${first.t}s: ${first.heapMb} → ${last.heapMb} MB; RSS less hot cache and fixtures: ${own(first)} → ${own(last)} MB`);
  if (failures.size > 0) console.log(`failures: ${JSON.stringify(Object.fromEntries(failures))}`);

  await mirror.close();
  await Promise.all([rawUp.stop(), npm.stop(), debUp.stop(), apkUp.stop()]);
  await Promise.all([archive.close(), archiveKey.close(), apkKey.close()]);
  await removeDir(dataDir);
}

if (import.meta.url === `file://${process.argv[1]}`) await soak();
