/**
 * A Debian archive built with the real tools, as an upstream publishes one: packages made by
 * `dpkg-deb --build`, indexes by `apt-ftparchive packages`, Release by `apt-ftparchive release`,
 * by-hash copies as dak makes them, and signatures by `gpg --clearsign` / `--detach-sign`
 * with a test key in a throwaway GNUPGHOME. Published on a FixtureUpstream.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { FixtureUpstream } from './fixture-upstream.js';

const run = promisify(execFile);

export interface GpgKey {
  home: string;
  fingerprint: string;
  /** Binary OpenPGP packets (what /usr/share/keyrings/*.gpg hold; never a keybox). */
  binaryKeyring: Buffer;
  armored: string;
  clearsign(text: Buffer): Promise<Buffer>;
  detachSign(data: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

export async function makeGpgKey(name: string): Promise<GpgKey> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-gpg-upstream-'));
  const gpg = (args: string[], input?: Buffer) => gpgRun(home, args, input);
  await gpg(['--quick-gen-key', '--passphrase', '', `${name} <archive@fixture.example>`, 'ed25519', 'sign', 'never']);
  const { stdout } = await gpg(['--list-keys', '--with-colons']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout.toString())?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg output: ${stdout.toString()}`);
  const binaryKeyring = (await gpg(['--export', fingerprint])).stdout;
  const armored = (await gpg(['--armor', '--export', fingerprint])).stdout.toString();
  const signWith = (mode: string[]) => async (data: Buffer) => {
    const dir = await mkdtemp(join(home, 'sign-'));
    await writeFile(join(dir, 'in'), data);
    await gpg(['--local-user', fingerprint, ...mode, '--output', join(dir, 'out'), join(dir, 'in')]);
    const out = await readFile(join(dir, 'out'));
    await rm(dir, { recursive: true, force: true });
    return out;
  };
  return {
    home, fingerprint, binaryKeyring, armored,
    clearsign: signWith(['--digest-algo', 'SHA256', '--clearsign']),
    detachSign: signWith(['--digest-algo', 'SHA256', '--armor', '--detach-sign']),
    async close() {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

async function gpgRun(home: string, args: string[], input?: Buffer): Promise<{ stdout: Buffer; stderr: string }> {
  const child = execFile('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  if (input) child.stdin?.end(input);
  else child.stdin?.end();
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => errs.push(c));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const stderr = Buffer.concat(errs).toString();
  if (code !== 0) throw new Error(`gpg ${args.join(' ')} failed (${code}): ${stderr}`);
  return { stdout: Buffer.concat(chunks), stderr };
}

export interface DebSpec {
  name: string;
  version: string;
  /** Pool directory relative to the archive root, e.g. "pool/main/h/hello". */
  pool: string;
  depends?: string;
}

export interface SuiteSpec {
  suite: string;
  /** Pool directories whose .debs this suite lists (apt-ftparchive packages over each). */
  pools: string[];
  /** Which Packages variants the Release lists: "" (uncompressed), "gz", "xz". */
  compressions: ('' | 'gz' | 'xz')[];
  /** Variants listed but not published, as Debian lists the uncompressed Packages it does not serve. */
  withheld?: ('' | 'gz' | 'xz')[];
  byHash?: boolean;
  /** How the Release is signed upstream. */
  signing?: 'inrelease' | 'detached' | 'both';
  /** Header fields set (or, with undefined, removed) in the Release before signing. */
  fields?: Record<string, string | undefined>;
  /** Signs with this key instead of the archive's. */
  signWith?: GpgKey;
  /** Publishes a pdiff: Packages.diff/Index (listed in the Release) and one merged patch it lists. */
  pdiff?: boolean;
}

export const PDIFF_PATCH = 'T-2026-01-01-0000.00-F-2025-12-31-0000.00.gz';

export class DebianFixture {
  readonly root: string;
  readonly key: GpgKey;
  #published = new Set<string>();

  private constructor(root: string, key: GpgKey) {
    this.root = root;
    this.key = key;
  }

  static async create(key: GpgKey): Promise<DebianFixture> {
    return new DebianFixture(await mkdtemp(join(tmpdir(), 'countersign-debian-archive-')), key);
  }

  async addDeb(spec: DebSpec): Promise<string> {
    const build = await mkdtemp(join(tmpdir(), 'countersign-deb-'));
    try {
      await mkdir(join(build, 'DEBIAN'));
      await mkdir(join(build, 'usr/share/doc', spec.name), { recursive: true });
      await writeFile(join(build, 'usr/share/doc', spec.name, 'README'), `${spec.name} ${spec.version}: built for the Countersign tests\n`);
      const control = [
        `Package: ${spec.name}`, `Version: ${spec.version}`, 'Architecture: all', 'Maintainer: Fixture <archive@fixture.example>',
        ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
        'Section: misc', 'Priority: optional', `Description: ${spec.name} test package`, ' Built by dpkg-deb for the Countersign tests.', '',
      ].join('\n');
      await writeFile(join(build, 'DEBIAN/control'), control);
      const file = join(spec.pool, `${spec.name}_${spec.version}_all.deb`);
      await mkdir(join(this.root, spec.pool), { recursive: true });
      await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', build, join(this.root, file)]);
      return file;
    } finally {
      await rm(build, { recursive: true, force: true });
    }
  }

  /** (Re)writes dists/<suite>/: Packages variants, Release, by-hash copies and signatures. */
  async writeSuite(spec: SuiteSpec): Promise<void> {
    const dists = join(this.root, 'dists', spec.suite);
    await rm(dists, { recursive: true, force: true });
    const binary = join(dists, 'main/binary-amd64');
    await mkdir(binary, { recursive: true });
    let packages = '';
    for (const pool of spec.pools) packages += (await run('apt-ftparchive', ['packages', pool], { cwd: this.root })).stdout;
    await writeFile(join(binary, 'Packages'), packages);
    if (spec.compressions.includes('gz')) await run('gzip', ['-9nk', join(binary, 'Packages')]);
    if (spec.compressions.includes('xz')) await run('xz', ['-k', join(binary, 'Packages')]);
    if (spec.pdiff) await this.#pdiff(binary, spec.byHash ?? false);
    if (!spec.compressions.includes('')) await rm(join(binary, 'Packages'));
    const { stdout } = await run('apt-ftparchive', [
      '-o', 'APT::FTPArchive::Release::Origin=Fixture', '-o', 'APT::FTPArchive::Release::Label=Fixture',
      '-o', `APT::FTPArchive::Release::Suite=${spec.suite}`, '-o', `APT::FTPArchive::Release::Codename=${spec.suite}`,
      '-o', 'APT::FTPArchive::Release::Architectures=amd64', '-o', 'APT::FTPArchive::Release::Components=main',
      ...(spec.byHash ? ['-o', 'APT::FTPArchive::Release::Acquire-By-Hash=yes'] : []),
      'release', `dists/${spec.suite}`,
    ], { cwd: this.root });
    const release = Buffer.from(setFields(stdout, spec.fields ?? {}));
    await writeFile(join(dists, 'Release'), release);
    for (const ext of spec.withheld ?? []) await rm(join(binary, ext ? `Packages.${ext}` : 'Packages'));
    if (spec.byHash) await this.#byHash(spec.suite, release.toString());
    const key = spec.signWith ?? this.key;
    const signing = spec.signing ?? 'both';
    if (signing !== 'detached') await writeFile(join(dists, 'InRelease'), await key.clearsign(release));
    if (signing !== 'inrelease') await writeFile(join(dists, 'Release.gpg'), await key.detachSign(release));
  }

  async #pdiff(binary: string, byHash: boolean): Promise<void> {
    const dir = join(binary, 'Packages.diff');
    await mkdir(dir, { recursive: true });
    const patch = gzipSync(Buffer.from('1a\nPackage: patched\n.\n'));
    await writeFile(join(dir, PDIFF_PATCH), patch);
    if (byHash) {
      await mkdir(join(dir, 'by-hash/SHA256'), { recursive: true });
      await writeFile(join(dir, 'by-hash/SHA256', sha256(patch)), patch);
    }
    const packages = await readFile(join(binary, 'Packages'));
    await writeFile(join(dir, 'Index'), [
      `SHA256-Current: ${sha256(packages)} ${packages.length}`,
      'SHA256-History:', ` ${'0'.repeat(64)} 10 2025-12-31-0000.00`,
      'SHA256-Patches:', ` ${'1'.repeat(64)} 20 ${PDIFF_PATCH.replace(/\.gz$/, '')}`,
      'SHA256-Download:', ` ${sha256(patch)} ${patch.length} ${PDIFF_PATCH}`,
      'X-Patch-Precedence: merged', '',
    ].join('\n'));
  }

  async #byHash(suite: string, release: string): Promise<void> {
    const types: Record<string, string> = { 'MD5Sum:': 'MD5Sum', 'SHA1:': 'SHA1', 'SHA256:': 'SHA256', 'SHA512:': 'SHA512' };
    let type: string | undefined;
    for (const line of release.split('\n')) {
      if (!line.startsWith(' ')) {
        type = types[line.trim()];
        continue;
      }
      const [hex, , name] = line.trim().split(/\s+/);
      if (!type || !hex || !name) continue;
      const bytes = await readFile(join(this.root, 'dists', suite, name)).catch(() => undefined);
      if (!bytes) continue;
      const dir = join(this.root, 'dists', suite, dirname(name), 'by-hash', type);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, hex), bytes);
    }
  }

  async file(path: string): Promise<Buffer> {
    return readFile(join(this.root, path));
  }

  /** Publishes every file of the archive under `prefix` and withdraws those no longer there. */
  async publish(upstream: FixtureUpstream, prefix = '/debian'): Promise<void> {
    const now = new Set<string>();
    for (const file of await walk(this.root)) {
      const rel = relative(this.root, file);
      now.add(rel);
      upstream.setFile(`${prefix}/${rel}`, await readFile(file));
    }
    for (const old of this.#published) if (!now.has(old)) upstream.deleteFile(`${prefix}/${old}`);
    this.#published = now;
  }

  async close(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Sets (or removes) header fields of a Release paragraph, before its first hash list. */
export function setFields(release: string, fields: Record<string, string | undefined>): string {
  const lines = release.split('\n');
  for (const [name, value] of Object.entries(fields)) {
    const i = lines.findIndex((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    if (value === undefined) {
      if (i >= 0) lines.splice(i, 1);
    } else if (i >= 0) lines[i] = `${name}: ${value}`;
    else lines.splice(lines.findIndex((l) => l === 'MD5Sum:' || l === 'SHA256:'), 0, `${name}: ${value}`);
  }
  return lines.join('\n');
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** gpgv as apt runs it: does `file` (InRelease, or Release with `signature`) verify with the armored keys? */
export async function gpgv(keysArmored: string, file: Buffer, signature?: Buffer): Promise<{ ok: boolean; output: string }> {
  const home = await mkdtemp(join(tmpdir(), 'countersign-gpgv-'));
  try {
    await writeFile(join(home, 'keys.asc'), keysArmored);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--output', join(home, 'keys.gpg'), '--dearmor', join(home, 'keys.asc')]);
    await writeFile(join(home, 'file'), file);
    const args = ['--homedir', home, '--status-fd', '1', '--keyring', join(home, 'keys.gpg')];
    if (signature) await writeFile(join(home, 'file.gpg'), signature);
    try {
      const { stdout, stderr } = await run('gpgv', [...args, ...(signature ? [join(home, 'file.gpg'), join(home, 'file')] : [join(home, 'file')])]);
      return { ok: /\[GNUPG:\] VALIDSIG /.test(stdout), output: stdout + stderr };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
