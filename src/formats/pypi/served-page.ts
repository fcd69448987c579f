/**
 * The project page clients see, made from a verified upstream page: file URLs on the mirror
 * (fragments and hashes kept), `gpg-sig` true (every file has an org `.asc` beside it), yanked
 * kept (mirrors must not drop it, PEP 592), core metadata advertised only when it can be checked,
 * provenance URLs on the mirror. Both serialisations come from the same list, so JSON and HTML
 * clients see the same files. HTML is generated with every value escaped.
 */
import { encodePath } from '../encode-path.js';
import { mirrorFilePath } from './check-files.js';
import { CHECKED_HASHES, type CheckedHash, type DistFile, type ProjectPage } from './project-page.js';

export interface ServedFile {
  filename: string;
  url: string;
  hashes: Partial<Record<CheckedHash, string>>;
  requiresPython?: string;
  coreMetadataSha256?: string;
  /** The upstream said metadata exists without a hash (served under warn/off only). */
  coreMetadataUnhashed?: boolean;
  yanked: boolean | string;
  size?: number;
  uploadTime?: string;
  provenanceUrl?: string;
}

export interface ServedPage {
  name: string;
  apiVersion: string;
  lastSerial?: number;
  files: ServedFile[];
  versions?: string[];
}

export interface ServeOptions {
  repositoryUrl: string;
  project: string;
  /** File names refused by verification that are left out (under require). */
  dropped: ReadonlySet<string>;
  /** Whether a file without a checkable hash or metadata hash may be listed (warn/off). */
  lenient: boolean;
}

export function servedPage(page: ProjectPage, opts: ServeOptions): ServedPage {
  const files: ServedFile[] = [];
  for (const f of page.files) {
    const served = servedFile(f, opts);
    if (served) files.push(served);
  }
  return {
    name: page.name, apiVersion: page.apiVersion, files,
    ...(page.lastSerial !== undefined ? { lastSerial: page.lastSerial } : {}),
    ...(page.versions ? { versions: page.versions } : {}),
  };
}

function servedFile(f: DistFile, opts: ServeOptions): ServedFile | undefined {
  if (!f.location.ok || opts.dropped.has(f.filename)) return undefined;
  if (!f.hashes.sha256 && !opts.lenient) return undefined;
  const url = `${opts.repositoryUrl}/${encodePath(mirrorFilePath(opts.project, f.location.path))}`;
  const out: ServedFile = { filename: f.filename, url, hashes: f.hashes, yanked: f.yanked };
  if (f.requiresPython !== undefined) out.requiresPython = f.requiresPython;
  if (f.coreMetadata?.sha256) out.coreMetadataSha256 = f.coreMetadata.sha256;
  else if (f.coreMetadata && opts.lenient) out.coreMetadataUnhashed = true;
  if (f.size !== undefined) out.size = f.size;
  if (f.uploadTime !== undefined) out.uploadTime = f.uploadTime;
  if (f.provenance !== undefined) out.provenanceUrl = `${opts.repositoryUrl}/provenance/${encodeURIComponent(opts.project)}/${encodeURIComponent(f.filename)}`;
  return out;
}

/** PEP 691 JSON. */
export function pageJson(page: ServedPage): Buffer {
  const meta: Record<string, unknown> = { 'api-version': page.apiVersion };
  if (page.lastSerial !== undefined) meta['_last-serial'] = page.lastSerial;
  const files = page.files.map((f) => {
    const metadata = f.coreMetadataSha256 ? { sha256: f.coreMetadataSha256 } : f.coreMetadataUnhashed ? true : false;
    return {
      filename: f.filename,
      url: f.url,
      hashes: f.hashes,
      ...(f.requiresPython !== undefined ? { 'requires-python': f.requiresPython } : {}),
      // PEP 714: JSON carries `core-metadata` only. pip 22.3 to 23.1 (Debian bookworm's 23.0.1 among
      // them) fail hard on a `dist-info-metadata` object in JSON; HTML keeps both attributes.
      'core-metadata': metadata,
      'gpg-sig': true,
      yanked: f.yanked,
      ...(f.size !== undefined ? { size: f.size } : {}),
      ...(f.uploadTime !== undefined ? { 'upload-time': f.uploadTime } : {}),
      ...(f.provenanceUrl !== undefined ? { provenance: f.provenanceUrl } : {}),
    };
  });
  return Buffer.from(JSON.stringify({ meta, name: page.name, files, ...(page.versions ? { versions: page.versions } : {}) }));
}

/** PEP 503 HTML, with the PEP 629 repository version. */
export function pageHtml(page: ServedPage): Buffer {
  const lines = [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${escapeHtml(page.apiVersion)}">`,
    `    <title>Links for ${escapeHtml(page.name)}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>Links for ${escapeHtml(page.name)}</h1>`,
  ];
  for (const f of page.files) {
    const fragment = f.hashes.sha256 ? `#sha256=${f.hashes.sha256}` : strongestFragment(f.hashes);
    const attrs = [`href="${escapeHtml(f.url + fragment)}"`];
    if (f.requiresPython !== undefined) attrs.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`);
    if (f.coreMetadataSha256 || f.coreMetadataUnhashed) {
      const value = f.coreMetadataSha256 ? `sha256=${f.coreMetadataSha256}` : 'true';
      attrs.push(`data-dist-info-metadata="${value}"`, `data-core-metadata="${value}"`);
    }
    attrs.push('data-gpg-sig="true"');
    if (f.yanked !== false) attrs.push(`data-yanked="${f.yanked === true ? '' : escapeHtml(f.yanked)}"`);
    if (f.provenanceUrl !== undefined) attrs.push(`data-provenance="${escapeHtml(f.provenanceUrl)}"`);
    lines.push(`    <a ${attrs.join(' ')}>${escapeHtml(f.filename)}</a><br />`);
  }
  lines.push('  </body>', '</html>', '');
  return Buffer.from(lines.join('\n'));
}

function strongestFragment(hashes: ServedFile['hashes']): string {
  for (const alg of (Object.keys(CHECKED_HASHES) as CheckedHash[]).reverse()) if (hashes[alg]) return `#${alg}=${hashes[alg]}`;
  return '';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
