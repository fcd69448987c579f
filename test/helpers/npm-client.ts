/**
 * Runs the machine's real `npm` CLI fully isolated from the machine's own configuration: a
 * temp user and global npmrc (also through npm_config_userconfig/globalconfig), a temp HOME
 * and cache, no inherited npm_* or proxy variables, and a timeout. Registry signatures are
 * checked with npm's own bundled pacote, which is what `npm audit signatures` runs after its
 * TUF step (formats-classic.md §1.3), without that step's need for internet access.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { NpmRegistryKey } from './npm-keys.js';

export interface NpmRunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface NpmRunOptions {
  /** Registry URL; a trailing slash is added. */
  registry: string;
  /** Default: a fresh empty temp directory, removed afterwards. */
  cacheDir?: string;
  timeoutMs?: number;
  /** More npmrc lines, e.g. `@org:registry=...`. */
  npmrc?: string[];
}

/** A temp project directory with a minimal package.json. */
export async function makeNpmProject(name = 'countersign-npm-probe'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-npm-project-'));
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', private: true }, null, 2)}\n`);
  return dir;
}

export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Runs `npm <args>` in `cwd` with nothing from the machine's npm configuration. */
export async function runNpm(cwd: string, args: string[], opts: NpmRunOptions): Promise<NpmRunResult> {
  const sandbox = await mkdtemp(join(tmpdir(), 'countersign-npm-env-'));
  const cacheDir = opts.cacheDir ?? join(sandbox, 'cache');
  const home = join(sandbox, 'home');
  await Promise.all([mkdir(cacheDir, { recursive: true }), mkdir(home, { recursive: true })]);
  const userconfig = join(sandbox, 'userconfig.npmrc');
  const globalconfig = join(sandbox, 'globalconfig.npmrc');
  const lines = [
    `registry=${withSlash(opts.registry)}`,
    `cache=${cacheDir}`,
    'audit=false',
    'fund=false',
    'update-notifier=false',
    'progress=false',
    'ignore-scripts=true',
    'package-lock=true',
    'omit-lockfile-registry-resolved=false',
    'noproxy=127.0.0.1,localhost',
    'fetch-retries=1',
    'fetch-retry-mintimeout=500',
    'fetch-retry-maxtimeout=2000',
    'fetch-timeout=60000',
    ...(opts.npmrc ?? []),
  ];
  await writeFile(userconfig, `${lines.join('\n')}\n`);
  await writeFile(globalconfig, '');
  const env = cleanEnv({
    HOME: home,
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: globalconfig,
    npm_config_cache: cacheDir,
    npm_config_registry: withSlash(opts.registry),
    NO_PROXY: '127.0.0.1,localhost',
  });
  try {
    return await run('npm', [...args, '--userconfig', userconfig, '--cache', cacheDir], cwd, env, opts.timeoutMs ?? 120_000);
  } finally {
    await rm(sandbox, { recursive: true, force: true });
  }
}

/** `npm install <specs>` into `dir` (which should hold a package.json). */
export function npmInstall(dir: string, specs: string[], opts: NpmRunOptions): Promise<NpmRunResult> {
  return runNpm(dir, ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...specs], opts);
}

/** The machine's environment without npm, proxy or Node option variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /_proxy$/i.test(k) || /^(NODE_OPTIONS|NODE_ENV|HOME)$/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** npm's install directory: the real location of the `npm` on PATH, one level above `bin/`. */
export function npmInstallDir(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    if (!dir || !existsSync(candidate)) continue;
    const root = join(dirname(realpathSync(candidate)), '..');
    if (existsSync(join(root, 'node_modules', 'pacote'))) return root;
  }
  throw new Error('npm (with its bundled pacote) not found on PATH');
}

export type PacoteKey = NpmRegistryKey & { pemkey: string };

/** `<registry>/-/npm/v1/keys`, with the `pemkey` npm adds before handing keys to pacote. */
export async function fetchRegistryKeys(registry: string): Promise<PacoteKey[]> {
  const res = await fetch(`${registry.replace(/\/+$/, '')}/-/npm/v1/keys`);
  if (!res.ok) throw new Error(`GET ${registry}/-/npm/v1/keys: HTTP ${res.status}`);
  const doc = (await res.json()) as { keys: NpmRegistryKey[] };
  return withPem(doc.keys);
}

export function withPem(keys: readonly NpmRegistryKey[]): PacoteKey[] {
  return keys.map((k) => ({ ...k, pemkey: `-----BEGIN PUBLIC KEY-----\n${k.key}\n-----END PUBLIC KEY-----` }));
}

export interface PacoteVerdict {
  /** package-lock.json location, e.g. `node_modules/delta/node_modules/gamma`. */
  location: string;
  name: string;
  version: string;
  /** verified: every dist.signatures entry verified; unsigned: none to verify; failed: pacote threw. */
  status: 'verified' | 'unsigned' | 'failed';
  keyids: string[];
  code?: string;
  message?: string;
}

const PACOTE_SCRIPT = `
const pacote = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
Promise.all(input.packages.map(async (p) => {
  try {
    const m = await pacote.manifest(p.name + '@' + p.version, { ...input.opts, [input.keysKey]: input.keys });
    const sigs = m._signatures || [];
    return { ...p, status: sigs.length ? 'verified' : 'unsigned', keyids: sigs.map((s) => s.keyid) };
  } catch (e) {
    return { ...p, status: 'failed', keyids: [], code: e.code, message: e.message };
  }
})).then((out) => process.stdout.write(JSON.stringify(out)));
`;

/**
 * For every registry package in `projectDir`'s package-lock.json, what npm's pacote says with
 * `verifySignatures: true` and `'//host/path/:_keys': keys` (default: the registry's own
 * `/-/npm/v1/keys`), exactly as `npm audit signatures` passes them.
 */
export async function verifyWithPacote(projectDir: string, registryUrl: string, keys?: readonly NpmRegistryKey[], opts: { verifyAttestations?: boolean; timeoutMs?: number } = {}): Promise<PacoteVerdict[]> {
  const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { name?: string; version?: string; resolved?: string; link?: boolean }> };
  const packages = Object.entries(lock.packages ?? {})
    .filter(([location, p]) => location.includes('node_modules/') && p.version && !p.link)
    .map(([location, p]) => ({ location, name: p.name ?? location.slice(location.lastIndexOf('node_modules/') + 13), version: p.version! }));
  return verifyPackagesWithPacote(registryUrl, packages, keys, { ...opts, cwd: projectDir });
}

/**
 * What npm's pacote says of `name@version` from `registryUrl` with `verifySignatures: true`, keyed
 * as `verifyWithPacote` does, without installing anything first (`location` is the package name).
 */
export async function verifyPackagesWithPacote(
  registryUrl: string,
  specs: readonly { name: string; version: string; location?: string }[],
  keys?: readonly NpmRegistryKey[],
  opts: { verifyAttestations?: boolean; timeoutMs?: number; cwd?: string } = {},
): Promise<PacoteVerdict[]> {
  const registry = withSlash(registryUrl);
  const packages = specs.map((p) => ({ location: p.location ?? p.name, name: p.name, version: p.version }));
  const { host, pathname } = new URL(registry);
  const cache = await mkdtemp(join(tmpdir(), 'countersign-pacote-cache-'));
  const input = {
    packages,
    keysKey: `//${host}${pathname}:_keys`,
    keys: keys ? withPem(keys) : await fetchRegistryKeys(registry),
    opts: { registry, cache, verifySignatures: true, verifyAttestations: opts.verifyAttestations ?? false, before: null, preferOnline: true, fetchRetries: 0 },
  };
  const env = cleanEnv({ HOME: cache, NO_PROXY: '127.0.0.1,localhost' });
  const pacoteDir = join(npmInstallDir(), 'node_modules', 'pacote');
  const result = await run(process.execPath, ['-e', PACOTE_SCRIPT, pacoteDir], opts.cwd ?? cache, env, opts.timeoutMs ?? 60_000, JSON.stringify(input)).finally(() =>
    rm(cache, { recursive: true, force: true }),
  );
  if (result.code !== 0) throw new Error(`pacote verification crashed (exit ${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as PacoteVerdict[];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number, stdin?: string): Promise<NpmRunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
    child.stdin.end(stdin ?? '');
  });
}
