/**
 * One streamed, capped decompressor for every format. Compressed upstream bytes are
 * attacker-controlled, and a digest that matches only proves the upstream meant to send them: a
 * signed index can still list a compression bomb. So output is never collected here; it is pushed
 * to the caller chunk by chunk, and decompression stops with an `InflateError` (kind `limit`) as
 * soon as the output passes its cap.
 *
 * The cap (see `outputCap`): min(ceiling, max(floor, ratio × compressed bytes)). Real metadata
 * compresses 5–30× (createrepo_c's primary/filelists, Debian Packages with xz ≈ 10×, the most
 * repetitive filelists ≈ 40×); deflate cannot exceed ~1032×, and xz/zstd/bzip2 bombs reach 10⁵–10⁶×.
 * 200× leaves legitimate files a wide margin and bounds a bomb to 200 times what was downloaded;
 * the floor keeps tiny files (an empty other.xml.gz is ~130 bytes) readable, the ceiling bounds
 * the largest object whatever its size.
 *
 * Formats: gzip (RFC 1952, node:zlib, multi-member), xz (https://tukaani.org/xz/xz-file-format.txt,
 * xz-embedded in WebAssembly via xz-decompress), zstd (RFC 8878, fzstd; frame headers are checked
 * first so a declared window cannot make fzstd allocate more than the cap), bzip2 (seek-bzip).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import Bunzip from 'seek-bzip';
import xz from 'xz-decompress';
import { InflateError } from './bounded-inflate-error.js';
import { assertZstdWindows } from './bounded-zstd-frames.js';

export { InflateError };

export type Codec = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';

export interface OutputCap {
  /** Largest output whatever the input. */
  ceiling: number;
  /** Output allowed per compressed byte. */
  ratio: number;
  /** Output always allowed (small files). */
  floor: number;
}

export const DEFAULT_CAP: OutputCap = { ceiling: 1024 ** 3, ratio: 200, floor: 1024 ** 2 };

/** The output limit for `inputBytes` compressed bytes under `cap`. */
export function outputCap(inputBytes: number, cap: OutputCap = DEFAULT_CAP): number {
  return Math.min(cap.ceiling, Math.max(cap.floor, cap.ratio * inputBytes));
}

/** Bytes every decompression in this process produced (tests measure work by it, not by time). */
let produced = 0;
export function inflatedBytes(): number {
  return produced;
}

const CHUNK = 64 * 1024;

/**
 * Decompresses `input` and hands the output to `sink` in chunks of at most ~128 KiB, waiting for
 * the sink's promise before the next one (backpressure); resolves to the total. The sink may throw
 * to stop early. Memory held: one chunk plus the codec's window (bzip2: see `bunzip`).
 */
export async function inflate(input: Buffer, codec: Codec, limit: number, sink: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  let total = 0;
  const count = (chunk: Uint8Array): Buffer => {
    total += chunk.byteLength;
    produced += chunk.byteLength;
    if (total > limit) throw new InflateError('limit', `it decompresses to more than ${limit} bytes (the cap for ${input.length} ${codec} bytes)`);
    return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  };
  const emit = async (chunk: Uint8Array): Promise<void> => {
    if (chunk.byteLength > 0) await sink(count(chunk));
  };
  try {
    switch (codec) {
      case 'none':
        for (let at = 0; at < input.length; at += CHUNK) await emit(input.subarray(at, at + CHUNK));
        break;
      case 'gzip':
        await pull(Readable.from([input]).pipe(createGunzip({ chunkSize: CHUNK })), emit);
        break;
      case 'xz': {
        const web = Readable.toWeb(Readable.from([input])) as unknown as ReadableStream<Uint8Array>;
        await pull(Readable.fromWeb(new xz.XzReadableStream(web) as unknown as WebReadableStream<Uint8Array>), emit);
        break;
      }
      case 'zstd':
        await unzstd(input, limit, count, sink);
        break;
      case 'bzip2':
        for (const chunk of bunzip(input, count)) await sink(chunk);
        break;
    }
  } catch (err) {
    if (err instanceof InflateError) throw err;
    throw new InflateError('corrupt', `it is not valid ${codec}: ${(err as Error).message}`);
  }
  return total;
}

/** The whole output, for callers that need it (still capped: at most `limit` bytes are ever held). */
export async function inflateAll(input: Buffer, codec: Codec, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await inflate(input, codec, limit, (c) => { chunks.push(Buffer.from(c)); });
  return Buffer.concat(chunks);
}

async function pull(stream: Readable, emit: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  try {
    for await (const chunk of stream) await emit(chunk as Uint8Array);
  } finally {
    stream.destroy();
  }
}

/**
 * fzstd decodes block by block (≤ 128 KiB each) and keeps only the frame's window, which
 * `assertZstdWindows` bounded first. Input goes in by 64 KiB so the sink is awaited between pushes;
 * what one push produces is counted (and capped) as it is made.
 */
async function unzstd(input: Buffer, limit: number, count: (c: Uint8Array) => Buffer, sink: (c: Buffer) => void | Promise<void>): Promise<void> {
  assertZstdWindows(input, limit);
  let pending: Buffer[] = [];
  const decoder = new ZstdDecompress((chunk) => {
    if (chunk.byteLength > 0) pending.push(Buffer.from(count(chunk)));
  });
  for (let at = 0; ; at += CHUNK) {
    const end = Math.min(input.length, at + CHUNK);
    decoder.push(new Uint8Array(input.buffer, input.byteOffset + at, end - at), end === input.length);
    const ready = pending;
    pending = [];
    for (const c of ready) await sink(c);
    if (end === input.length) break;
  }
}

/**
 * seek-bzip decodes synchronously, so the output of the whole stream is counted (and capped) as it
 * is made and handed on after: bzip2 holds up to the cap in memory. createrepo_c writes bzip2 only
 * when asked (--compress-type bz2); gzip, xz and zstd stream.
 */
function bunzip(input: Buffer, count: (c: Uint8Array) => Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let out = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  Bunzip.decode(input, {
    writeByte(byte: number) {
      out[pos++] = byte;
      if (pos === CHUNK) {
        chunks.push(count(out));
        out = Buffer.allocUnsafe(CHUNK);
        pos = 0;
      }
    },
  }, true);
  if (pos > 0) chunks.push(count(out.subarray(0, pos)));
  return chunks;
}
