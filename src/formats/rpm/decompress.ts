/**
 * Decompresses repository metadata in the compressions createrepo_c writes (gz, xz, zst, bz2;
 * or none), with a ceiling on the output so a hostile file cannot exhaust memory. gz comes from
 * node:zlib; xz from xz-decompress (WebAssembly), zst from fzstd and bz2 from seek-bzip (pure JS).
 */
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import Bunzip from 'seek-bzip';
import xz from 'xz-decompress';

export type Compression = 'gz' | 'xz' | 'zst' | 'bz2' | 'none';

export function compressionOf(path: string): Compression {
  const m = /\.(gz|xz|zst|bz2)$/.exec(path);
  return (m?.[1] as Compression | undefined) ?? 'none';
}

export class DecompressError extends Error {
  override readonly name = 'DecompressError';
}

export async function decompress(bytes: Buffer, compression: Compression, maxBytes: number): Promise<Buffer> {
  try {
    switch (compression) {
      case 'none':
        return checkSize(bytes, maxBytes);
      case 'gz':
        return gunzipSync(bytes, { maxOutputLength: maxBytes });
      case 'zst':
        return checkSize(Buffer.from(zstdDecompress(new Uint8Array(bytes))), maxBytes);
      case 'bz2':
        return bunzip(bytes, maxBytes);
      case 'xz':
        return await unxz(bytes, maxBytes);
    }
  } catch (err) {
    if (err instanceof DecompressError) throw err;
    throw new DecompressError(`cannot decompress (${compression}): ${(err as Error).message}`);
  }
}

function checkSize(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.length > maxBytes) throw new DecompressError(`decompresses to more than ${maxBytes} bytes`);
  return bytes;
}

function bunzip(bytes: Buffer, maxBytes: number): Buffer {
  let out = Buffer.alloc(Math.min(maxBytes, Math.max(64 * 1024, bytes.length * 4)));
  let pos = 0;
  Bunzip.decode(bytes, {
    writeByte(byte: number) {
      if (pos >= out.length) {
        if (out.length >= maxBytes) throw new DecompressError(`decompresses to more than ${maxBytes} bytes`);
        const bigger = Buffer.alloc(Math.min(maxBytes, out.length * 2));
        out.copy(bigger);
        out = bigger;
      }
      out[pos++] = byte;
    },
  }, true);
  return out.subarray(0, pos);
}

async function unxz(bytes: Buffer, maxBytes: number): Promise<Buffer> {
  const input = Readable.toWeb(Readable.from([bytes])) as unknown as ReadableStream<Uint8Array>;
  const reader = new xz.XzReadableStream(input).getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new DecompressError(`decompresses to more than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
