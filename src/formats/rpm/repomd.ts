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
import { SpliceWriter } from './splice-writer.js';
import { escapeAttribute, XmlStream } from './xml-stream.js';
import { MetadataError } from './xml-text.js';

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

/** repomd.xml is a short document (Fedora's is ~5 KB); a longer one is refused before parsing. */
const MAX_REPOMD_BYTES = 4 * 1024 * 1024;

interface DataElement {
  type: string;
  start: number;
  /** Direct children: attributes and text. */
  children: Map<string, { attributes: Readonly<Record<string, string>>; text: string }>;
}

/** The `<data>` elements and `<revision>` of a repomd.xml, by a streaming XML parser (xml-stream.ts). */
function scanRepomd(text: string): { data: (DataElement & { end: number })[]; revision?: string } {
  const data: (DataElement & { end: number })[] = [];
  let current: DataElement | undefined;
  let child: { name: string; attributes: Readonly<Record<string, string>>; text: string } | undefined;
  let revision: string | undefined;
  let inRevision = false;
  let root = false;
  const xml = new XmlStream('repomd.xml', {
    open(tag) {
      if (tag.depth === 0) root = tag.name === 'repomd';
      else if (tag.depth === 1 && tag.name === 'data') current = { type: tag.attributes.type ?? '', start: tag.start, children: new Map() };
      else if (tag.depth === 1 && tag.name === 'revision') inRevision = revision === undefined;
      else if (tag.depth === 2 && current) {
        if (current.children.has(tag.name)) throw new MetadataError(`repomd.xml lists <${tag.name}> twice for "${current.type}"`);
        child = { name: tag.name, attributes: tag.attributes, text: '' };
      }
    },
    close(tag) {
      if (tag.depth === 2 && child && current) {
        current.children.set(child.name, { attributes: child.attributes, text: child.text });
        child = undefined;
      } else if (tag.depth === 1 && tag.name === 'data' && current) {
        data.push({ ...current, end: tag.end });
        current = undefined;
      } else if (tag.depth === 1 && tag.name === 'revision' && inRevision) {
        inRevision = false;
        revision ??= '';
      }
    },
    text(t) {
      if (child) child.text += t;
      else if (inRevision) revision = (revision ?? '') + t;
      if ((child?.text.length ?? 0) > 4096 || (revision?.length ?? 0) > 4096) throw new MetadataError('repomd.xml has a field longer than any real one');
    },
  });
  xml.write(text);
  xml.end();
  if (!root) throw new MetadataError('repomd.xml has no <repomd> element');
  return { data, ...(revision !== undefined ? { revision } : {}) };
}

export function parseRepomd(bytes: Buffer): Repomd {
  if (bytes.length > MAX_REPOMD_BYTES) throw new MetadataError(`repomd.xml is larger than ${MAX_REPOMD_BYTES} bytes`);
  const text = bytes.toString('utf8');
  const scanned = scanRepomd(text);
  const entries: RepomdEntry[] = [];
  const seen = new Set<string>();
  for (const el of scanned.data) {
    const type = el.type;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(type)) throw new MetadataError(`repomd.xml lists a <data> element with type "${type.slice(0, 80)}"`);
    const role = roleOf(type);
    if (role === 'dropped') {
      entries.push({ type, role, path: '', algorithm: 'sha256', digest: '', start: el.start, end: el.end });
      continue;
    }
    if (seen.has(type)) throw new MetadataError(`repomd.xml lists "${type}" twice`);
    seen.add(type);
    const locationAttrs = el.children.get('location')?.attributes ?? {};
    if ('xml:base' in locationAttrs) throw new MetadataError(`repomd.xml places "${type}" under another base URL (xml:base), which is not mirrored`);
    const path = safeHref(locationAttrs.href ?? '');
    if (!path) throw new MetadataError(`repomd.xml gives "${type}" a location outside the repository`);
    if (role === 'derived' && derivedTypeOf(path) !== type) throw new MetadataError(`repomd.xml names "${type}" ${path}, which is not named like a ${type} file`);
    const checksum = el.children.get('checksum');
    const algorithm = CHECKSUM_TYPES[checksum?.attributes.type ?? ''];
    const digest = checksum?.text.trim().toLowerCase() ?? '';
    if (!algorithm || !/^[0-9a-f]{40,128}$/.test(digest)) throw new MetadataError(`repomd.xml has no usable checksum for "${type}"`);
    const size = intText(el.children.get('size')?.text);
    const timestamp = el.children.get('timestamp')?.text.trim();
    entries.push({
      type, role, path, algorithm, digest, start: el.start, end: el.end,
      ...(size !== undefined ? { size } : {}), ...(timestamp && /^\d{1,12}$/.test(timestamp) ? { timestamp } : {}),
    });
  }
  if (!seen.has('primary')) throw new MetadataError('repomd.xml lists no primary metadata');
  const revision = scanned.revision?.trim();
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
      `<location href="${escapeAttribute(servedMetadataPath(e.path))}"/>`,
      ...(e.timestamp ? [`<timestamp>${e.timestamp}</timestamp>`] : []),
      `<size>${d.size}</size>`,
      `<open-size>${d.openSize}</open-size>`,
    ];
    return [{ start: e.start, end: e.end, with: `<data type="${escapeAttribute(e.type)}">\n    ${children.join('\n    ')}\n  </data>` }];
  });
  const out: string[] = [];
  const writer = new SpliceWriter((p) => out.push(p));
  writer.append(repomd.text);
  for (const e of edits) writer.edit(e);
  writer.end();
  return Buffer.from(out.join(''), 'utf8');
}

/**
 * The repomd.xml the mirror serves when packages keep their upstream bytes (`packages: keep`): the
 * upstream's bytes, with only the dropped entries left out (zchunk and delta files, which this
 * mirror does not serve, and sqlite copies, which dnf does not read); every other entry, with its
 * checksum, is the upstream's. Without dropped entries these are the upstream's bytes exactly.
 */
export function keptRepomd(repomd: Repomd, upstreamBytes: Buffer): Buffer {
  const dropped = repomd.entries.filter((e) => e.role === 'dropped');
  if (dropped.length === 0) return upstreamBytes;
  const out: string[] = [];
  const writer = new SpliceWriter((p) => out.push(p));
  writer.append(repomd.text);
  for (const e of dropped) writer.edit({ start: lineStart(repomd.text, e.start), end: e.end, with: '' });
  writer.end();
  return Buffer.from(out.join(''), 'utf8');
}

/** Start of the line holding `at`, so a removed element takes its indentation and newline along. */
function lineStart(text: string, at: number): number {
  const nl = text.lastIndexOf('\n', at - 1);
  return nl >= 0 && /^[ \t]*$/.test(text.slice(nl + 1, at)) ? nl : at;
}
