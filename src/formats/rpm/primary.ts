/**
 * primary.xml, filelists.xml and other.xml as createrepo_c writes them
 * (https://github.com/rpm-software-management/createrepo_c, src/xml_dump_primary.c and friends).
 * The text is attacker-shaped even after its checksum matched a verified repomd.xml.
 *
 * primary lists each package with `<checksum type=… pkgid="YES">` (the digest of the whole .rpm,
 * which is also its pkgid), `<size package=…>`, `<location href=…>` and
 * `<rpm:header-range start end>`; filelists and other key their entries by the same pkgid.
 */
import type { DigestAlgorithm } from '../types.js';
import { safeHref } from './paths.js';
import { assertPlainXml, attributes, elements, escapeXml, firstElement, MetadataError, splice } from './xml-text.js';

export interface PrimaryPackage {
  /** Lowercase hex digest of the upstream .rpm: its pkgid in all three files. */
  pkgid: string;
  algorithm: DigestAlgorithm;
  path: string;
  size: number;
}

/** What the mirror serves for one upstream package. */
export interface ResignedPackage {
  pkgid: string;
  path: string;
  sha256: string;
  size: number;
  headerStart: number;
  headerEnd: number;
}

const CHECKSUM_TYPES: Record<string, DigestAlgorithm> = { sha: 'sha1', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

interface Located extends PrimaryPackage {
  checksum: { start: number; end: number };
  sizeTag: { start: number; end: number; attrs: string };
  range?: { start: number; end: number; attrs: string };
}

function* scanPrimary(text: string): Generator<Located> {
  assertPlainXml(text, 'primary.xml');
  for (const el of elements(text, 'package')) {
    const at = el.end - el.inner.length - '</package>'.length;
    const checksum = firstElement(el.inner, 'checksum');
    const location = firstElement(el.inner, 'location');
    const size = firstElement(el.inner, 'size');
    const range = firstElement(el.inner, 'rpm:header-range');
    const name = firstElement(el.inner, 'name')?.inner ?? '?';
    if (!checksum || !location || !size) throw new MetadataError(`primary.xml entry ${name} lacks a checksum, location or size`);
    const algorithm = CHECKSUM_TYPES[attributes(checksum.attrs).get('type') ?? ''];
    const pkgid = checksum.inner?.trim().toLowerCase() ?? '';
    if (!algorithm || !/^[0-9a-f]{40,128}$/.test(pkgid)) throw new MetadataError(`primary.xml entry ${name} has no usable checksum`);
    const loc = attributes(location.attrs);
    if (loc.has('xml:base')) throw new MetadataError(`primary.xml places ${name} under another base URL (xml:base), which is not mirrored`);
    const path = safeHref(loc.get('href') ?? '');
    if (!path || !path.endsWith('.rpm')) throw new MetadataError(`primary.xml gives ${name} a location outside the repository`);
    const bytes = Number(attributes(size.attrs).get('package') ?? NaN);
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new MetadataError(`primary.xml gives ${name} no package size`);
    yield {
      pkgid, algorithm, path, size: bytes,
      checksum: { start: at + checksum.start, end: at + checksum.end },
      sizeTag: { start: at + size.start, end: at + size.end, attrs: size.attrs },
      ...(range ? { range: { start: at + range.start, end: at + range.end, attrs: range.attrs } } : {}),
    };
  }
}

export function primaryPackages(text: string): PrimaryPackage[] {
  return [...scanPrimary(text)].map(({ pkgid, algorithm, path, size }) => ({ pkgid, algorithm, path, size }));
}

/** primary.xml with each package's checksum, size and header range those of its re-signed file. */
export function rewritePrimary(text: string, resigned: ReadonlyMap<string, ResignedPackage>): string {
  const edits: { start: number; end: number; with: string }[] = [];
  for (const p of scanPrimary(text)) {
    const r = resigned.get(p.pkgid);
    if (!r) throw new MetadataError(`no re-signed copy of ${p.path} (${p.pkgid})`);
    edits.push({ ...p.checksum, with: `<checksum type="sha256" pkgid="YES">${r.sha256}</checksum>` });
    edits.push({ start: p.sizeTag.start, end: p.sizeTag.end, with: `<size${setAttr(p.sizeTag.attrs, 'package', String(r.size))}/>` });
    if (p.range) {
      const attrs = setAttr(setAttr(p.range.attrs, 'start', String(r.headerStart)), 'end', String(r.headerEnd));
      edits.push({ start: p.range.start, end: p.range.end, with: `<rpm:header-range${attrs}/>` });
    }
  }
  return splice(text, edits);
}

/** The pkgids filelists.xml / other.xml key their entries by (throws on entries without one). */
export function listedPkgids(text: string, what: string): string[] {
  assertPlainXml(text, what);
  return [...text.matchAll(/<package(\s[^>]*)>/g)].map((m) => {
    const pkgid = attributes(m[1] ?? '').get('pkgid')?.trim().toLowerCase();
    if (!pkgid || !/^[0-9a-f]{40,128}$/.test(pkgid)) throw new MetadataError(`${what} has a package without a usable pkgid`);
    return pkgid;
  });
}

/** filelists.xml / other.xml with every `<package pkgid=…>` naming the re-signed file's digest. */
export function rewritePkgids(text: string, what: string, resigned: ReadonlyMap<string, ResignedPackage>): string {
  assertPlainXml(text, what);
  return text.replace(/<package(\s[^>]*)>/g, (_m, attrs: string) => {
    const pkgid = attributes(attrs).get('pkgid')?.trim().toLowerCase();
    if (!pkgid) throw new MetadataError(`${what} has a package without a pkgid`);
    const r = resigned.get(pkgid);
    if (!r) throw new MetadataError(`${what} lists pkgid ${pkgid}, which the verified primary does not`);
    return `<package${setAttr(attrs, 'pkgid', r.sha256)}>`;
  });
}

/** Attribute text with `name` set to `value` (replaced in place, or appended). */
function setAttr(attrs: string, name: string, value: string): string {
  const re = new RegExp(`(\\s${name.replace(/[.:-]/g, '\\$&')}\\s*=\\s*)(?:"[^"]*"|'[^']*')`);
  const quoted = `"${escapeXml(value)}"`;
  return re.test(attrs) ? attrs.replace(re, (_m, head: string) => `${head}${quoted}`) : `${attrs} ${name}=${quoted}`;
}
