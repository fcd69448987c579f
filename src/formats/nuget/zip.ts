/**
 * The zip structure of a .nupkg, read and edited exactly as NuGet does for package signatures.
 * Zip: https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT (§4.3.6 layout, §4.3.7 local
 * header, §4.3.12 central directory header, §4.3.16 end of central directory).
 * NuGet: NuGet.Client src/NuGet.Core/NuGet.Packaging/Signing/Archive/SignedPackageArchiveIOUtility.cs
 * (the signature entry `.signature.p7s`: stored, flags 0, no extra fields, external attributes 0,
 * the last local entry and the last central directory record; Zip64 packages cannot be signed).
 *
 * The bytes are upstream-controlled: every offset and size is bounds-checked, and only the
 * single-disk, non-Zip64 layout NuGet itself signs is accepted.
 */
import { crc32 } from 'node:zlib';

export const SIGNATURE_ENTRY = '.signature.p7s';

const LFH_SIG = 0x04034b50;
const CDH_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const EOCD_SIZE = 22;
const LFH_SIZE = 30;
const CDH_SIZE = 46;
/** NuGet refuses to sign a package with this many entries or more (NU3039). */
const MAX_ENTRIES_TO_SIGN = 0xfffd;

export class ZipError extends Error {}

export interface ZipEntry {
  /** The name as stored (bytes), and as text. */
  nameBytes: Buffer;
  name: string;
  flags: number;
  method: number;
  /** DOS time and date fields. */
  time: number;
  date: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  externalAttributes: number;
  cdExtraLength: number;
  /** Offset of the central directory record, its length. */
  cdOffset: number;
  cdLength: number;
  localOffset: number;
  /** Offset of the entry's data and where its local entry (data descriptor included) ends. */
  dataOffset: number;
  localEnd: number;
  localExtraLength: number;
}

export interface ZipLayout {
  bytes: Buffer;
  /** In central directory order. */
  entries: ZipEntry[];
  cdOffset: number;
  cdSize: number;
  eocdOffset: number;
}

function u16(b: Buffer, at: number): number {
  if (at + 2 > b.length) throw new ZipError('truncated zip structure');
  return b.readUInt16LE(at);
}

function u32(b: Buffer, at: number): number {
  if (at + 4 > b.length) throw new ZipError('truncated zip structure');
  return b.readUInt32LE(at);
}

function findEocd(bytes: Buffer): number {
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - 0xffff);
  for (let at = bytes.length - EOCD_SIZE; at >= lowest; at--) {
    // The comment must reach exactly to the end of the file: otherwise this is a signature inside a comment.
    if (bytes.readUInt32LE(at) === EOCD_SIG && at + EOCD_SIZE + bytes.readUInt16LE(at + 20) === bytes.length) return at;
  }
  throw new ZipError('no end of central directory record');
}

export function parseZip(bytes: Buffer): ZipLayout {
  if (bytes.length < EOCD_SIZE) throw new ZipError('too short to be a zip file');
  const eocd = findEocd(bytes);
  if (eocd >= 20 && bytes.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIG) throw new ZipError('Zip64 packages are not supported (NuGet cannot sign them either)');
  if (u16(bytes, eocd + 4) !== 0 || u16(bytes, eocd + 6) !== 0) throw new ZipError('multi-disk zip files are not supported');
  const count = u16(bytes, eocd + 10);
  if (u16(bytes, eocd + 8) !== count) throw new ZipError('entry counts in the end record disagree');
  const cdSize = u32(bytes, eocd + 12);
  const cdOffset = u32(bytes, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipError('Zip64 packages are not supported');
  // NuGet's own reader assumes the end record follows the central directory immediately.
  if (cdOffset + cdSize !== eocd) throw new ZipError('the central directory does not end where the end record starts');
  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (u32(bytes, at) !== CDH_SIG) throw new ZipError(`central directory record ${i} has a bad signature`);
    const nameLength = u16(bytes, at + 28);
    const cdExtraLength = u16(bytes, at + 30);
    const commentLength = u16(bytes, at + 32);
    const cdLength = CDH_SIZE + nameLength + cdExtraLength + commentLength;
    if (at + cdLength > eocd) throw new ZipError(`central directory record ${i} runs past the directory`);
    const nameBytes = Buffer.from(bytes.subarray(at + CDH_SIZE, at + CDH_SIZE + nameLength));
    const entry = localEntry(bytes, {
      nameBytes, name: nameBytes.toString('utf8'), flags: u16(bytes, at + 8), method: u16(bytes, at + 10), time: u16(bytes, at + 12), date: u16(bytes, at + 14),
      crc32: u32(bytes, at + 16), compressedSize: u32(bytes, at + 20), uncompressedSize: u32(bytes, at + 24),
      externalAttributes: u32(bytes, at + 38), cdExtraLength, cdOffset: at, cdLength, localOffset: u32(bytes, at + 42),
    }, cdOffset);
    entries.push(entry);
    at += cdLength;
  }
  if (at !== eocd) throw new ZipError('the central directory size does not match its records');
  return { bytes, entries, cdOffset, cdSize, eocdOffset: eocd };
}

function localEntry(bytes: Buffer, cd: Omit<ZipEntry, 'dataOffset' | 'localEnd' | 'localExtraLength'>, cdOffset: number): ZipEntry {
  const at = cd.localOffset;
  if (at + LFH_SIZE > cdOffset || u32(bytes, at) !== LFH_SIG) throw new ZipError(`${cd.name}: no local header at offset ${at}`);
  const localExtraLength = u16(bytes, at + 28);
  const dataOffset = at + LFH_SIZE + u16(bytes, at + 26) + localExtraLength;
  let localEnd = dataOffset + cd.compressedSize;
  if (cd.flags & 0x08) {
    // A data descriptor follows the data, with or without its optional signature.
    localEnd += u32(bytes, localEnd) === 0x08074b50 ? 16 : 12;
  }
  if (localEnd > cdOffset) throw new ZipError(`${cd.name}: its data runs into the central directory`);
  return { ...cd, dataOffset, localEnd, localExtraLength };
}

/** The signature entry, if any; more than one is refused (NU3005). */
export function signatureEntry(layout: ZipLayout): ZipEntry | undefined {
  const found = layout.entries.filter((e) => e.name === SIGNATURE_ENTRY);
  if (found.length > 1) throw new ZipError(`the package has ${found.length} ${SIGNATURE_ENTRY} entries`);
  return found[0];
}

/**
 * The package as it was before it was signed (what NuGet hashes), for a signature entry placed as
 * NuGet places it: stored, flags 0, no extra fields, attributes 0, last local entry and last record.
 */
export function withoutSignature(layout: ZipLayout, sig: ZipEntry): Buffer {
  const problems: string[] = [];
  if (sig.flags !== 0) problems.push(`general purpose flags ${sig.flags}`);
  if (sig.method !== 0 || sig.compressedSize !== sig.uncompressedSize) problems.push('not stored');
  if (sig.externalAttributes !== 0) problems.push('external attributes are set');
  if (sig.cdExtraLength !== 0 || sig.localExtraLength !== 0) problems.push('extra fields');
  if (layout.entries.at(-1) !== sig) problems.push('not the last central directory record');
  if (sig.localEnd !== layout.cdOffset || layout.entries.some((e) => e !== sig && e.localOffset > sig.localOffset)) problems.push('not the last local entry');
  if (problems.length > 0) throw new ZipError(`${SIGNATURE_ENTRY} is not placed as NuGet places it: ${problems.join(', ')}`);
  const { bytes } = layout;
  const removedLocal = sig.localEnd - sig.localOffset;
  const eocd = Buffer.from(bytes.subarray(layout.eocdOffset));
  const count = layout.entries.length - 1;
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(layout.cdSize - sig.cdLength, 12);
  eocd.writeUInt32LE(layout.cdOffset - removedLocal, 16);
  return Buffer.concat([bytes.subarray(0, sig.localOffset), bytes.subarray(layout.cdOffset, sig.cdOffset), eocd]);
}

/** DOS date and time fields for a UTC instant (2-second resolution, years 1980–2107). */
export function dosDateTime(at: Date): { time: number; date: number } {
  const year = Math.min(Math.max(at.getUTCFullYear(), 1980), 2107);
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

/** The newest modification time among the entries (UTC as written), or undefined when none is valid. */
export function newestEntryTime(layout: ZipLayout): Date | undefined {
  let newest: number | undefined;
  for (const e of layout.entries) {
    const month = (e.date >> 5) & 0x0f;
    const day = e.date & 0x1f;
    if (month < 1 || month > 12 || day < 1) continue;
    const t = Date.UTC(1980 + (e.date >> 9), month - 1, day, e.time >> 11, (e.time >> 5) & 0x3f, (e.time & 0x1f) * 2);
    if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
  }
  return newest === undefined ? undefined : new Date(newest);
}

/** Appends `.signature.p7s` to an unsigned package exactly as NuGet's WriteSignatureIntoZip does. */
export function appendSignature(unsigned: ZipLayout, signature: Buffer, at: Date): Buffer {
  if (signatureEntry(unsigned)) throw new ZipError('the package is already signed');
  if (unsigned.entries.length >= MAX_ENTRIES_TO_SIGN) throw new ZipError(`the package has ${unsigned.entries.length} entries, too many to sign`);
  const { bytes } = unsigned;
  const name = Buffer.from(SIGNATURE_ENTRY, 'ascii');
  const { time, date } = dosDateTime(at);
  const crc = crc32(signature);
  const lfh = Buffer.alloc(LFH_SIZE);
  lfh.writeUInt32LE(LFH_SIG, 0);
  lfh.writeUInt16LE(20, 4); // version needed
  lfh.writeUInt16LE(0, 6); // flags: none, not even UTF-8
  lfh.writeUInt16LE(0, 8); // stored
  lfh.writeUInt16LE(time, 10);
  lfh.writeUInt16LE(date, 12);
  lfh.writeUInt32LE(crc, 14);
  lfh.writeUInt32LE(signature.length, 18);
  lfh.writeUInt32LE(signature.length, 22);
  lfh.writeUInt16LE(name.length, 26);
  lfh.writeUInt16LE(0, 28);
  const cdh = Buffer.alloc(CDH_SIZE);
  cdh.writeUInt32LE(CDH_SIG, 0);
  cdh.writeUInt16LE(20, 4); // version made by
  cdh.writeUInt16LE(20, 6); // version needed
  cdh.writeUInt16LE(0, 8);
  cdh.writeUInt16LE(0, 10);
  cdh.writeUInt16LE(time, 12);
  cdh.writeUInt16LE(date, 14);
  cdh.writeUInt32LE(crc, 16);
  cdh.writeUInt32LE(signature.length, 20);
  cdh.writeUInt32LE(signature.length, 24);
  cdh.writeUInt16LE(name.length, 28);
  // extra length, comment length, disk number, internal and external attributes: 0
  cdh.writeUInt32LE(unsigned.cdOffset, 42);
  const eocd = Buffer.from(bytes.subarray(unsigned.eocdOffset));
  const count = unsigned.entries.length + 1;
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(unsigned.cdSize + CDH_SIZE + name.length, 12);
  eocd.writeUInt32LE(unsigned.cdOffset + LFH_SIZE + name.length + signature.length, 16);
  return Buffer.concat([
    bytes.subarray(0, unsigned.cdOffset), lfh, name, signature,
    bytes.subarray(unsigned.cdOffset, unsigned.eocdOffset), cdh, name, eocd,
  ]);
}

/** The stored bytes of an entry (still compressed when its method is deflate). */
export function entryData(layout: ZipLayout, entry: ZipEntry): Buffer {
  return layout.bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
}
