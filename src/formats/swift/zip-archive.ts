/**
 * A careful reader of the ZIP files Swift registries serve as source archives, per PKWARE's
 * APPNOTE (https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT, §4.3): the central
 * directory is the table of contents, each entry's local header is checked against it.
 *
 * The bytes are upstream bytes: attacker-controlled. Everything is bounded (entry count, name
 * length, declared and actual sizes, total inflated size); ZIP64, multi-disk archives,
 * encryption and methods other than stored/deflate are refused rather than guessed at.
 */
import { crc32, inflateRawSync } from 'node:zlib';

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
export const MAX_ENTRIES = 65_535;
const FLAG_ENCRYPTED = 0x0001;

export class ZipFormatError extends Error {
  override readonly name = 'ZipFormatError';
}

/** One entry as the central directory describes it, with where its data sits. */
export interface ZipEntry {
  name: string;
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  internalAttributes: number;
  externalAttributes: number;
  /** Offset of the compressed data in the archive (after the local header). */
  dataOffset: number;
}

export interface ZipArchive {
  bytes: Buffer;
  entries: ZipEntry[];
}

export function readZip(bytes: Buffer): ZipArchive {
  const eocd = findEndOfCentralDirectory(bytes);
  const disk = bytes.readUInt16LE(eocd + 4);
  const cdDisk = bytes.readUInt16LE(eocd + 6);
  const countHere = bytes.readUInt16LE(eocd + 8);
  const count = bytes.readUInt16LE(eocd + 10);
  const cdSize = bytes.readUInt32LE(eocd + 12);
  const cdOffset = bytes.readUInt32LE(eocd + 16);
  if (disk !== 0 || cdDisk !== 0 || countHere !== count) throw new ZipFormatError('multi-disk archives are not supported');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipFormatError('ZIP64 archives are not supported');
  if (cdOffset + cdSize > eocd) throw new ZipFormatError('the central directory overlaps the end record');
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize) throw new ZipFormatError(`central directory entry ${i} is truncated`);
    if (bytes.readUInt32LE(p) !== CENTRAL_SIG) throw new ZipFormatError(`central directory entry ${i} has a bad signature`);
    const nameLength = bytes.readUInt16LE(p + 28);
    const extraLength = bytes.readUInt16LE(p + 30);
    const commentLength = bytes.readUInt16LE(p + 32);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cdOffset + cdSize) throw new ZipFormatError(`central directory entry ${i} runs past the directory`);
    const flags = bytes.readUInt16LE(p + 8);
    const name = decodeName(bytes.subarray(p + 46, p + 46 + nameLength), flags);
    checkName(name);
    if (names.has(name)) throw new ZipFormatError(`"${name}" appears twice`);
    names.add(name);
    if (flags & FLAG_ENCRYPTED) throw new ZipFormatError(`"${name}" is encrypted`);
    const method = bytes.readUInt16LE(p + 10);
    if (method !== 0 && method !== 8) throw new ZipFormatError(`"${name}" uses compression method ${method} (only stored and deflate are read)`);
    const compressedSize = bytes.readUInt32LE(p + 20);
    const uncompressedSize = bytes.readUInt32LE(p + 24);
    const localOffset = bytes.readUInt32LE(p + 42);
    const dataOffset = localDataOffset(bytes, localOffset, name, cdOffset);
    if (dataOffset + compressedSize > cdOffset) throw new ZipFormatError(`the data of "${name}" runs into the central directory`);
    if (method === 0 && compressedSize !== uncompressedSize) throw new ZipFormatError(`stored entry "${name}" has differing sizes`);
    entries.push({
      name, flags, method, compressedSize, uncompressedSize, dataOffset,
      versionMadeBy: bytes.readUInt16LE(p + 4),
      versionNeeded: bytes.readUInt16LE(p + 6),
      dosTime: bytes.readUInt16LE(p + 12),
      dosDate: bytes.readUInt16LE(p + 14),
      crc32: bytes.readUInt32LE(p + 16),
      internalAttributes: bytes.readUInt16LE(p + 36),
      externalAttributes: bytes.readUInt32LE(p + 38),
    });
    p = end;
  }
  return { bytes, entries };
}

/** The entry's raw (still compressed) data. */
export function rawData(zip: ZipArchive, entry: ZipEntry): Buffer {
  return zip.bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
}

/** The entry's content, inflated within its declared size and checked against its CRC-32. */
export function entryContent(zip: ZipArchive, entry: ZipEntry, maxBytes: number): Buffer {
  if (entry.uncompressedSize > maxBytes) throw new ZipFormatError(`"${entry.name}" is ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed`);
  const raw = rawData(zip, entry);
  let content: Buffer;
  if (entry.method === 0) content = raw;
  else {
    try {
      // One byte over the declared size shows a lying header without inflating a bomb.
      content = inflateRawSync(raw, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (err) {
      throw new ZipFormatError(`"${entry.name}" does not inflate within its declared size: ${(err as Error).message}`);
    }
  }
  if (content.length !== entry.uncompressedSize) throw new ZipFormatError(`"${entry.name}" inflates to ${content.length} bytes, not the declared ${entry.uncompressedSize}`);
  if (crc32(content) >>> 0 !== entry.crc32) throw new ZipFormatError(`"${entry.name}" fails its CRC-32`);
  return content;
}

function findEndOfCentralDirectory(bytes: Buffer): number {
  if (bytes.length < EOCD_MIN) throw new ZipFormatError('too short to be a ZIP archive');
  const stop = Math.max(0, bytes.length - EOCD_MIN - MAX_COMMENT);
  for (let p = bytes.length - EOCD_MIN; p >= stop; p--) {
    if (bytes.readUInt32LE(p) === EOCD_SIG && p + EOCD_MIN + bytes.readUInt16LE(p + 20) === bytes.length) return p;
  }
  throw new ZipFormatError('no end-of-central-directory record');
}

function localDataOffset(bytes: Buffer, offset: number, name: string, limit: number): number {
  if (offset + 30 > limit) throw new ZipFormatError(`the local header of "${name}" is outside the archive data`);
  if (bytes.readUInt32LE(offset) !== LOCAL_SIG) throw new ZipFormatError(`the local header of "${name}" has a bad signature`);
  const nameLength = bytes.readUInt16LE(offset + 26);
  const extraLength = bytes.readUInt16LE(offset + 28);
  const localName = decodeName(bytes.subarray(offset + 30, offset + 30 + nameLength), bytes.readUInt16LE(offset + 6));
  // A local name differing from the central one is how archives show different files to different readers.
  if (localName !== name) throw new ZipFormatError(`the local header names "${localName}" where the directory names "${name}"`);
  return offset + 30 + nameLength + extraLength;
}

function decodeName(raw: Buffer, flags: number): string {
  // Bit 11: UTF-8. Otherwise CP437, of which only ASCII names are accepted here.
  const utf8 = (flags & 0x0800) !== 0;
  const name = raw.toString(utf8 ? 'utf8' : 'latin1');
  if (!utf8 && /[^\x20-\x7e]/.test(name)) throw new ZipFormatError('an entry name is neither UTF-8 flagged nor ASCII');
  if (utf8 && !Buffer.from(name, 'utf8').equals(raw)) throw new ZipFormatError('an entry name is not valid UTF-8');
  return name;
}

function checkName(name: string): void {
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.includes('\0')) throw new ZipFormatError(`entry name "${name}" is not a relative path`);
  if (name.split('/').some((s) => s === '..' || s === '.')) throw new ZipFormatError(`entry name "${name}" has a "." or ".." segment`);
}
