/**
 * A Maven repository on a fixture upstream, made by the test the way a release repository holds
 * it: real jars (the JDK's `jar` tool), poms, maven-metadata.xml, the four checksum sidecars, and
 * `.asc` signatures by the publisher's key (gpg, see maven-author.ts).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { MavenAuthor } from './maven-author.js';

const run = promisify(execFile);

export interface Coordinates {
  groupId: string;
  artifactId: string;
  version: string;
}

export interface Dependency extends Coordinates {
  scope?: string;
}

export const SIDECARS = ['md5', 'sha1', 'sha256', 'sha512'] as const;

export function artifactDir(c: Omit<Coordinates, 'version'> & { version?: string }): string {
  return [...c.groupId.split('.'), c.artifactId, ...(c.version ? [c.version] : [])].join('/');
}

export function artifactPath(c: Coordinates, ext: string): string {
  return `${artifactDir(c)}/${c.artifactId}-${c.version}.${ext}`;
}

/** A real jar with one resource, made by the JDK's `jar` tool. */
export async function buildJar(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-jar-'));
  try {
    const content = join(dir, 'content');
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(content, name)), { recursive: true });
      await writeFile(join(content, name), text);
    }
    await run('jar', ['--create', '--file', join(dir, 'out.jar'), '-C', content, '.']);
    return await readFile(join(dir, 'out.jar'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function pomXml(c: Coordinates, dependencies: Dependency[] = [], packaging = 'jar'): string {
  const deps = dependencies.map((d) => [
    '    <dependency>',
    `      <groupId>${d.groupId}</groupId>`,
    `      <artifactId>${d.artifactId}</artifactId>`,
    `      <version>${d.version}</version>`,
    ...(d.scope ? [`      <scope>${d.scope}</scope>`] : []),
    '    </dependency>',
  ].join('\n'));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>${c.groupId}</groupId>`,
    `  <artifactId>${c.artifactId}</artifactId>`,
    `  <version>${c.version}</version>`,
    `  <packaging>${packaging}</packaging>`,
    ...(deps.length ? ['  <dependencies>', ...deps, '  </dependencies>'] : []),
    '</project>',
    '',
  ].join('\n');
}

export function metadataXml(groupId: string, artifactId: string, versions: string[], lastUpdated: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<metadata>',
    `  <groupId>${groupId}</groupId>`,
    `  <artifactId>${artifactId}</artifactId>`,
    '  <versioning>',
    `    <latest>${versions[versions.length - 1]}</latest>`,
    `    <release>${versions[versions.length - 1]}</release>`,
    '    <versions>',
    ...versions.map((v) => `      <version>${v}</version>`),
    '    </versions>',
    `    <lastUpdated>${lastUpdated}</lastUpdated>`,
    '  </versioning>',
    '</metadata>',
    '',
  ].join('\n');
}

export function digest(algorithm: string, bytes: Buffer | string): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

export interface PublishOptions {
  /** Signs `<path>.asc` (none: no signature upstream). */
  author?: MavenAuthor;
  /** Sidecars written (default all four); `checksumOf` makes them describe other bytes. */
  sidecars?: readonly string[];
  checksumOf?: Buffer | string;
  /** Sign these bytes instead (a signature over something else). */
  signatureOf?: Buffer | string;
}

/** One file with its sidecars and signature, under `base` (e.g. `/maven2`). */
export async function publishFile(upstream: FixtureUpstream, base: string, path: string, bytes: Buffer | string, opts: PublishOptions = {}): Promise<void> {
  const url = `${base}/${path}`;
  upstream.setFile(url, Buffer.from(bytes));
  for (const alg of opts.sidecars ?? SIDECARS) upstream.setFile(`${url}.${alg}`, digest(alg, opts.checksumOf ?? bytes));
  if (opts.author) upstream.setFile(`${url}.asc`, await opts.author.sign(opts.signatureOf ?? bytes));
  else upstream.deleteFile(`${url}.asc`);
}

/** A jar and its pom, signed by `author`; returns the jar bytes. */
export async function publishArtifact(
  upstream: FixtureUpstream, base: string, c: Coordinates, author: MavenAuthor | undefined, dependencies: Dependency[] = [],
): Promise<Buffer> {
  const jar = await buildJar({ [`${c.artifactId}.properties`]: `version=${c.version}\n` });
  await publishFile(upstream, base, artifactPath(c, 'jar'), jar, author ? { author } : {});
  await publishFile(upstream, base, artifactPath(c, 'pom'), pomXml(c, dependencies), author ? { author } : {});
  return jar;
}
