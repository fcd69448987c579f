/**
 * What a request path names in a Maven repository. Layouts:
 * - Maven 2: `g/r/o/u/p/artifact/version/artifact-version[-classifier].ext`, version lists at
 *   `g/r/o/u/p/artifact/maven-metadata.xml` (snapshots: `…/1.0-SNAPSHOT/maven-metadata.xml`)
 *   https://maven.apache.org/repositories/layout.html
 * - Ivy, as sbt publishes plugins: `org.name/module/scala_2.12/sbt_1.0/rev/{jars,ivys,srcs,docs}/file`
 *   https://www.scala-sbt.org/1.x/docs/Publishing.html (the organisation is one dotted segment).
 * The path is client input: only its shape is read here, nothing is trusted from it.
 */

export const CHECKSUM_EXTENSIONS = ['md5', 'sha1', 'sha256', 'sha512'] as const;
export type ChecksumExtension = (typeof CHECKSUM_EXTENSIONS)[number];

/** A file the upstream serves: an artifact (jar, pom, module, ivy.xml, …) or a version list. */
export interface RepositoryFile {
  path: string;
  kind: 'artifact' | 'metadata';
  /** The groupId (Ivy: the organisation) keyrings are chosen by. */
  group: string;
  /** Re-fetched after metadataTtl: version lists and non-unique snapshot files. */
  mutable: boolean;
  contentType: string;
}

export type MavenPath =
  | { kind: 'file'; file: RepositoryFile }
  | { kind: 'checksum'; of: RepositoryFile; algorithm: ChecksumExtension }
  /** `<file>.asc`: the author's signature (artifacts) or the org's (version lists). */
  | { kind: 'signature'; of: RepositoryFile }
  /** `<file><orgSignatureSuffix>`: always the org's. */
  | { kind: 'org-signature'; of: RepositoryFile }
  | { kind: 'invalid'; reason: string };

const IVY_TYPE_DIRS = new Set(['jars', 'ivys', 'srcs', 'docs', 'poms', 'bundles', 'plugins', 'maven-plugins', 'sources', 'javadocs']);
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export function parseMavenPath(path: string, orgSuffix: string): MavenPath {
  if (path === '' || path.endsWith('/')) return { kind: 'invalid', reason: 'directory listings are not served' };
  if (path.endsWith(orgSuffix)) {
    const of = repositoryFile(path.slice(0, -orgSuffix.length));
    return 'reason' in of ? { kind: 'invalid', reason: of.reason } : { kind: 'org-signature', of };
  }
  if (path.endsWith('.asc')) {
    const of = repositoryFile(path.slice(0, -4));
    return 'reason' in of ? { kind: 'invalid', reason: of.reason } : { kind: 'signature', of };
  }
  const ext = path.slice(path.lastIndexOf('.') + 1) as ChecksumExtension;
  if ((CHECKSUM_EXTENSIONS as readonly string[]).includes(ext)) {
    const base = path.slice(0, -(ext.length + 1));
    if (base.endsWith('.asc')) return { kind: 'invalid', reason: 'signatures have no checksums (aether.checksums.forSignature=false)' };
    const of = repositoryFile(base);
    return 'reason' in of ? { kind: 'invalid', reason: of.reason } : { kind: 'checksum', of, algorithm: ext };
  }
  const file = repositoryFile(path);
  return 'reason' in file ? { kind: 'invalid', reason: file.reason } : { kind: 'file', file };
}

function repositoryFile(path: string): RepositoryFile | { reason: string } {
  const segments = path.split('/');
  if (segments.length < 2 || !segments.every((s) => SEGMENT.test(s))) return { reason: 'not a path in a Maven or Ivy repository layout' };
  const name = segments[segments.length - 1]!;
  const parent = segments[segments.length - 2]!;
  // Signatures and sidecars are made or passed beside a file, never files of their own (x.jar.asc.asc).
  if (/\.(?:asc|md5|sha1|sha256|sha512)$/.test(name)) return { reason: 'signatures and checksums have no signatures or checksums of their own' };
  if (name === 'maven-metadata.xml') {
    // Version level (snapshots) sits below the artifact: …/artifact/1.0-SNAPSHOT/maven-metadata.xml.
    const up = parent.endsWith('-SNAPSHOT') ? 2 : 1;
    return { path, kind: 'metadata', group: segments.slice(0, Math.max(1, segments.length - 1 - up)).join('.'), mutable: true, contentType: 'text/xml' };
  }
  if (segments.length < 3) return { reason: 'not a path in a Maven or Ivy repository layout' };
  const ivy = IVY_TYPE_DIRS.has(parent) && segments[0]!.includes('.') && segments.length >= 4;
  const group = ivy ? segments[0]! : segments.slice(0, -3).join('.');
  if (!group) return { reason: 'not a path in a Maven or Ivy repository layout' };
  const versionDir = ivy ? segments[segments.length - 3]! : parent;
  // A non-unique snapshot (artifact-1.0-SNAPSHOT.jar) is replaced in place; timestamped ones are not.
  const mutable = versionDir.endsWith('-SNAPSHOT') && name.includes('-SNAPSHOT');
  return { path, kind: 'artifact', group, mutable, contentType: contentTypeOf(name) };
}

function contentTypeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  switch (ext) {
    case 'jar': case 'war': case 'ear': case 'aar':
      return 'application/java-archive';
    case 'pom': case 'xml':
      return 'text/xml';
    case 'module': case 'json':
      return 'application/json';
    default:
      return 'application/octet-stream';
  }
}

/** Whether `group` falls under `prefix`, segment-wise. */
export function groupMatches(group: string, prefix: string): boolean {
  return group === prefix || group.startsWith(`${prefix}.`);
}
