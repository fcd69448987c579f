/**
 * Soak (issue 10, "Faults"), on demand, not CI: mixed traffic across formats against a mirror
 * process (`countersign serve`, as deployed) with fixture upstreams in this process, cold and
 * warm, the metadata TTL (5 s) expiring all along (revalidation) and new objects published as it
 * runs (cold misses). Samples the mirror process's RSS (VmRSS), its peak (VmHWM) and its open file
 * descriptors (/proc/<pid>/fd) every SOAK_SAMPLE_SECONDS and prints the curve; the question is
 * whether they stay flat. The fixtures grow as they publish; they are not in the mirror's process.
 *
 *   node --import tsx bench/soak.ts                  # 10 minutes
 *   SOAK_SECONDS=120 node --import tsx bench/soak.ts # shorter
 *   SOAK_MEMORY_CACHE=256MiB                          # limits.memoryCache of the mirror (default 64MiB)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApk, buildApkIndex, makeApkKey } from '../test/helpers/apk-fixture.js';
import { DebianFixture, makeGpgKey } from '../test/helpers/debian-fixture.js';
import { startFixtureNpmRegistry } from '../test/helpers/fixture-npm-registry.js';
import { startFixtureUpstream } from '../test/helpers/fixture-upstream.js';
import { configText, freePort, makeDataDir, removeDir } from '../test/helpers/mirror-harness.js';
import { publishRaw } from '../test/helpers/raw-fixture.js';
import { makeUpstreamPgpKey } from '../test/helpers/upstream-openpgp.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 8);
const TTL_MS = 5_000;
const MEMORY_CACHE = process.env.SOAK_MEMORY_CACHE ?? '64MiB';
const BIN = join(process.cwd(), 'bin', 'countersign.js');

interface Sample { t: number; rssMb: number; peakMb: number; fds: number; requests: number; errors: number }

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
/** A `Vm…: <n> kB` line of /proc/<pid>/status, in bytes. */
const vm = (pid: number, field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
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
  const port = await freePort();
  const configFile = join(dataDir, 'config.yaml');
  await writeFile(configFile, configText({
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    dataDir,
    log: { level: 'error' },
    limits: { memoryCache: MEMORY_CACHE },
    repositories: [
      { name: 'files', format: 'raw', upstream: rawUp.url, trust: { keyring: 'upstream.asc', checksums: 'sha256' }, metadataTtl: ttl },
      { name: 'npm', format: 'npm', upstream: npm.url, trust: { keys: npm.keysDocument }, metadataTtl: ttl },
      { name: 'deb', format: 'debian', upstream: `${debUp.url}/debian`, trust: { keyring: 'archive.gpg' }, metadataTtl: ttl },
      { name: 'alpine', format: 'alpine', upstream: `${apkUp.url}/alpine`, trust: { keys: 'apk-keys' }, metadataTtl: ttl },
    ],
  }));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid!;
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/-/health`).catch(() => undefined))?.ok) break;
    if (i > 300 || child.exitCode !== null) throw new Error('the mirror did not start');
    await sleep(100);
  }
  const mirror = { get: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init) };

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
    }
  })();

  const samples: Sample[] = [];
  const started = Date.now();
  const take = (): void => {
    samples.push({ t: Math.round((Date.now() - started) / 1000), rssMb: mb(vm(pid, 'VmRSS')), peakMb: mb(vm(pid, 'VmHWM')), fds: fdsOf(pid), requests, errors });
    const s = samples[samples.length - 1]!;
    console.log(`t=${String(s.t).padStart(4)}s mirror rss=${s.rssMb} MB peak=${s.peakMb} MB fds=${s.fds} requests=${s.requests} errors=${s.errors}`);
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
  const half = settled.filter((s) => s.t >= SECONDS / 2);
  console.log(`mirror RSS over the second half: min ${Math.min(...half.map((s) => s.rssMb))}, max ${Math.max(...half.map((s) => s.rssMb))} MB; peak (VmHWM) ${last.peakMb} MB; memoryCache ${MEMORY_CACHE}`);
  if (failures.size > 0) console.log(`failures: ${JSON.stringify(Object.fromEntries(failures))}`);

  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await Promise.all([rawUp.stop(), npm.stop(), debUp.stop(), apkUp.stop()]);
  await Promise.all([archive.close(), archiveKey.close(), apkKey.close()]);
  await removeDir(dataDir);
}

if (import.meta.url === `file://${process.argv[1]}`) await soak();
