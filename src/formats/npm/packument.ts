/**
 * The npm packument, as far as the mirror reads it.
 * https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md
 * Upstream bytes are attacker-controlled: every field is checked before it is trusted.
 */
export interface NpmSignature {
  keyid: string;
  sig: string;
}

export interface NpmDist {
  integrity?: string;
  shasum?: string;
  tarball?: string;
  signatures?: NpmSignature[];
  attestations?: unknown;
  [key: string]: unknown;
}

export interface NpmVersion {
  name?: string;
  version?: string;
  dist?: NpmDist;
  [key: string]: unknown;
}

export interface Packument {
  name: string;
  'dist-tags'?: Record<string, string>;
  versions?: Record<string, NpmVersion>;
  time?: Record<string, string>;
  modified?: string;
  [key: string]: unknown;
}

export function parsePackument(bytes: Buffer, expectedName: string): Packument {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`the packument is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new Error('the packument is not a JSON object');
  if (doc.name !== expectedName) throw new Error(`the packument names "${String(doc.name)}", not "${expectedName}"`);
  if (doc.versions !== undefined && !isObject(doc.versions)) throw new Error('"versions" is not an object');
  if (doc['dist-tags'] !== undefined && !isObject(doc['dist-tags'])) throw new Error('"dist-tags" is not an object');
  if (doc.time !== undefined && !isObject(doc.time)) throw new Error('"time" is not an object');
  return doc as Packument;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Valid npm package names (old packages may have capitals); a scope is "@scope/". */
const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9_~-][a-zA-Z0-9._~-]*$/;

export function isPackageName(name: string): boolean {
  return name.length <= 214 && NAME.test(name) && !name.startsWith('.');
}

/** npm's escaped form for registry URLs: the scope's slash as %2f. */
export function escapedName(name: string): string {
  return name.startsWith('@') ? name.replace('/', '%2f') : encodeURIComponent(name);
}

export const TARBALL_FILE = /^[A-Za-z0-9._~-]+\.tgz$/;
