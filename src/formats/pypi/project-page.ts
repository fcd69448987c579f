/**
 * A project page of the simple repository API in its JSON form (PEP 691, with PEP 592 yanked,
 * PEP 658/714 core metadata, PEP 700 size/versions/upload-time, PEP 740 provenance).
 * https://packaging.python.org/en/latest/specifications/simple-repository-api/
 * The bytes come from the upstream and are attacker-controlled: every field is checked, what
 * does not fit is refused per file (a `problem`), and nothing unchecked reaches a served page.
 */
import { locateFile } from './file-url.js';
import { normalizeProject } from './names.js';

export const SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json';
export const SIMPLE_HTML = 'application/vnd.pypi.simple.v1+html';

const HEX = /^[0-9a-f]+$/;
/** Hash names the mirror checks itself (hashlib names, as the spec uses). */
export const CHECKED_HASHES = { sha256: 64, sha384: 96, sha512: 128 } as const;
export type CheckedHash = keyof typeof CHECKED_HASHES;

export interface DistFile {
  filename: string;
  /** Decoded path under the upstream base, or why the file cannot be served. */
  location: { ok: true; path: string } | { ok: false; reason: string };
  /** Lowercase hex by algorithm, only the algorithms the mirror checks. */
  hashes: Partial<Record<CheckedHash, string>>;
  requiresPython?: string;
  /** PEP 658: the metadata file's SHA-256 when the upstream gives one; `true` when it only says it exists. */
  coreMetadata?: { sha256?: string };
  yanked: boolean | string;
  size?: number;
  uploadTime?: string;
  /** PEP 740 provenance URL as the upstream gave it. */
  provenance?: string;
}

export interface ProjectPage {
  name: string;
  apiVersion: string;
  lastSerial?: number;
  files: DistFile[];
  versions?: string[];
}

export class PageFormatError extends Error {}

/** Far above the largest project pages an index serves; bounds the memory one page's parse can take. */
export const MAX_PAGE_BYTES = 64 * 1024 * 1024;

export function parseProjectPage(bytes: Buffer, project: string, pageUrl: URL, base: URL, origins: ReadonlySet<string> = new Set()): ProjectPage {
  if (bytes.length > MAX_PAGE_BYTES) throw new PageFormatError(`the page is larger than ${MAX_PAGE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PageFormatError('the page is not PEP 691 JSON (the mirror asks the upstream for application/vnd.pypi.simple.v1+json)');
  }
  if (!isObject(doc) || !isObject(doc.meta) || typeof doc.name !== 'string' || !Array.isArray(doc.files)) {
    throw new PageFormatError('the page lacks meta, name or files');
  }
  const apiVersion = typeof doc.meta['api-version'] === 'string' && /^1\.\d{1,3}$/.test(doc.meta['api-version']) ? doc.meta['api-version'] : undefined;
  if (!apiVersion) throw new PageFormatError('meta.api-version is not a 1.x version');
  if (normalizeProject(doc.name) !== project) throw new PageFormatError(`the page is for project "${doc.name.slice(0, 100)}", not "${project}"`);
  const serial = doc.meta['_last-serial'];
  const page: ProjectPage = { name: doc.name, apiVersion, files: doc.files.map((f) => distFile(f, pageUrl, base, origins)) };
  if (typeof serial === 'number' && Number.isSafeInteger(serial) && serial >= 0) page.lastSerial = serial;
  if (Array.isArray(doc.versions)) page.versions = doc.versions.filter((v): v is string => typeof v === 'string' && v.length <= 128);
  return page;
}

function distFile(raw: unknown, pageUrl: URL, base: URL, origins: ReadonlySet<string>): DistFile {
  const bad = (reason: string): DistFile => ({ filename: '', location: { ok: false, reason }, hashes: {}, yanked: false });
  if (!isObject(raw) || typeof raw.filename !== 'string' || typeof raw.url !== 'string' || !isObject(raw.hashes)) {
    return bad('a file entry lacks filename, url or hashes');
  }
  const file: DistFile = { filename: raw.filename, location: locateFile(raw.url.split('#')[0]!, raw.filename, pageUrl, base, origins), hashes: {}, yanked: false };
  for (const [alg, length] of Object.entries(CHECKED_HASHES) as [CheckedHash, number][]) {
    const value = raw.hashes[alg];
    if (typeof value === 'string' && value.length === length && HEX.test(value.toLowerCase())) file.hashes[alg] = value.toLowerCase();
  }
  if (typeof raw['requires-python'] === 'string' && raw['requires-python'].length <= 256) file.requiresPython = raw['requires-python'];
  // PEP 714: `core-metadata`, with the legacy `dist-info-metadata` read when it is absent.
  const metadata = raw['core-metadata'] ?? raw['dist-info-metadata'];
  if (metadata === true) file.coreMetadata = {};
  else if (isObject(metadata)) {
    const sha = metadata.sha256;
    file.coreMetadata = typeof sha === 'string' && sha.length === 64 && HEX.test(sha.toLowerCase()) ? { sha256: sha.toLowerCase() } : {};
  }
  if (raw.yanked === true) file.yanked = true;
  else if (typeof raw.yanked === 'string') file.yanked = raw.yanked.slice(0, 1024);
  if (typeof raw.size === 'number' && Number.isSafeInteger(raw.size) && raw.size >= 0) file.size = raw.size;
  if (typeof raw['upload-time'] === 'string' && raw['upload-time'].length <= 64) file.uploadTime = raw['upload-time'];
  if (typeof raw.provenance === 'string' && raw.provenance.length <= 2048) file.provenance = raw.provenance;
  return file;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
