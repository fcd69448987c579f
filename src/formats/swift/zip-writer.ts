/**
 * Writes the archive the mirror serves: the upstream entries in their upstream order, with their
 * times, attributes and compressed data copied byte for byte, except the entries being replaced
 * (the re-signed manifests), which are stored uncompressed. No data descriptors, extra fields or
 * comments: the output depends on the upstream archive and the replacements alone, so a rebuild
 * gives the same bytes and the same checksum (APPNOTE §4.3, §4.4).
 */
import { crc32 } from 'node:zlib';
import { rawData, type ZipArchive, type ZipEntry } from './zip-archive.js';

const FLAG_UTF8 = 0x0800;

export function rewriteZip(zip: ZipArchive, replacements: ReadonlyMap<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of zip.entries) {
    const replaced = replacements.get(entry.name);
    const data = replaced ?? rawData(zip, entry);
    const fields: EntryFields = replaced
      ? { ...entry, method: 0, crc32: crc32(replaced) >>> 0, compressedSize: replaced.length, uncompressedSize: replaced.length, versionNeeded: Math.max(entry.versionNeeded, 10) }
      : entry;
    const name = Buffer.from(entry.name, 'utf8');
    const flags = fields.flags & FLAG_UTF8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(fields.versionNeeded, 4);
    local.writeUInt16LE(flags, 6);
    writeCommon(local, 8, fields, name.length);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(fields.versionMadeBy, 4);
    central.writeUInt16LE(fields.versionNeeded, 6);
    central.writeUInt16LE(flags, 8);
    writeCommon(central, 10, fields, name.length);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(fields.internalAttributes, 36);
    central.writeUInt32LE(fields.externalAttributes, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cdSize = centrals.reduce((n, b) => n + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip.entries.length, 8);
  eocd.writeUInt16LE(zip.entries.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, eocd]);
}

type EntryFields = Pick<ZipEntry, 'versionMadeBy' | 'versionNeeded' | 'flags' | 'method' | 'dosTime' | 'dosDate' | 'crc32' | 'compressedSize' | 'uncompressedSize' | 'internalAttributes' | 'externalAttributes'>;

/** method, time, date, crc, sizes, name length, extra length (0): the run local and central headers share. */
function writeCommon(buf: Buffer, at: number, e: EntryFields, nameLength: number): void {
  buf.writeUInt16LE(e.method, at);
  buf.writeUInt16LE(e.dosTime, at + 2);
  buf.writeUInt16LE(e.dosDate, at + 4);
  buf.writeUInt32LE(e.crc32, at + 6);
  buf.writeUInt32LE(e.compressedSize, at + 10);
  buf.writeUInt32LE(e.uncompressedSize, at + 14);
  buf.writeUInt16LE(nameLength, at + 18);
  buf.writeUInt16LE(0, at + 20);
}
