/**
 * repodata/repomd.xml, as createrepo_c writes it (https://github.com/rpm-software-management/createrepo_c,
 * src/repomd.c; the format is described in the rpm-metadata docs of the same project). The upstream
 * bytes are attacker-controlled until repomd.xml.asc verified, and shaped by the upstream after.
 *
 * Each `<data type="…">` names one file: checksum (of the file as stored), open-checksum (of it
 * decompressed), location href, timestamp, size, open-size.
 */
import type { DigestAlgorithm, Revision } from '../types.js';
import { derivedTypeOf, safeHref, servedMetadataPath, type DerivedMetadataType } from './paths.js';
import { assertPlainXml, attributes, elements, escapeXml, firstElement, MetadataError, splice } from './xml-text.js';

export interface RepomdEntry {
  type: string;
  /** What the mirror does with it: re-derive (lists package checksums), serve as is, or leave out. */
  role: 'derived' | 'kept' | 'dropped';
  /** Repository-relative path of the upstream file. */
  path: string;
  algorithm: DigestAlgorithm;
  digest: string;
  size?: number;
  timestamp?: string;
  /** Span of the `<data>` element in the document. */
  start: number;
  end: number;
}

export interface Repomd {
  text: string;
  entries: RepomdEntry[];
  /** `<revision>`, as written (createrepo_c: the Unix time of the run unless `--revision` set it). */
  revision?: string;
}

const CHECKSUM_TYPES: Record<string, DigestAlgorithm> = { sha: 'sha1', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/**
 * Left out of the served repomd: sqlite and zchunk copies of primary/filelists/other (they carry the
 * upstream's package checksums and this mirror does not rebuild them; dnf reads the XML), and delta
 * RPM lists (deltas rebuild the upstream's bytes, signature included).
 */
function roleOf(type: string): RepomdEntry['role'] {
  if (type === 'primary' || type === 'filelists' || type === 'other') return 'derived';
  if (type.endsWith('_db') || type.endsWith('_zck') || type === 'prestodelta' || type === 'deltainfo') return 'dropped';
  return 'kept';
}

export function parseRepomd(bytes: Buffer): Repomd {
  const text = bytes.toString('utf8');
  assertPlainXml(text, 'repomd.xml');
  if (!/<repomd[\s>]/.test(text)) throw new MetadataError('repomd.xml has no <repomd> element');
  const entries: RepomdEntry[] = [];
  const seen = new Set<string>();
  for (const el of elements(text, 'data')) {
    const type = attributes(el.attrs).get('type') ?? '';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(type)) throw new MetadataError(`repomd.xml lists a <data> element with type "${type}"`);
    const role = roleOf(type);
    if (role === 'dropped') {
      entries.push({ type, role, path: '', algorithm: 'sha256', digest: '', start: el.start, end: el.end });
      continue;
    }
    if (seen.has(type)) throw new MetadataError(`repomd.xml lists "${type}" twice`);
    seen.add(type);
    const location = firstElement(el.inner, 'location');
    const locationAttrs = attributes(location?.attrs ?? '');
    if (locationAttrs.has('xml:base')) throw new MetadataError(`repomd.xml places "${type}" under another base URL (xml:base), which is not mirrored`);
    const path = safeHref(locationAttrs.get('href') ?? '');
    if (!path) throw new MetadataError(`repomd.xml gives "${type}" a location outside the repository`);
    if (role === 'derived' && derivedTypeOf(path) !== type) throw new MetadataError(`repomd.xml names "${type}" ${path}, which is not named like a ${type} file`);
    const checksum = firstElement(el.inner, 'checksum');
    const algorithm = CHECKSUM_TYPES[attributes(checksum?.attrs ?? '').get('type') ?? ''];
    const digest = checksum?.inner?.trim().toLowerCase() ?? '';
    if (!algorithm || !/^[0-9a-f]{40,128}$/.test(digest)) throw new MetadataError(`repomd.xml has no usable checksum for "${type}"`);
    const size = intText(firstElement(el.inner, 'size')?.inner);
    const timestamp = firstElement(el.inner, 'timestamp')?.inner?.trim();
    entries.push({
      type, role, path, algorithm, digest, start: el.start, end: el.end,
      ...(size !== undefined ? { size } : {}), ...(timestamp && /^\d{1,12}$/.test(timestamp) ? { timestamp } : {}),
    });
  }
  if (!seen.has('primary')) throw new MetadataError('repomd.xml lists no primary metadata');
  const revision = firstElement(text, 'revision')?.inner?.trim();
  return { text, entries, ...(revision ? { revision } : {}) };
}

/**
 * The monotonic revision of a repomd.xml, for the core's rollback check. createrepo_c writes
 * `<revision>` as the Unix time of its run (src/createrepo_c.c: `time(NULL)`) unless the publisher
 * passes `--revision STRING`, which may be anything (a version, a name): only an integer is taken.
 * Otherwise the newest `<timestamp>` of the listed files is: createrepo_c sets each to the file's
 * mtime when it wrote it (or to the revision with `--set-timestamp-to-revision`), so a later run
 * never lists older files. Both are covered by repomd.xml.asc. Neither → no revision (no check).
 */
export function repomdRevision(md: Repomd): Revision | undefined {
  if (md.revision !== undefined && /^\d{1,15}$/.test(md.revision)) {
    return { value: Number(md.revision), label: `repomd.xml revision ${md.revision}` };
  }
  const stamps = md.entries.flatMap((e) => (e.timestamp ? [Number(e.timestamp)] : []));
  if (stamps.length === 0) return undefined;
  const newest = Math.max(...stamps);
  return { value: newest, label: `repomd.xml with files timestamped up to ${new Date(newest * 1000).toISOString()}` };
}

function intText(s: string | undefined): number | undefined {
  const t = s?.trim();
  return t && /^\d{1,15}$/.test(t) ? Number(t) : undefined;
}

export interface DerivedFile {
  type: DerivedMetadataType;
  /** The gzip bytes the mirror serves. */
  sha256: string;
  size: number;
  openSha256: string;
  openSize: number;
}

/**
 * The repomd.xml the mirror serves: derived entries point at the mirror's gzip rewrites with their
 * checksums and sizes, dropped entries are gone, everything else is byte-for-byte the upstream's.
 */
export function servedRepomd(repomd: Repomd, derived: ReadonlyMap<string, DerivedFile>): Buffer {
  const edits = repomd.entries.flatMap((e) => {
    if (e.role === 'kept') return [];
    if (e.role === 'dropped') return [{ start: lineStart(repomd.text, e.start), end: e.end, with: '' }];
    const d = derived.get(e.type);
    if (!d) throw new MetadataError(`no rewrite of ${e.type} was made`);
    const children = [
      `<checksum type="sha256">${d.sha256}</checksum>`,
      `<open-checksum type="sha256">${d.openSha256}</open-checksum>`,
      `<location href="${escapeXml(servedMetadataPath(e.path))}"/>`,
      ...(e.timestamp ? [`<timestamp>${e.timestamp}</timestamp>`] : []),
      `<size>${d.size}</size>`,
      `<open-size>${d.openSize}</open-size>`,
    ];
    return [{ start: e.start, end: e.end, with: `<data type="${escapeXml(e.type)}">\n    ${children.join('\n    ')}\n  </data>` }];
  });
  return Buffer.from(splice(repomd.text, edits), 'utf8');
}

/** Start of the line holding `at`, so a removed element takes its indentation and newline along. */
function lineStart(text: string, at: number): number {
  const nl = text.lastIndexOf('\n', at - 1);
  return nl >= 0 && /^[ \t]*$/.test(text.slice(nl + 1, at)) ? nl : at;
}
