/**
 * RPM header structures, as in https://rpm-software-management.github.io/rpm/manual/format_v4.html
 * and rpm-4.18 lib/header.c (hdrblobVerifyInfo, hdrblobVerifyRegion), which decides what rpm
 * accepts. Every byte parsed here comes from the upstream and is attacker-controlled: each
 * count, offset and length is checked against the buffer before it is used.
 *
 *   magic 8E AD E8 01 | reserved u32 | il u32 | dl u32 | il × {tag, type, offset, count} | data[dl]
 *
 * In package files the first entry is the region (tag 62 in the signature header, 63 in the
 * main header) whose 16-byte trailer closes the data store.
 */

export const HEADER_MAGIC = 0x8eade801;
export const ENTRY_SIZE = 16;
export const PREAMBLE_SIZE = 16;
export const TYPE = { NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

const ALIGN: Record<number, number> = { [TYPE.INT16]: 2, [TYPE.INT32]: 4, [TYPE.INT64]: 8 };
const FIXED_SIZE: Record<number, number> = { [TYPE.CHAR]: 1, [TYPE.INT8]: 1, [TYPE.INT16]: 2, [TYPE.INT32]: 4, [TYPE.INT64]: 8, [TYPE.BIN]: 1 };

export interface HeaderEntry {
  tag: number;
  type: number;
  count: number;
  /** The entry's data, a copy cut from the data store. */
  data: Buffer;
}

export interface ParsedHeader {
  /** Offset of the magic in the buffer it was parsed from. */
  start: number;
  /** Bytes from the magic to the end of the data store (what a header signature covers). */
  length: number;
  regionTag: number;
  /** Entries after the region entry, in file order. */
  entries: HeaderEntry[];
}

export class RpmFormatError extends Error {
  override readonly name = 'RpmFormatError';
}

export function parseHeader(buf: Buffer, start: number, regionTag: number, limits: { maxEntries: number; maxData: number }): ParsedHeader {
  if (start + PREAMBLE_SIZE > buf.length) throw new RpmFormatError(`header at ${start} is truncated`);
  if (buf.readUInt32BE(start) !== HEADER_MAGIC) throw new RpmFormatError(`no header magic at ${start}`);
  const il = buf.readUInt32BE(start + 8);
  const dl = buf.readUInt32BE(start + 12);
  if (il < 1 || il > limits.maxEntries) throw new RpmFormatError(`header at ${start} has ${il} entries (at most ${limits.maxEntries})`);
  if (dl < ENTRY_SIZE || dl > limits.maxData) throw new RpmFormatError(`header at ${start} has a ${dl}-byte data store (at most ${limits.maxData})`);
  const dataStart = start + PREAMBLE_SIZE + il * ENTRY_SIZE;
  const length = PREAMBLE_SIZE + il * ENTRY_SIZE + dl;
  if (start + length > buf.length) throw new RpmFormatError(`header at ${start} runs past the end of the file`);
  const data = buf.subarray(dataStart, dataStart + dl);
  const raw = (i: number) => {
    const at = start + PREAMBLE_SIZE + i * ENTRY_SIZE;
    return { tag: buf.readUInt32BE(at), type: buf.readUInt32BE(at + 4), offset: buf.readInt32BE(at + 8), count: buf.readUInt32BE(at + 12) };
  };

  // The region: first entry points at the trailer, which points back over every entry (il == ril, dl == rdl).
  const region = raw(0);
  if (region.tag !== regionTag || region.type !== TYPE.BIN || region.count !== ENTRY_SIZE || region.offset !== dl - ENTRY_SIZE) {
    throw new RpmFormatError(`header at ${start} does not start with a whole region ${regionTag}`);
  }
  const trailer = data.subarray(dl - ENTRY_SIZE);
  if (trailer.readUInt32BE(0) !== regionTag || trailer.readUInt32BE(4) !== TYPE.BIN || trailer.readInt32BE(8) !== -(il * ENTRY_SIZE) || trailer.readUInt32BE(12) !== ENTRY_SIZE) {
    throw new RpmFormatError(`header at ${start} has a malformed region trailer`);
  }

  const entries: HeaderEntry[] = [];
  let previousEnd = 0;
  const store = dl - ENTRY_SIZE;
  for (let i = 1; i < il; i++) {
    const e = raw(i);
    if (e.type < TYPE.CHAR || e.type > TYPE.I18NSTRING) throw new RpmFormatError(`tag ${e.tag} has unknown type ${e.type}`);
    if (e.offset < 0 || e.offset >= store) throw new RpmFormatError(`tag ${e.tag} points outside the data store`);
    if (e.offset % (ALIGN[e.type] ?? 1) !== 0) throw new RpmFormatError(`tag ${e.tag} is misaligned`);
    if (e.offset < previousEnd) throw new RpmFormatError(`tag ${e.tag} overlaps the entry before it`);
    if (e.count < 1) throw new RpmFormatError(`tag ${e.tag} has no values`);
    const len = dataLength(e.type, e.count, data, e.offset, store);
    if (len === undefined) throw new RpmFormatError(`tag ${e.tag} runs past the data store`);
    previousEnd = e.offset + len;
    entries.push({ tag: e.tag, type: e.type, count: e.count, data: Buffer.from(data.subarray(e.offset, e.offset + len)) });
  }
  return { start, length, regionTag, entries };
}

/** Byte length of `count` values of `type` at `offset`, or undefined if they do not fit before `end`. */
function dataLength(type: number, count: number, data: Buffer, offset: number, end: number): number | undefined {
  const fixed = FIXED_SIZE[type];
  if (fixed !== undefined) {
    const len = fixed * count;
    return offset + len <= end ? len : undefined;
  }
  // STRING has one value; STRING_ARRAY and I18NSTRING have `count` NUL-terminated strings.
  const strings = type === TYPE.STRING ? 1 : count;
  if (type === TYPE.STRING && count !== 1) return undefined;
  let at = offset;
  for (let n = 0; n < strings; n++) {
    const nul = data.indexOf(0, at);
    if (nul < 0 || nul >= end) return undefined;
    at = nul + 1;
  }
  return at - offset;
}

/**
 * Serialises a header the way rpm writes one into a package: the region entry first, the other
 * entries sorted by tag with data laid out in that order (aligned per type), then the trailer.
 */
export function buildHeader(regionTag: number, entries: readonly HeaderEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const il = sorted.length + 1;
  const parts: Buffer[] = [];
  const index = Buffer.alloc(il * ENTRY_SIZE);
  let offset = 0;
  sorted.forEach((e, i) => {
    const align = ALIGN[e.type] ?? 1;
    const pad = (align - (offset % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    offset += pad;
    const at = (i + 1) * ENTRY_SIZE;
    index.writeUInt32BE(e.tag, at);
    index.writeUInt32BE(e.type, at + 4);
    index.writeInt32BE(offset, at + 8);
    index.writeUInt32BE(e.count, at + 12);
    parts.push(e.data);
    offset += e.data.length;
  });
  const trailer = Buffer.alloc(ENTRY_SIZE);
  trailer.writeUInt32BE(regionTag, 0);
  trailer.writeUInt32BE(TYPE.BIN, 4);
  trailer.writeInt32BE(-(il * ENTRY_SIZE), 8);
  trailer.writeUInt32BE(ENTRY_SIZE, 12);
  parts.push(trailer);
  const dl = offset + ENTRY_SIZE;
  index.writeUInt32BE(regionTag, 0);
  index.writeUInt32BE(TYPE.BIN, 4);
  index.writeInt32BE(dl - ENTRY_SIZE, 8);
  index.writeUInt32BE(ENTRY_SIZE, 12);
  const preamble = Buffer.alloc(PREAMBLE_SIZE);
  preamble.writeUInt32BE(HEADER_MAGIC, 0);
  preamble.writeUInt32BE(il, 8);
  preamble.writeUInt32BE(dl, 12);
  return Buffer.concat([preamble, index, ...parts]);
}

export function findEntry(header: ParsedHeader, tag: number): HeaderEntry | undefined {
  return header.entries.find((e) => e.tag === tag);
}

/** The first string of a STRING / STRING_ARRAY / I18NSTRING entry. */
export function entryString(entry: HeaderEntry | undefined): string | undefined {
  if (!entry || (entry.type !== TYPE.STRING && entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.I18NSTRING)) return undefined;
  const nul = entry.data.indexOf(0);
  return entry.data.subarray(0, nul < 0 ? entry.data.length : nul).toString('utf8');
}

export function entryInt32(entry: HeaderEntry | undefined): number | undefined {
  if (!entry || entry.type !== TYPE.INT32 || entry.data.length < 4) return undefined;
  return entry.data.readUInt32BE(0);
}
