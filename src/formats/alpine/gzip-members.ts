/**
 * Splits concatenated gzip members (RFC 1952 https://www.rfc-editor.org/rfc/rfc1952) at their
 * boundaries, as apk's multi-part gunzip does (apk-tools src/io_gunzip.c): apk hashes the
 * compressed bytes of each member, so the mirror needs the exact byte ranges, not just the
 * decompressed stream. The bytes are attacker-controlled: every header field is bounds-checked,
 * and inflating is streamed on zlib's thread pool (never synchronously on the event loop) and
 * stopped as soon as the output passes the caller's cap, so a bomb costs at most the cap.
 */
import { createInflateRaw } from 'node:zlib';

export class GzipError extends Error {
  override readonly name = 'GzipError';
}

/** The member inflates to more than the caller allows (a bomb, or an index past any real size). */
export class GzipTooLargeError extends GzipError {
  constructor(readonly start: number, readonly maxOutput: number) {
    super(`the gzip member at ${start} inflates to more than ${maxOutput} bytes`);
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
/** Input handed to zlib per write: bounds how far zlib runs ahead of the output cap check. */
const INPUT_CHUNK = 64 * 1024;

export interface GzipMember {
  /** Byte range of the whole member (header, deflate data, trailer) in the input. */
  start: number;
  end: number;
  /** The decompressed content. */
  content: Buffer;
}

/** Offset of the deflate data of the member at `start` (after its header). */
function deflateStart(buf: Buffer, start: number): number {
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
  return at;
}

/** Inflates raw deflate data until its end block; returns the output and how many input bytes it used. */
function inflateCapped(input: Buffer, maxOutput: number, start: number): Promise<{ content: Buffer; consumed: number }> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      reject(err);
    };
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutput) return fail(new GzipTooLargeError(start, maxOutput));
      chunks.push(chunk);
    });
    inflate.on('error', (err) => fail(new GzipError(`bad gzip member at ${start}: ${err.message}`)));
    inflate.on('end', () => {
      if (settled) return;
      settled = true;
      resolve({ content: Buffer.concat(chunks, size), consumed: inflate.bytesWritten });
    });
    // Written in chunks with backpressure, so zlib never holds more than a chunk of input ahead of the cap.
    let at = 0;
    const pump = () => {
      while (!settled && at < input.length) {
        const chunk = input.subarray(at, at + INPUT_CHUNK);
        at += chunk.length;
        if (!inflate.write(chunk)) return void inflate.once('drain', pump);
      }
      if (!settled) inflate.end();
    };
    pump();
  });
}

/** The member starting at `start`, its content at most `maxOutput` bytes. */
export async function readMember(buf: Buffer, start: number, maxOutput: number): Promise<GzipMember> {
  const at = deflateStart(buf, start);
  const { content, consumed } = await inflateCapped(buf.subarray(at), maxOutput, start);
  const end = at + consumed + 8;
  if (end > buf.length) throw new GzipError(`gzip member at ${start} is truncated`);
  if (buf.readUInt32LE(end - 4) !== (content.length >>> 0)) throw new GzipError(`gzip member at ${start} has a wrong length trailer`);
  return { start, end, content };
}
