/**
 * `countersign warm`: pre-fetches what a build needs through a running mirror, so an offline
 * build farm has it cached. Input: an npm package-lock.json (v2/v3), a Helm Chart.lock, a Python
 * requirements.txt (with hashes) or pylock.toml, Maven dependency lists, or a
 * text file of paths under the repository, one per line.
 */
import { readFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import { chartLockPaths, isChartLock } from './warm-helm.js';
import { mavenWarmPaths } from './warm-maven.js';
import { isPythonLockFile, parsePylock, parseRequirementsTxt, pythonPathsToWarm } from './warm-pypi.js';

export interface WarmOptions {
  mirror: string;
  repo: string;
  concurrency: number;
  progress: boolean;
}

export async function warm(file: string, opts: WarmOptions): Promise<number> {
  const base = `${opts.mirror.replace(/\/+$/, '')}/${opts.repo}/`;
  const failures: string[] = [];
  const paths = await pathsToWarm(file, base, failures);
  const bar = opts.progress ? new SingleBar({ format: 'warming {bar} {value}/{total} {path}', hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(paths.length, 0, { path: '' });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++]!;
      try {
        const res = await fetch(new URL(path, base));
        await res.arrayBuffer();
        if (!res.ok) failures.push(`${path}: HTTP ${res.status}`);
      } catch (err) {
        failures.push(`${path}: ${(err as Error).message}`);
      }
      bar?.increment(1, { path });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  bar?.stop();
  for (const f of failures) process.stderr.write(`failed: ${f}\n`);
  process.stdout.write(`warmed ${paths.length - failures.length} of ${paths.length} objects in ${opts.repo}\n`);
  return failures.length === 0 ? 0 : 1;
}

/** `failures`: what could not be resolved to paths (a Python project page the mirror did not serve). */
async function pathsToWarm(file: string, base: string, failures: string[]): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  if (file.endsWith('.json')) return npmLockPaths(JSON.parse(text) as unknown);
  if (isChartLock(file)) return chartLockPaths(text, base, fetchText);
  // Python lock files (requirements.txt with hashes, pylock.toml): pages first, then the files they name.
  const python = isPythonLockFile(file, text);
  if (python) return pythonPathsToWarm(python === 'pylock' ? parsePylock(text) : parseRequirementsTxt(text), base, failures);
  const maven = await mavenWarmPaths(file, text, async (path) => {
    const res = await fetch(new URL(path, base));
    return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
  });
  if (maven) return maven;
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\/+/, ''));
}

/** Packuments and tarballs of every registry package in a lockfile (v2/v3 `packages`). */
export function npmLockPaths(lock: unknown): string[] {
  const packages = (lock as { packages?: Record<string, { version?: string; resolved?: string; link?: boolean }> }).packages ?? {};
  const out = new Set<string>();
  for (const [location, p] of Object.entries(packages)) {
    if (!location || p.link || !p.version) continue;
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!name) continue;
    out.add(name);
    out.add(`${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${p.version}.tgz`);
  }
  return [...out];
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}
