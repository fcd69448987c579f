/**
 * `apt-get update` against the Debian archive this machine's apt sources name (read at run time:
 * no host is written here), directly and through a mirror process (cold, then warm), in one run:
 * the suites of /etc/apt/sources.list{,.d} (bookworm, -updates, -security on these machines), one
 * mirror repository per archive URI, verified against the keyrings the sources name. Prints the
 * times, their ratios, the first `apt-get download` after the update (when the mirror vouches for
 * the pool from the Packages files) and the mirror's peak RSS (VmHWM) before and after that.
 *
 *   BENCH=debian-real npm run bench      # needs the archive reachable; ~1 minute
 *   BENCH_CPU_PROF=/tmp/prof …           # the mirror under --cpu-prof
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDeb822Sources, parseOneLineSources, type AptSource } from '../src/formats/debian/apt-sources.js';
import { makeAptEnv, type AptEnv } from '../test/helpers/apt-client.js';
import { configText, freePort, makeDataDir, removeDir } from '../test/helpers/mirror-harness.js';

const BIN = join(process.cwd(), 'bin', 'countersign.js');

function machineSources(): AptSource[] {
  const out: AptSource[] = [];
  const read = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  out.push(...parseOneLineSources(read('/etc/apt/sources.list'), '/etc/apt/sources.list'));
  let names: string[] = [];
  try { names = readdirSync('/etc/apt/sources.list.d'); } catch { /* none */ }
  for (const n of names) {
    const f = join('/etc/apt/sources.list.d', n);
    if (n.endsWith('.list')) out.push(...parseOneLineSources(read(f), f));
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(read(f), f));
  }
  return out;
}

const vmHwm = (pid: number): number => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function timedUpdate(apt: AptEnv): Promise<number> {
  await apt.clearState();
  const run = await apt.aptGet(['update']);
  if (run.code !== 0 || /^(W|E): /m.test(run.stderr)) throw new Error(`apt-get update failed (${run.code}): ${run.stderr.slice(0, 600)}`);
  return run.ms;
}

/** A small package every Debian release since 2006 has in main. */
const PACKAGE = 'hello';

async function timedDownload(apt: AptEnv, name: string): Promise<number> {
  await rm(apt.downloads, { recursive: true, force: true });
  await mkdir(apt.downloads, { recursive: true });
  const run = await apt.aptGet(['download', name], { cwd: apt.downloads });
  if (run.code !== 0 || /^(W|E): /m.test(run.stderr)) throw new Error(`apt-get download ${name} failed (${run.code}): ${run.stderr.slice(0, 600)}`);
  return run.ms;
}

export async function debianAptUpdate(): Promise<void> {
  const sources = machineSources();
  if (sources.length === 0) {
    console.log('debian-real: skipped: no apt sources on this machine');
    return;
  }
  const uris = [...new Set(sources.map((s) => s.uri.replace(/\/+$/, '')))];
  const direct = await makeAptEnv();
  const through = await makeAptEnv();
  const dataDir = await makeDataDir();
  try {
    await direct.setSources(sources.flatMap((s) => sourceLines(s, s.uri, keyringOf(s))));
    const port = await freePort();
    const repos = uris.map((uri, i) => {
      const keyring = keyringOf(sources.find((s) => s.uri.replace(/\/+$/, '') === uri)!);
      return { name: `deb${i}`, format: 'debian', upstream: uri, verify: 'require', trust: { keyring }, metadataTtl: '1h' };
    });
    const configFile = join(dataDir, 'config.yaml');
    await writeFile(configFile, configText({ listen: { host: '127.0.0.1', port }, publicUrl: `http://127.0.0.1:${port}`, dataDir, log: { level: (process.env.BENCH_LOG_LEVEL ?? 'warn') as 'warn' }, repositories: repos as never }));
    // BENCH_CPU_PROF=<dir>: the mirror runs under --cpu-prof (a profile per run, for flame graphs).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    // BENCH_LOG_LEVEL=debug shows every upstream exchange with its time (on stderr).
    const child = spawn(process.execPath, [...prof, BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; !(await fetch(`${base}/-/health`).catch(() => undefined))?.ok; i++) {
      if (i > 600) throw new Error('the mirror did not start');
      await sleep(100);
    }
    const orgKey = await through.writeFile('countersign.asc', Buffer.from(await (await fetch(`${base}/-/keys/openpgp.asc`)).arrayBuffer()));
    await through.setSources(sources.flatMap((s) => sourceLines(s, `${base}/deb${uris.indexOf(s.uri.replace(/\/+$/, ''))}`, orgKey)));
    try {
      const rssAtStart = vmHwm(child.pid!);
      const directMs = await timedUpdate(direct);
      const coldMs = await timedUpdate(through);
      const rssAfterUpdate = vmHwm(child.pid!);
      const warmMs = await timedUpdate(through);
      const directWarmMs = await timedUpdate(direct);
      // The first package after an update: the mirror vouches for the pool from the package lists then (see
      // src/formats/debian/package-lists.ts), so this is where the 63,000-package Packages is parsed.
      const firstPackageMs = await timedDownload(through, PACKAGE);
      const againPackageMs = await timedDownload(through, PACKAGE);
      const directPackageMs = await timedDownload(direct, PACKAGE);
      // The first direct run also pays name resolution and the CDN's cold caches: both baselines are shown.
      const bestDirect = Math.min(directMs, directWarmMs);
      const ratio = (ms: number) => `${(ms / directMs).toFixed(2)}x direct, ${(ms / bestDirect).toFixed(2)}x the faster direct run`;
      console.log(`apt-get update (${sources.flatMap((s) => s.suites).join(', ')}):`);
      console.log(`  direct ${(directMs / 1000).toFixed(2)} s (again: ${(directWarmMs / 1000).toFixed(2)} s)`);
      console.log(`  mirror cold ${(coldMs / 1000).toFixed(2)} s = ${ratio(coldMs)} (target <= 1.5x)`);
      console.log(`  mirror warm ${(warmMs / 1000).toFixed(2)} s = ${(warmMs / directWarmMs).toFixed(2)}x direct, ${(warmMs / bestDirect).toFixed(2)}x the faster direct run (target <= 1.1x)`);
      console.log(`apt-get download ${PACKAGE} right after the update (the mirror vouches for the pool from the package lists):`);
      console.log(`  direct ${(directPackageMs / 1000).toFixed(2)} s; mirror first ${(firstPackageMs / 1000).toFixed(2)} s, again ${(againPackageMs / 1000).toFixed(2)} s`);
      console.log(`  mirror peak RSS (VmHWM) ${rssAtStart.toFixed(0)} MB once started, ${rssAfterUpdate.toFixed(0)} MB after the cold update, ${vmHwm(child.pid!).toFixed(0)} MB once the package lists are vouched for`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    await direct.close();
    await through.close();
    await removeDir(dataDir);
  }
}

/** One-line sources: one suite per line. */
function sourceLines(s: AptSource, uri: string, keyring: string): string[] {
  return s.suites.map((suite) => `deb [signed-by=${keyring}] ${uri} ${suite} ${s.components.join(' ')}`);
}

function keyringOf(s: AptSource): string {
  return s.signedBy[0] ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
}

if (import.meta.url === `file://${process.argv[1]}`) await debianAptUpdate();
