/**
 * The real apt, in a private configuration that never touches the machine's own
 * (formats-classic.md §2.4): APT_CONFIG is read first, then Dir::Etc::main and Dir::Etc::parts,
 * so both are pointed at empty private files or /etc/apt/apt.conf.d would leak in. Lists,
 * cache, status, sources and trusted keys all live in a temp directory.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AptRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface AptEnv {
  dir: string;
  /** Where `apt-get download` puts files. */
  downloads: string;
  archives: string;
  /** The root `install` unpacks into (dpkg --root), with its own dpkg database. */
  installRoot: string;
  setSources(lines: string[]): Promise<void>;
  /** Writes a deb822 `<name>.sources` file into the private sources.list.d. */
  setDeb822Sources(name: string, stanza: string): Promise<void>;
  /** Where writeFile puts keyrings (the client's /etc/apt/keyrings). */
  readonly keysDir: string;
  writeFile(name: string, data: string | Buffer): Promise<string>;
  aptGet(args: string[], opts?: { cwd?: string }): Promise<AptRun>;
  /** Forgets downloaded lists and packages, as a fresh client machine would have none. */
  clearState(): Promise<void>;
  close(): Promise<void>;
}

export async function makeAptEnv(): Promise<AptEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-apt-'));
  const p = (...s: string[]) => join(dir, ...s);
  const downloads = p('downloads');
  const installRoot = p('root');
  const dpkgDir = join(installRoot, 'var/lib/dpkg');
  for (const d of ['etc/apt.conf.d', 'etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'lists/partial', 'cache/archives/partial', 'log', 'downloads', 'keys']) {
    await mkdir(p(d), { recursive: true });
  }
  for (const d of ['info', 'updates', 'triggers']) await mkdir(join(dpkgDir, d), { recursive: true });
  await writeFile(join(dpkgDir, 'status'), '');
  await writeFile(join(dpkgDir, 'available'), '');
  await writeFile(p('etc/apt.conf.main'), '');
  await writeFile(p('etc/sources.list'), '');
  const root = process.getuid?.() === 0;
  const conf = [
    `Dir::Etc::main "${p('etc/apt.conf.main')}";`,
    `Dir::Etc::parts "${p('etc/apt.conf.d')}";`,
    `Dir::Etc::sourcelist "${p('etc/sources.list')}";`,
    `Dir::Etc::sourceparts "${p('etc/sources.list.d')}";`,
    `Dir::Etc::preferencesparts "${p('etc/preferences.d')}";`,
    `Dir::Etc::trusted "${p('etc/trusted.gpg')}";`,
    `Dir::Etc::trustedparts "${p('etc/trusted.gpg.d')}";`,
    `Dir::State::Lists "${p('lists')}";`,
    `Dir::State::status "${join(dpkgDir, 'status')}";`,
    `Dir::Cache "${p('cache')}";`,
    `Dir::Log "${p('log')}";`,
    'APT::Architecture "amd64";',
    'APT::Architectures { "amd64"; };',
    'Acquire::Languages "none";',
    'Acquire::http::Proxy "DIRECT";',
    'Acquire::Retries "0";',
    'Debug::NoLocking "true";',
    // dpkg unpacks into the private root with its own database; nothing runs chrooted.
    `DPkg::Options { "--root=${installRoot}"; "--admindir=${dpkgDir}"; "--force-not-root"; "--force-bad-path"; "--log=${p('log', 'dpkg.log')}"; };`,
    'DPkg::Use-Pty "false";',
    ...(root ? ['APT::Sandbox::User "root";'] : []),
    '',
  ].join('\n');
  await writeFile(p('apt.conf'), conf);

  return {
    dir,
    downloads,
    archives: p('cache/archives'),
    installRoot,
    keysDir: p('keys'),
    async setSources(lines) {
      await writeFile(p('etc/sources.list'), `${lines.join('\n')}\n`);
    },
    async setDeb822Sources(name, stanza) {
      await writeFile(p('etc/sources.list.d', `${name}.sources`), stanza.endsWith('\n') ? stanza : `${stanza}\n`);
    },
    async writeFile(name, data) {
      await writeFile(p('keys', name), data);
      return p('keys', name);
    },
    aptGet(args, opts = {}) {
      const started = performance.now();
      return new Promise((resolve) => {
        execFile('apt-get', args, { cwd: opts.cwd ?? dir, env: { ...process.env, APT_CONFIG: p('apt.conf'), LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' }, timeout: 120_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
        });
      });
    },
    async clearState() {
      await rm(p('lists'), { recursive: true, force: true });
      await rm(p('cache'), { recursive: true, force: true });
      await mkdir(p('lists/partial'), { recursive: true });
      await mkdir(p('cache/archives/partial'), { recursive: true });
    },
    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Whether the tools the apt tests drive are installed (scripts/install-test-tools.sh installs them). */
export const APT_TOOLS_MISSING: string | false = ['apt-get', 'apt-ftparchive', 'dpkg-deb', 'gpg'].every((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}) ? false : 'apt-get, apt-ftparchive, dpkg-deb or gpg is missing (scripts/install-test-tools.sh)';

/** An apt run that succeeded without a warning or error line. */
export function assertAptOk(r: AptRun, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  assert.doesNotMatch(r.stderr, /^(W|E):/m, `${what} warned:\n${r.stderr}`);
}
