/**
 * Decompression of index files by their magic bytes (the name says nothing about by-hash files):
 *  - gzip: https://www.rfc-editor.org/rfc/rfc1952 (node's zlib);
 *  - xz: https://tukaani.org/xz/xz-file-format.txt (the WebAssembly xz-embedded of `xz-decompress`,
 *    no native code).
 * Other compressions (bzip2, lzma, lz4, zstd) are reported as unsupported: the file is still
 * served, it just cannot vouch for packages. Input is attacker-shaped: output size is bounded.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import xz from 'xz-decompress';

export type Compression = 'none' | 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'lz4' | 'lzma';

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 4).equals(Buffer.from([0x04, 0x22, 0x4d, 0x18]))) return 'lz4';
  if (head[0] === 0x5d && head[1] === 0x00 && head[2] === 0x00) return 'lzma';
  return 'none';
}

/** A stream of the decompressed bytes, or undefined when this compression is not supported. */
export function decompress(source: Readable, compression: Compression): Readable | undefined {
  switch (compression) {
    case 'none':
      return source;
    case 'gzip':
      // Larger output chunks than zlib's 16 KiB: a 50 MB Packages is otherwise 3,000 chunks through the parser.
      return source.pipe(createGunzip({ chunkSize: 256 * 1024 })).on('close', () => source.destroy());
    case 'xz': {
      const web = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
      return Readable.fromWeb(new xz.XzReadableStream(web) as unknown as import('node:stream/web').ReadableStream<Uint8Array>);
    }
    default:
      source.destroy();
      return undefined;
  }
}

/** Reads the first bytes of a stream factory's output (for the magic). */
export async function readHead(open: () => Readable, bytes = 8): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = open();
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/**
 * Decompresses a verified compressed index into the uncompressed file the Release lists beside
 * it, and checks the result against that listing (size bound first, digest after).
 */
export async function decompressToListed(bytes: Buffer, expected: { algorithm: 'sha256' | 'sha512'; digest: string; size: number }): Promise<Buffer> {
  const compression = detectCompression(bytes.subarray(0, 8));
  const stream = decompress(Readable.from([bytes]), compression);
  if (!stream) throw new Error(`${compression} is not a compression this mirror can read`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > expected.size) {
      stream.destroy();
      throw new Error(`it decompresses to more than the ${expected.size} bytes the Release lists`);
    }
    chunks.push(chunk as Buffer);
  }
  const out = Buffer.concat(chunks);
  const actual = createHash(expected.algorithm).update(out).digest('hex');
  if (out.length !== expected.size || actual !== expected.digest) {
    throw new Error(`it decompresses to ${expected.algorithm} ${actual} (${out.length} bytes), not ${expected.digest} (${expected.size} bytes) as the Release lists`);
  }
  return out;
}
