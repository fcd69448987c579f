/**
 * Drives a streaming reader or rewriter over one compressed metadata file: decompressed (capped)
 * chunk by chunk, decoded as UTF-8, and, for a rewrite, gzipped as it is produced. Neither the
 * decompressed text nor the rewritten text is ever held whole.
 */
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { createGzip } from 'node:zlib';
import { type Compression, decompressTo } from './decompress.js';

export interface TextConsumer {
  write(chunk: string): void;
  end(): void;
}

/** Feeds the decompressed text of `bytes` to `consumer`. */
export async function readText(bytes: Buffer, compression: Compression, limit: number, consumer: TextConsumer): Promise<void> {
  const decoder = new StringDecoder('utf8');
  await decompressTo(bytes, compression, limit, (chunk) => consumer.write(decoder.write(chunk)));
  consumer.write(decoder.end());
  consumer.end();
}

/** Runs a rewriter over the decompressed text and returns what it wrote, gzipped (level 9). */
export async function rewriteToGzip(bytes: Buffer, compression: Compression, limit: number, make: (out: (piece: string) => void) => TextConsumer): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gz.on('data', (b: Buffer) => parts.push(b));
  const finished = once(gz, 'end');
  // A failure of the gzip stream surfaces through `finished` or the next drain wait.
  finished.catch(() => undefined);
  let full = false;
  const rewriter = make((piece) => {
    if (!gz.write(piece, 'utf8')) full = true;
  });
  const decoder = new StringDecoder('utf8');
  try {
    await decompressTo(bytes, compression, limit, async (chunk) => {
      rewriter.write(decoder.write(chunk));
      if (full) {
        full = false;
        await once(gz, 'drain');
      }
    });
    rewriter.write(decoder.end());
    rewriter.end();
  } catch (err) {
    gz.destroy();
    throw err;
  }
  gz.end();
  await finished;
  return Buffer.concat(parts);
}
