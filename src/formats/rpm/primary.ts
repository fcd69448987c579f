/**
 * primary.xml, filelists.xml and other.xml as createrepo_c writes them
 * (https://github.com/rpm-software-management/createrepo_c, src/xml_dump_primary.c and friends).
 * The text is attacker-shaped even after its checksum matched a verified repomd.xml: it is read
 * by a streaming XML parser (xml-stream.ts), in one linear pass, never whole.
 *
 * primary lists each package with `<checksum type=… pkgid="YES">` (the digest of the whole .rpm,
 * which is also its pkgid), `<size package=…>`, `<location href=…>` and
 * `<rpm:header-range start end>`; filelists and other key their entries by the same pkgid.
 */
import type { DigestAlgorithm } from '../types.js';
import type { Compression } from './decompress.js';
import { readText, rewriteToGzip, type TextConsumer } from './metadata-stream.js';
import { safeHref } from './paths.js';
import { SpliceWriter } from './splice-writer.js';
import { type OpenTag, startTag, XmlStream } from './xml-stream.js';
import { MetadataError } from './xml-text.js';

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
/** Longer than any name or digest createrepo_c writes; a longer text is refused, not collected. */
const MAX_FIELD_TEXT = 4096;

interface Span {
  tag: OpenTag;
  end: number;
}

interface Located extends PrimaryPackage {
  checksum: Span;
  sizeTag: Span;
  range?: Span;
  /** Just past `</package>`. */
  end: number;
}

/** The parts of one `<package>` a reader needs, collected as the parser passes them. */
class Entry {
  name = '';
  checksumText = '';
  readonly spans = new Map<string, Span>();
  #open = new Map<string, OpenTag>();
  #collecting: 'name' | 'checksum' | undefined;

  open(tag: OpenTag, direct: boolean): void {
    const wanted = direct ? ['name', 'checksum', 'location', 'size'].includes(tag.name) : tag.name === 'rpm:header-range';
    if (!wanted) return;
    if (this.spans.has(tag.name) || this.#open.has(tag.name)) throw new MetadataError(`primary.xml entry ${this.name || '?'} has more than one <${tag.name}>`);
    this.#open.set(tag.name, tag);
    if (tag.name === 'name' || tag.name === 'checksum') this.#collecting = tag.name;
  }

  close(name: string, end: number): void {
    const tag = this.#open.get(name);
    if (!tag) return;
    this.#open.delete(name);
    this.spans.set(name, { tag, end });
    this.#collecting = undefined;
  }

  text(t: string): void {
    if (this.#collecting === 'name') this.name += t;
    else if (this.#collecting === 'checksum') this.checksumText += t;
    if (this.name.length + this.checksumText.length > MAX_FIELD_TEXT) throw new MetadataError('primary.xml has a package name or checksum longer than any real one');
  }

  located(end: number): Located {
    const name = this.name || '?';
    const checksum = this.spans.get('checksum');
    const location = this.spans.get('location');
    const size = this.spans.get('size');
    const range = this.spans.get('rpm:header-range');
    if (!checksum || !location || !size) throw new MetadataError(`primary.xml entry ${name} lacks a checksum, location or size`);
    const algorithm = CHECKSUM_TYPES[checksum.tag.attributes.type ?? ''];
    const pkgid = this.checksumText.trim().toLowerCase();
    if (!algorithm || !isHexDigest(pkgid)) throw new MetadataError(`primary.xml entry ${name} has no usable checksum`);
    if ('xml:base' in location.tag.attributes) throw new MetadataError(`primary.xml places ${name} under another base URL (xml:base), which is not mirrored`);
    const path = safeHref(location.tag.attributes.href ?? '');
    if (!path || !path.endsWith('.rpm')) throw new MetadataError(`primary.xml gives ${name} a location outside the repository`);
    const bytes = Number(size.tag.attributes.package ?? NaN);
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new MetadataError(`primary.xml gives ${name} no package size`);
    return { pkgid, algorithm, path, size: bytes, checksum, sizeTag: size, end, ...(range ? { range } : {}) };
  }
}

/** A streaming reader of primary.xml: calls `onPackage` as each `</package>` closes. */
export function primaryReader(onPackage: (p: Located) => void): TextConsumer & { readonly events: number } {
  let entry: Entry | undefined;
  const xml = new XmlStream('primary.xml', {
    open(tag) {
      if (tag.depth === 1 && tag.name === 'package') {
        if (tag.selfClosing) throw new MetadataError('primary.xml has an empty <package/>');
        entry = new Entry();
      } else if (entry) entry.open(tag, tag.depth === 2);
    },
    close(tag) {
      if (!entry) return;
      if (tag.depth === 1 && tag.name === 'package') {
        const done = entry;
        entry = undefined;
        onPackage(done.located(tag.end));
      } else entry.close(tag.name, tag.end);
    },
    text(t) {
      entry?.text(t);
    },
  });
  return { write: (c) => xml.write(c), end: () => xml.end(), get events() { return xml.events; } };
}

const plain = ({ pkgid, algorithm, path, size }: Located): PrimaryPackage => ({ pkgid, algorithm, path, size });

/** The packages a primary.xml text lists. */
export function primaryPackages(text: string): PrimaryPackage[] {
  const out: PrimaryPackage[] = [];
  const reader = primaryReader((p) => out.push(plain(p)));
  reader.write(text);
  reader.end();
  return out;
}

/** The packages a compressed primary lists, read as it decompresses (capped at `limit` bytes). */
export async function readPrimary(bytes: Buffer, compression: Compression, limit: number): Promise<PrimaryPackage[]> {
  const out: PrimaryPackage[] = [];
  await readText(bytes, compression, limit, primaryReader((p) => out.push(plain(p))));
  return out;
}

/** A streaming rewriter of primary.xml: each package's checksum, size and header range those of its re-signed file. */
function primaryRewriter(resigned: ReadonlyMap<string, ResignedPackage>, out: (piece: string) => void): TextConsumer {
  const splice = new SpliceWriter(out);
  const reader = primaryReader((p) => {
    const r = resigned.get(p.pkgid);
    if (!r) throw new MetadataError(`no re-signed copy of ${p.path} (${p.pkgid})`);
    splice.edit({ start: p.checksum.tag.start, end: p.checksum.end, with: `<checksum type="sha256" pkgid="YES">${r.sha256}</checksum>` });
    splice.edit({ start: p.sizeTag.tag.start, end: p.sizeTag.end, with: startTag('size', { ...p.sizeTag.tag.attributes, package: String(r.size) }, true) });
    if (p.range) {
      const attributes = { ...p.range.tag.attributes, start: String(r.headerStart), end: String(r.headerEnd) };
      splice.edit({ start: p.range.tag.start, end: p.range.end, with: startTag('rpm:header-range', attributes, true) });
    }
    splice.flush(p.end);
  });
  return spliced(splice, reader);
}

export function rewritePrimary(text: string, resigned: ReadonlyMap<string, ResignedPackage>): string {
  return rewriteWhole((out) => primaryRewriter(resigned, out), text);
}

/** The served (gzipped) primary for a compressed upstream one. */
export function rewritePrimaryGz(bytes: Buffer, compression: Compression, limit: number, resigned: ReadonlyMap<string, ResignedPackage>): Promise<Buffer> {
  return rewriteToGzip(bytes, compression, limit, (out) => primaryRewriter(resigned, out));
}

/** A streaming reader of filelists.xml / other.xml: `onPackage` for each `<package pkgid=…>` start tag. */
function pkgidReader(what: string, onPackage: (pkgid: string, tag: OpenTag) => void): TextConsumer {
  const xml = new XmlStream(what, {
    open(tag) {
      if (tag.depth !== 1 || tag.name !== 'package') return;
      const pkgid = tag.attributes.pkgid?.trim().toLowerCase();
      if (!pkgid || !isHexDigest(pkgid)) throw new MetadataError(`${what} has a package without a usable pkgid`);
      onPackage(pkgid, tag);
    },
  });
  return { write: (c) => xml.write(c), end: () => xml.end() };
}

/** The pkgids filelists.xml / other.xml key their entries by (throws on entries without one). */
export function listedPkgids(text: string, what: string): string[] {
  const out: string[] = [];
  const reader = pkgidReader(what, (pkgid) => out.push(pkgid));
  reader.write(text);
  reader.end();
  return out;
}

/** Checks a compressed filelists.xml / other.xml as it decompresses; resolves to how many packages it lists. */
export async function countListedPkgids(bytes: Buffer, compression: Compression, limit: number, what: string): Promise<number> {
  let n = 0;
  await readText(bytes, compression, limit, pkgidReader(what, () => void n++));
  return n;
}

function pkgidRewriter(what: string, resigned: ReadonlyMap<string, ResignedPackage>, out: (piece: string) => void): TextConsumer {
  const splice = new SpliceWriter(out);
  const reader = pkgidReader(what, (pkgid, tag) => {
    const r = resigned.get(pkgid);
    if (!r) throw new MetadataError(`${what} lists pkgid ${pkgid}, which the verified primary does not`);
    splice.edit({ start: tag.start, end: tag.end, with: startTag('package', { ...tag.attributes, pkgid: r.sha256 }, tag.selfClosing) });
    splice.flush(tag.end);
  });
  return spliced(splice, reader);
}

/** filelists.xml / other.xml with every `<package pkgid=…>` naming the re-signed file's digest. */
export function rewritePkgids(text: string, what: string, resigned: ReadonlyMap<string, ResignedPackage>): string {
  return rewriteWhole((out) => pkgidRewriter(what, resigned, out), text);
}

/** The served (gzipped) filelists / other for a compressed upstream one. */
export function rewritePkgidsGz(bytes: Buffer, compression: Compression, limit: number, what: string, resigned: ReadonlyMap<string, ResignedPackage>): Promise<Buffer> {
  return rewriteToGzip(bytes, compression, limit, (out) => pkgidRewriter(what, resigned, out));
}

function rewriteWhole(make: (out: (piece: string) => void) => TextConsumer, text: string): string {
  const pieces: string[] = [];
  const rewriter = make((p) => pieces.push(p));
  rewriter.write(text);
  rewriter.end();
  return pieces.join('');
}

function isHexDigest(s: string): boolean {
  if (s.length < 40 || s.length > 128) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Feeds each chunk to the splice (the bytes kept) and to the reader (which edits them), in that order. */
function spliced(splice: SpliceWriter, reader: TextConsumer): TextConsumer {
  return {
    write(chunk) {
      splice.append(chunk);
      reader.write(chunk);
    },
    end() {
      reader.end();
      splice.end();
    },
  };
}
