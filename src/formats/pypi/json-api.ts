/**
 * The JSON API (`/pypi/<project>/json`, `/pypi/<project>/<version>/json`) that tools read besides
 * the simple API: file URLs rewritten to the mirror, `has_sig` true (the org `.asc`), and the
 * same per-file hashes and first-use pins as the project pages, so both views agree on a file.
 * https://docs.pypi.org/api/json/ — the document is attacker-controlled upstream JSON.
 */
import { MirrorError } from '../../errors.js';
import { encodePath } from '../encode-path.js';
import type { DeriveContext, DeriveInput, ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { checkFiles, mirrorFilePath } from './check-files.js';
import { locateFile } from './file-url.js';
import { normalizeProject } from './names.js';
import { CHECKED_HASHES, isObject, type CheckedHash, type DistFile } from './project-page.js';

const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,127}$/;

export function jsonApiRef(project: string, rest: string[]): ObjectRef | undefined {
  const version = rest.length === 2 && rest[1] === 'json' && VERSION.test(rest[0]!) ? rest[0] : undefined;
  if (!(rest.length === 1 && rest[0] === 'json') && version === undefined) return undefined;
  const path = version === undefined ? `pypi/${project}/json` : `pypi/${project}/${version}/json`;
  return { path, mutable: true, contentType: 'application/json', upstreamPath: encodePath(path), accept: 'application/json' };
}

interface JsonApiDoc {
  doc: Record<string, unknown>;
  /** Every file entry with where it lives, in document order (urls, then releases). */
  files: { entry: Record<string, unknown>; file: DistFile }[];
  lastSerial?: number;
}

/** The JSON API repeats every release's files: allowed larger than a page, still bounded. */
const MAX_DOCUMENT_BYTES = 128 * 1024 * 1024;

function parseJsonApi(bytes: Buffer, path: string, project: string, base: URL, origins: ReadonlySet<string>): JsonApiDoc {
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new MirrorError('MALFORMED', `the JSON API document is larger than ${MAX_DOCUMENT_BYTES} bytes`, { object: path });
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new MirrorError('MALFORMED', 'the JSON API document is not JSON', { object: path });
  }
  if (!isObject(doc) || !isObject(doc.info) || typeof doc.info.name !== 'string' || normalizeProject(doc.info.name) !== project) {
    throw new MirrorError('MALFORMED', `the JSON API document is not about project ${project}`, { object: path });
  }
  const docUrl = new URL(encodePath(path), base);
  const entries: Record<string, unknown>[] = [];
  if (Array.isArray(doc.urls)) entries.push(...doc.urls.filter(isObject));
  if (isObject(doc.releases)) for (const list of Object.values(doc.releases)) if (Array.isArray(list)) entries.push(...list.filter(isObject));
  const files = entries.map((entry) => ({ entry, file: distFile(entry, docUrl, base, origins) }));
  const serial = doc.last_serial;
  return { doc, files, ...(typeof serial === 'number' && Number.isSafeInteger(serial) && serial >= 0 ? { lastSerial: serial } : {}) };
}

function distFile(entry: Record<string, unknown>, docUrl: URL, base: URL, origins: ReadonlySet<string>): DistFile {
  const filename = typeof entry.filename === 'string' ? entry.filename : '';
  const location = typeof entry.url === 'string' ? locateFile(entry.url, filename, docUrl, base, origins) : { ok: false as const, reason: 'it has no url' };
  const hashes: DistFile['hashes'] = {};
  if (isObject(entry.digests)) {
    for (const [alg, length] of Object.entries(CHECKED_HASHES) as [CheckedHash, number][]) {
      const v = entry.digests[alg];
      if (typeof v === 'string' && v.length === length && /^[0-9a-f]+$/i.test(v)) hashes[alg] = v.toLowerCase();
    }
  }
  const size = typeof entry.size === 'number' && Number.isSafeInteger(entry.size) && entry.size >= 0 ? { size: entry.size } : {};
  return { filename, location, hashes, yanked: entry.yanked === true, ...size };
}

export async function verifyJsonApi(ctx: VerifyContext, object: UpstreamObject, project: string, base: URL, origins: ReadonlySet<string>, anchor: 'first-use' | 'none'): Promise<VerifyOutcome> {
  if (object.size > MAX_DOCUMENT_BYTES) return { ok: false, code: 'MALFORMED', reason: `the JSON API document is larger than ${MAX_DOCUMENT_BYTES} bytes` };
  let parsed: JsonApiDoc;
  try {
    parsed = parseJsonApi(await object.readAll(), object.path, project, base, origins);
  } catch (err) {
    if (err instanceof MirrorError) return { ok: false, code: 'MALFORMED', reason: err.message };
    throw err;
  }
  const check = checkFiles(ctx, project, parsed.files.map((f) => f.file));
  if (parsed.files.length > 0 && check.accepted === 0) {
    return { ok: false, code: 'VERIFICATION_FAILED', reason: `no file of ${project} can be vouched for; e.g. ${check.rejected[0]?.item}: ${check.rejected[0]?.reason}` };
  }
  const revision = parsed.lastSerial !== undefined ? { revision: { value: parsed.lastSerial, label: `last_serial ${parsed.lastSerial}` } } : {};
  return { ok: true, by: [`page-hashes:${anchor}`], vouches: check.vouches, rejected: check.rejected, anchor, ...revision };
}

export function deriveJsonApi(ctx: DeriveContext, input: DeriveInput, project: string, base: URL, origins: ReadonlySet<string>): Buffer {
  const parsed = parseJsonApi(input.bytes, input.path, project, base, origins);
  const dropped = new Set(ctx.mode === 'require' ? (input.verification.rejected ?? []).map((r) => r.item) : []);
  const served = new Map<Record<string, unknown>, Record<string, unknown>>();
  for (const { entry, file } of parsed.files) {
    if (!file.location.ok || dropped.has(file.filename) || (!file.hashes.sha256 && ctx.mode === 'require')) continue;
    served.set(entry, { ...entry, url: `${ctx.repositoryUrl}/${encodePath(mirrorFilePath(project, file.location.path))}`, has_sig: true });
  }
  const rewrite = (list: unknown): unknown[] => (Array.isArray(list) ? list.flatMap((e) => (isObject(e) && served.has(e) ? [served.get(e)!] : [])) : []);
  const out: Record<string, unknown> = { ...parsed.doc, urls: rewrite(parsed.doc.urls) };
  if (isObject(parsed.doc.releases)) {
    out.releases = Object.fromEntries(Object.entries(parsed.doc.releases).map(([v, list]) => [v, rewrite(list)]));
  }
  return Buffer.from(JSON.stringify(out));
}
