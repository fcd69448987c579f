/**
 * What a verified Packages or Sources index vouches for: the SHA-256 (or SHA-512) and size of
 * every file it names, so that a later `pool/` fetch is checked against it by the core.
 * https://wiki.debian.org/DebianRepository/Format#A.22Packages.22_Indices
 * https://wiki.debian.org/DebianRepository/Format#A.22Sources.22_Indices
 *
 * Only called on bytes whose digest matched the verified Release, but still parsed as hostile:
 * streamed (Debian's main Packages is ~50 MB), bounded, and a malformed stanza is dropped alone.
 */
import { Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { RejectedItem, VouchedDigest } from '../types.js';
import { fieldText, ParagraphStream, type Paragraph } from './deb822.js';
import { outputCap } from '../bounded-inflate.js';
import { decompress, detectCompression, readHead } from './decompress.js';
import { unsafePath } from './release-file.js';

export interface IndexVouches {
  vouches: VouchedDigest[];
  /** Why nothing (or not everything) could be read. */
  problems: RejectedItem[];
}

const MAX_VOUCHES = 2_000_000;
/** The fields a stanza's vouch is made of; the rest of a stanza is only checked for form. */
const VOUCH_FIELDS = ['filename', 'size', 'sha256', 'sha512', 'directory', 'checksums-sha256', 'checksums-sha512'];

export async function vouchesFromIndex(name: string, open: () => Readable, maxDecompressedBytes: number): Promise<IndexVouches> {
  const compression = detectCompression(await readHead(open));
  // Output is bounded by what was read so far (the shared ratio cap), not only by a fixed ceiling:
  // a signed index can still be a bomb, and an xz bomb reaches the ceiling from a few kilobytes.
  let compressedSoFar = 0;
  const raw = open();
  const source = raw.pipe(new Transform({
    transform(chunk: Buffer, _encoding, done) {
      compressedSoFar += chunk.length;
      done(null, chunk);
    },
  }));
  raw.on('error', (err) => source.destroy(err));
  const capNow = (): number => (compression === 'none' ? maxDecompressedBytes : Math.min(maxDecompressedBytes, outputCap(compressedSoFar)));
  const stream = decompress(source, compression);
  if (!stream) return { vouches: [], problems: [{ item: name, reason: `${compression} is not a compression this mirror can read; the packages it lists are vouched for only by another variant` }] };
  const vouches: VouchedDigest[] = [];
  const problems: RejectedItem[] = [];
  const paragraphs = new ParagraphStream({ fields: VOUCH_FIELDS });
  const decoder = new StringDecoder('utf8');
  let total = 0;
  const take = (list: Paragraph[]): void => {
    for (const p of list) {
      if (vouches.length >= MAX_VOUCHES) throw new Error(`more than ${MAX_VOUCHES} files listed`);
      for (const v of stanzaVouches(p, problems)) vouches.push(v);
    }
  };
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > capNow()) throw new Error(`larger than ${capNow()} bytes once decompressed (from ${compressedSoFar} ${compression} bytes)`);
      take(paragraphs.push(decoder.write(chunk as Buffer)));
    }
    take(paragraphs.push(decoder.end()));
    take(paragraphs.end());
  } catch (err) {
    stream.destroy();
    return { vouches: [], problems: [{ item: name, reason: `cannot read the index: ${(err as Error).message}` }] };
  }
  for (const e of paragraphs.errors) problems.push({ item: name, reason: `a stanza was dropped: ${e}` });
  return { vouches, problems };
}

/** The files one Packages or Sources stanza names, with their strongest hash. */
export function stanzaVouches(p: Paragraph, problems: RejectedItem[]): VouchedDigest[] {
  const filename = p.get('filename')?.value;
  if (filename !== undefined) {
    const path = normalise(filename);
    const size = parseSize(p.get('size')?.value);
    const sha512 = hex(p.get('sha512')?.value, 128);
    const sha256 = hex(p.get('sha256')?.value, 64);
    const bad = unsafePath(path);
    if (bad || (!sha256 && !sha512)) {
      if (problems.length < 50) problems.push({ item: filename.slice(0, 200), reason: bad ?? 'no SHA256 or SHA512 hash' });
      return [];
    }
    return [{ path: own(path), algorithm: sha256 ? 'sha256' : 'sha512', digest: own((sha256 ?? sha512)!), ...(size === undefined ? {} : { size }) }];
  }
  const directory = p.get('directory')?.value;
  if (directory === undefined) return [];
  const list = p.has('checksums-sha256') ? { text: fieldText(p.get('checksums-sha256')), algorithm: 'sha256' as const, len: 64 }
    : p.has('checksums-sha512') ? { text: fieldText(p.get('checksums-sha512')), algorithm: 'sha512' as const, len: 128 }
      : undefined;
  if (!list?.text) return [];
  const out: VouchedDigest[] = [];
  for (const line of list.text.split('\n')) {
    const [digest, sizeText, file] = line.trim().split(/[ \t]+/);
    const path = normalise(`${directory}/${file ?? ''}`);
    const size = parseSize(sizeText);
    if (!hex(digest, list.len) || size === undefined || !file || unsafePath(path)) continue;
    out.push({ path: own(path), algorithm: list.algorithm, digest: own(digest!.toLowerCase()), size });
  }
  return out;
}

/**
 * A copy of a string cut from the text of a chunk: V8 keeps such a slice pointing into the whole
 * chunk, so 63,000 vouches would otherwise hold every chunk of a 50 MB index (twice over when a
 * description makes the chunk two-byte) until the vouches are recorded.
 */
function own(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** Flat repositories write "./name.deb". */
function normalise(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

function hex(value: string | undefined, length: number): string | undefined {
  return value !== undefined && value.length === length && /^[0-9a-fA-F]+$/.test(value) ? value.toLowerCase() : undefined;
}

function parseSize(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * What a verified pdiff Index (`<index>.diff/Index`) vouches for: the patch files apt downloads,
 * by name and by-hash, from its `SHA256-Download` list. https://wiki.debian.org/DebianRepository/Format#A.22Index.22_files_for_pdiffs
 * (apt 2.6 `pkgAcqDiffIndex::ParseDiffIndex`). `dir` is e.g. "dists/bookworm/main/binary-amd64/Packages.diff".
 */
export function vouchesFromDiffIndex(dir: string, bytes: Buffer): IndexVouches {
  const stream = new ParagraphStream({ fields: ['sha256-download'] });
  const paragraphs = [...stream.push(bytes.toString('utf8')), ...stream.end()];
  const vouches: VouchedDigest[] = [];
  const problems: RejectedItem[] = stream.errors.map((reason) => ({ item: dir, reason }));
  for (const line of fieldText(paragraphs[0]?.get('sha256-download'))?.split('\n') ?? []) {
    const [digest, sizeText, name] = line.trim().split(/[ \t]+/);
    const size = parseSize(sizeText);
    if (!hex(digest, 64) || size === undefined || !name || name.includes('/') || unsafePath(name)) {
      if (line.trim() && problems.length < 50) problems.push({ item: line.slice(0, 100), reason: 'not "<sha256> <size> <file>"' });
      continue;
    }
    const sha256 = digest!.toLowerCase();
    vouches.push({ path: `${dir}/${name}`, algorithm: 'sha256', digest: sha256, size });
    vouches.push({ path: `${dir}/by-hash/SHA256/${sha256}`, algorithm: 'sha256', digest: sha256, size });
  }
  return { vouches, problems };
}
