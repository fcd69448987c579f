/**
 * Repository metadata in the compressions createrepo_c writes (gz, xz, zst, bz2; or none), named
 * by the file's suffix. Decompression is the shared streamed, capped one (../bounded-inflate.ts):
 * a signed repomd.xml can list a bomb under its real digest.
 */
import { type Codec, inflate, inflateAll, InflateError, outputCap } from '../bounded-inflate.js';

export type Compression = 'gz' | 'xz' | 'zst' | 'bz2' | 'none';

export { InflateError as DecompressError };

export function compressionOf(path: string): Compression {
  const m = /\.(gz|xz|zst|bz2)$/.exec(path);
  return (m?.[1] as Compression | undefined) ?? 'none';
}

const CODECS: Record<Compression, Codec> = { gz: 'gzip', xz: 'xz', zst: 'zstd', bz2: 'bzip2', none: 'none' };

/** The output cap of one metadata file: min(1 GiB, max(1 MiB, 200 × its compressed size)). */
export function metadataCap(bytes: Buffer, compression: Compression): number {
  return compression === 'none' ? bytes.length : outputCap(bytes.length);
}

/** Streams the decompressed bytes to `sink`; fails with a DecompressError past `maxBytes`. */
export function decompressTo(bytes: Buffer, compression: Compression, maxBytes: number, sink: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  return inflate(bytes, CODECS[compression], maxBytes, sink);
}

/** The whole decompressed file (at most `maxBytes` are ever held). */
export function decompress(bytes: Buffer, compression: Compression, maxBytes: number): Promise<Buffer> {
  return inflateAll(bytes, CODECS[compression], maxBytes);
}
