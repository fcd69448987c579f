/**
 * A real RPM repository for tests, built with the real tools: rpmbuild (tiny noarch packages),
 * rpmsign with a throwaway GnuPG key, createrepo_c, and gpg --detach-sign --armor over
 * repomd.xml. On Debian rpmsign's default __gpg is /usr/bin/gpg2, which does not exist, so it
 * is pointed at gpg explicitly.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { FixtureUpstream } from './fixture-upstream.js';

const run = promisify(execFile);

export interface GpgKey {
  home: string;
  fingerprint: string;
  armoredPublic: string;
  close(): Promise<void>;
}

/** A GnuPG home with one Ed25519 signing key (fast to make; rpm 4.18 puts EdDSA in tag 267). */
export async function makeGpgKey(name = 'Fixture RPM'): Promise<GpgKey> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-rpm-gpg-'));
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--quiet', ...args]);
  await gpg('--passphrase', '', '--quick-gen-key', `${name} <rpm@upstream.example>`, 'ed25519', 'sign', 'never');
  const { stdout } = await gpg('--list-keys', '--with-colons');
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error('gpg made no key');
  const { stdout: armoredPublic } = await gpg('--armor', '--export', fingerprint);
  return {
    home, fingerprint, armoredPublic,
    close: async () => {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface RpmSpec {
  name: string;
  version?: string;
  release?: string;
  /** Content of /usr/share/<name>/<name>.txt */
  content?: string;
}

export interface BuiltRpmRepo {
  /** Repository-relative path → bytes (packages under Packages/, repodata/…). */
  files: Map<string, Buffer>;
  packagePaths: string[];
}

/** Builds packages, signs them with `packageKey`, makes repodata and signs repomd.xml with `repoKey`. */
export async function buildRpmRepo(opts: {
  packages: RpmSpec[]; packageKey: GpgKey; repoKey?: GpgKey; compress?: 'gz' | 'xz'; signPackages?: boolean;
  /** Adds an updateinfo.xml (with modifyrepo_c), metadata the mirror serves as it is. */
  updateinfo?: boolean;
  /** repomd.xml `<revision>` (createrepo_c --revision; default: the Unix time of the run). */
  revision?: string;
}): Promise<BuiltRpmRepo> {
  const work = await mkdtemp(join(tmpdir(), 'countersign-rpm-repo-'));
  try {
    const top = join(work, 'top');
    const repo = join(work, 'repo');
    await mkdir(join(top, 'SPECS'), { recursive: true });
    await mkdir(join(repo, 'Packages'), { recursive: true });
    const packagePaths: string[] = [];
    for (const p of opts.packages) {
      const spec = join(top, 'SPECS', `${p.name}.spec`);
      await writeFile(spec, specText(p));
      await run('rpmbuild', ['--define', `_topdir ${top}`, '--quiet', '-bb', spec]);
      const file = `${p.name}-${p.version ?? '1.0'}-${p.release ?? '1'}.noarch.rpm`;
      await writeFile(join(repo, 'Packages', file), await readFile(join(top, 'RPMS', 'noarch', file)));
      packagePaths.push(`Packages/${file}`);
    }
    if (opts.signPackages !== false) {
      await run('rpmsign', ['--define', '__gpg /usr/bin/gpg', '--define', `_gpg_name ${opts.packageKey.fingerprint}`, '--addsign', ...packagePaths.map((f) => join(repo, f))], {
        env: { ...process.env, GNUPGHOME: opts.packageKey.home },
      });
    }
    await run('createrepo_c', [
      '--quiet', ...(opts.compress === 'xz' ? ['--general-compress-type', 'xz'] : []), ...(opts.revision ? ['--revision', opts.revision] : []), repo,
    ]);
    if (opts.updateinfo) {
      await writeFile(join(work, 'updateinfo.xml'), [
        '<?xml version="1.0" encoding="UTF-8"?>', '<updates>', '  <update from="security@upstream.example" status="final" type="security" version="1">',
        '    <id>FIXTURE-2024-0001</id>', '    <title>Fixture advisory</title>', '  </update>', '</updates>', '',
      ].join('\n'));
      await run('modifyrepo_c', [join(work, 'updateinfo.xml'), join(repo, 'repodata')]);
    }
    const repoKey = opts.repoKey ?? opts.packageKey;
    await run('gpg', ['--homedir', repoKey.home, '--batch', '--quiet', '--yes', '--armor', '--detach-sign', '-o', join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml')]);
    const files = new Map<string, Buffer>();
    for (const f of await walk(repo)) files.set(relative(repo, f), await readFile(f));
    return { files, packagePaths };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** An armored detached signature by `key` (to re-sign a repomd.xml with the wrong key). */
export async function gpgDetachSign(key: GpgKey, bytes: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-rpm-sign-'));
  try {
    await writeFile(join(dir, 'data'), bytes);
    await run('gpg', ['--homedir', key.home, '--batch', '--quiet', '--yes', '--armor', '--detach-sign', '-o', join(dir, 'data.asc'), join(dir, 'data')]);
    return await readFile(join(dir, 'data.asc'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Puts every file of a built repository on the fixture upstream under `prefix` (e.g. "/el/9"). */
export function publishRpmRepo(upstream: FixtureUpstream, prefix: string, repo: BuiltRpmRepo): void {
  for (const [path, bytes] of repo.files) upstream.setFile(`${prefix}/${path}`, bytes);
}

/** Removes a published repository's repodata (before publishing a new revision). */
export function unpublishRepodata(upstream: FixtureUpstream, prefix: string, repo: BuiltRpmRepo): void {
  for (const path of repo.files.keys()) if (path.startsWith('repodata/')) upstream.deleteFile(`${prefix}/${path}`);
}

function specText(p: RpmSpec): string {
  return [
    `Name: ${p.name}`,
    `Version: ${p.version ?? '1.0'}`,
    `Release: ${p.release ?? '1'}`,
    `Summary: Countersign test package ${p.name}`,
    'License: MIT',
    'BuildArch: noarch',
    '%description',
    `Countersign test package ${p.name}.`,
    '%install',
    `mkdir -p %{buildroot}/usr/share/${p.name}`,
    `printf '%s\\n' '${(p.content ?? `hello from ${p.name}`).replace(/'/g, '')}' > %{buildroot}/usr/share/${p.name}/${p.name}.txt`,
    '%files',
    `/usr/share/${p.name}/${p.name}.txt`,
    '',
  ].join('\n');
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
