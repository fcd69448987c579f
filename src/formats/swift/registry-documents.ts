/**
 * The JSON documents of the registry API (Registry.md §4.1 list package releases, §4.2 fetch
 * release metadata: https://github.com/swiftlang/swift-package-manager/blob/main/Documentation/PackageRegistry/Registry.md),
 * read from upstream bytes (attacker-controlled: every field is checked before use) and
 * rewritten for clients of the mirror.
 */
import type { PackageId } from './registry-path.js';

export class RegistryDocumentError extends Error {
  override readonly name = 'RegistryDocumentError';
}

type Json = Record<string, unknown>;

/** §4.1: `{"releases": {"1.1.1": {"url": …}, "1.1.0": {"url": …, "problem": {…}}}}`. */
export interface ReleaseList {
  releases: Record<string, Json>;
  rest: Json;
}

export interface ReleaseMetadata {
  id: string;
  version: string;
  /** The source archive resource: its SHA-256 (lowercase hex) and upstream signature, if any. */
  archive: { checksum: string; signing?: { signatureBase64Encoded: string; signatureFormat: string } };
  rest: Json;
}

export function parseReleaseList(bytes: Buffer, path: string): ReleaseList {
  const doc = parseObject(bytes, path);
  const releases = doc.releases;
  if (!isObject(releases)) throw new RegistryDocumentError(`${path} has no "releases" object`);
  const checked: Record<string, Json> = {};
  for (const [version, entry] of Object.entries(releases)) {
    if (!isObject(entry)) throw new RegistryDocumentError(`${path}: release ${JSON.stringify(version)} is not an object`);
    checked[version] = entry;
  }
  return { releases: checked, rest: doc };
}

/** The list clients get: every release URL points at the mirror. */
export function servedReleaseList(list: ReleaseList, pkg: PackageId, repositoryUrl: string): Buffer {
  const releases: Record<string, Json> = {};
  for (const [version, entry] of Object.entries(list.releases)) {
    releases[version] = { ...entry, url: `${repositoryUrl}/${pkg.scope}/${pkg.name}/${encodeURIComponent(version)}` };
  }
  return Buffer.from(JSON.stringify({ ...list.rest, releases }));
}

/** The newest release without a problem (the `latest-version` link), by semantic version precedence. */
export function latestRelease(list: ReleaseList): string | undefined {
  const usable = Object.entries(list.releases).filter(([, e]) => e.problem === undefined).map(([v]) => v);
  return usable.sort(compareVersions).at(-1);
}

export function parseReleaseMetadata(bytes: Buffer, path: string): ReleaseMetadata {
  const doc = parseObject(bytes, path);
  if (typeof doc.id !== 'string' || typeof doc.version !== 'string') throw new RegistryDocumentError(`${path} lacks "id" or "version"`);
  if (!Array.isArray(doc.resources)) throw new RegistryDocumentError(`${path} has no "resources" array`);
  const archives = doc.resources.filter((r): r is Json => isObject(r) && r.name === 'source-archive');
  if (archives.length !== 1) throw new RegistryDocumentError(`${path} lists ${archives.length} source archives, not one`);
  const resource = archives[0]!;
  if (resource.type !== 'application/zip') throw new RegistryDocumentError(`${path}: the source archive is not application/zip`);
  if (typeof resource.checksum !== 'string' || !/^[0-9a-fA-F]{64}$/.test(resource.checksum)) throw new RegistryDocumentError(`${path}: the source archive checksum is not a SHA-256`);
  let signing: ReleaseMetadata['archive']['signing'];
  if (resource.signing !== undefined && resource.signing !== null) {
    const s = resource.signing;
    if (!isObject(s) || typeof s.signatureBase64Encoded !== 'string' || typeof s.signatureFormat !== 'string') {
      throw new RegistryDocumentError(`${path}: the source archive "signing" lacks signatureBase64Encoded or signatureFormat`);
    }
    signing = { signatureBase64Encoded: s.signatureBase64Encoded, signatureFormat: s.signatureFormat };
  }
  return { id: doc.id, version: doc.version, archive: { checksum: resource.checksum.toLowerCase(), ...(signing ? { signing } : {}) }, rest: doc };
}

/** The metadata clients get: the served archive's checksum and the mirror's signature over it. */
export function servedReleaseMetadata(meta: ReleaseMetadata, served: { checksum: string; signature: Buffer; signatureFormat: string }): Buffer {
  const resource = {
    name: 'source-archive',
    type: 'application/zip',
    checksum: served.checksum,
    signing: { signatureBase64Encoded: served.signature.toString('base64'), signatureFormat: served.signatureFormat },
  };
  return Buffer.from(JSON.stringify({ ...meta.rest, resources: [resource] }));
}

function parseObject(bytes: Buffer, path: string): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RegistryDocumentError(`${path} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new RegistryDocumentError(`${path} is not a JSON object`);
  return doc;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Semantic Versioning 2.0.0 §11 precedence; strings that are not versions sort first. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): { core: number[]; pre: string[] } | undefined => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    return m ? { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] } : undefined;
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return x ? 1 : y ? -1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! - y.core[i]!;
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const [p, q] = [x.pre[i]!, y.pre[i]!];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}
