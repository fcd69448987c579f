/**
 * `apt-get update` against the Debian archive this machine's apt sources name (read at run time:
 * no host is written here), directly and through a mirror process (cold, then warm), in one run:
 * the suites of /etc/apt/sources.list{,.d} (bookworm, -updates, -security on these machines), one
 * mirror repository per archive URI, verified against the keyrings the sources name. Prints the
 * times, their ratios, the first `apt-get download` after the update (when the mirror vouches for
 * the pool from the Packages files) and the mirror's peak RSS (VmHWM) before and after that.
 *
 *   BENCH=debian-real npm run bench      # needs the archive reachable; ~20 s per round (BENCH_ROUNDS, default 3)
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
import { ROUNDS } from './settings.js';

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

interface Round {
  direct: number;
  cold: number;
  warm: number;
  directAgain: number;
  firstPackage: number;
  againPackage: number;
  directPackage: number;
  rssStart: number;
  rssUpdate: number;
  rssVouched: number;
}

export async function debianAptUpdate(): Promise<void> {
  const sources = machineSources();
  if (sources.length === 0) {
    console.log('debian-real: skipped: no apt sources on this machine');
    return;
  }
  const direct = await makeAptEnv();
  const through = await makeAptEnv();
  try {
    await direct.setSources(sources.flatMap((s) => sourceLines(s, s.uri, keyringOf(s))));
    // Rounds interleave direct and mirror runs, each round with a fresh (cold) mirror: on a shared
    // machine other load only ever slows a run down, so the best round of each is shown, and the median.
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await oneRound(sources, direct, through));
    const best = (k: keyof Round) => Math.min(...rounds.map((r) => r[k]));
    const median = (k: keyof Round) => rounds.map((r) => r[k]).sort((a, b) => a - b)[rounds.length >> 1]!;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const bestDirect = Math.min(best('direct'), best('directAgain'));
    const medianDirect = median('direct');
    console.log(`apt-get update (${sources.flatMap((x) => x.suites).join(', ')}), ${ROUNDS} rounds, best (median):`);
    console.log(`  direct ${s(bestDirect)} (${s(medianDirect)}; the first of a round ${s(best('direct'))}, again ${s(best('directAgain'))})`);
    console.log(`  mirror cold ${s(best('cold'))} (${s(median('cold'))}) = ${(best('cold') / bestDirect).toFixed(2)}x direct (${(median('cold') / medianDirect).toFixed(2)}x) (target <= 1.5x)`);
    console.log(`  mirror warm ${s(best('warm'))} (${s(median('warm'))}) = ${(best('warm') / bestDirect).toFixed(2)}x direct (${(median('warm') / median('directAgain')).toFixed(2)}x) (target <= 1.1x)`);
    console.log(`apt-get download ${PACKAGE} right after the update (the mirror vouches for the pool from the package lists then):`);
    console.log(`  direct ${s(best('directPackage'))}; mirror first ${s(best('firstPackage'))} (${s(median('firstPackage'))}), again ${s(best('againPackage'))}`);
    console.log(`  mirror peak RSS (VmHWM), highest round: ${Math.max(...rounds.map((r) => r.rssStart)).toFixed(0)} MB once started, `
      + `${Math.max(...rounds.map((r) => r.rssUpdate)).toFixed(0)} MB after the cold update, ${Math.max(...rounds.map((r) => r.rssVouched)).toFixed(0)} MB once the package lists are vouched for`);
  } finally {
    await direct.close();
    await through.close();
  }
}

async function oneRound(sources: AptSource[], direct: AptEnv, through: AptEnv): Promise<Round> {
  const uris = [...new Set(sources.map((s) => s.uri.replace(/\/+$/, '')))];
  const dataDir = await makeDataDir();
  try {
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
      const rssStart = vmHwm(child.pid!);
      const directMs = await timedUpdate(direct);
      const cold = await timedUpdate(through);
      const rssUpdate = vmHwm(child.pid!);
      const warm = await timedUpdate(through);
      const directAgain = await timedUpdate(direct);
      // The first package after an update: the mirror vouches for the pool from the package lists then (see
      // src/formats/debian/package-lists.ts), so this is where the 63,000-package Packages is parsed.
      const firstPackage = await timedDownload(through, PACKAGE);
      const againPackage = await timedDownload(through, PACKAGE);
      const directPackage = await timedDownload(direct, PACKAGE);
      return { direct: directMs, cold, warm, directAgain, firstPackage, againPackage, directPackage, rssStart, rssUpdate, rssVouched: vmHwm(child.pid!) };
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
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
