/**
 * Splits concatenated gzip members (RFC 1952 https://www.rfc-editor.org/rfc/rfc1952) at their
 * boundaries, as apk's multi-part gunzip does (apk-tools src/io_gunzip.c): apk hashes the
 * compressed bytes of each member, so the mirror needs the exact byte ranges, not just the
 * decompressed stream. The bytes are attacker-controlled: every header field is bounds-checked
 * and decompression is capped.
 */
import { inflateRawSync } from 'node:zlib';

export class GzipError extends Error {
  override readonly name = 'GzipError';
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

export interface GzipMember {
  /** Byte range of the whole member (header, deflate data, trailer) in the input. */
  start: number;
  end: number;
  /** The decompressed content. */
  content: Buffer;
}

/** The member starting at `start`. */
export function readMember(buf: Buffer, start: number, maxOutput: number): GzipMember {
  if (start + 18 > buf.length) throw new GzipError(`no gzip member at ${start}`);
  if (buf[start] !== 0x1f || buf[start + 1] !== 0x8b || buf[start + 2] !== 8) throw new GzipError(`no gzip member at ${start}`);
  const flags = buf[start + 3]!;
  let at = start + 10;
  if (flags & FEXTRA) {
    if (at + 2 > buf.length) throw new GzipError('truncated gzip header');
    at += 2 + buf.readUInt16LE(at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const nul = buf.indexOf(0, at);
      if (nul < 0) throw new GzipError('truncated gzip header');
      at = nul + 1;
    }
  }
  if (flags & FHCRC) at += 2;
  if (at >= buf.length) throw new GzipError('truncated gzip header');
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = inflateRawSync(buf.subarray(at), { info: true, maxOutputLength: maxOutput }) as unknown as typeof result;
  } catch (err) {
    throw new GzipError(`bad gzip member at ${start}: ${(err as Error).message}`);
  }
  const end = at + result.engine.bytesWritten + 8;
  if (end > buf.length) throw new GzipError(`gzip member at ${start} is truncated`);
  if (buf.readUInt32LE(end - 4) !== (result.buffer.length >>> 0)) throw new GzipError(`gzip member at ${start} has a wrong length trailer`);
  return { start, end, content: result.buffer };
}
