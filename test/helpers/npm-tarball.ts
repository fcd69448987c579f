/**
 * Builds npm package tarballs the way `npm pack` does: a gzip'd ustar archive whose entries
 * live under `package/`, with `package/package.json` first. No dependency: the ustar writer is
 * a few lines, and zlib does the gzip.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface PackedTarball {
  bytes: Buffer;
  /** `sha512-<base64>` over the gzip bytes, as in `dist.integrity`. */
  integrity: string;
  /** Hex SHA-1 over the gzip bytes, as in `dist.shasum`. */
  shasum: string;
  fileCount: number;
  unpackedSize: number;
}

/** npm pack's fixed mtime: 1985-10-26T08:15:00Z. */
const NPM_PACK_MTIME = 499162500;

/** `files` maps a path relative to the package root to its contents. */
export function packTarball(files: Record<string, string | Buffer>): PackedTarball {
  const names = Object.keys(files).sort((a, b) => (a === 'package.json' ? -1 : b === 'package.json' ? 1 : a.localeCompare(b)));
  const blocks: Buffer[] = [];
  let unpackedSize = 0;
  for (const name of names) {
    const raw = files[name]!;
    const body = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    unpackedSize += body.length;
    blocks.push(header(`package/${name}`, body.length));
    blocks.push(body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  const bytes = gzipSync(Buffer.concat(blocks), { level: 9 });
  return {
    bytes,
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    shasum: createHash('sha1').update(bytes).digest('hex'),
    fileCount: names.length,
    unpackedSize,
  };
}

function header(path: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) throw new Error(`tar path too long: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(NPM_PACK_MTIME, 12), 136);
  h.write('        ', 148); // checksum field counts as spaces while summing
  h.write('0', 156); // regular file
  h.write('ustar\u000000', 257);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148);
  return h;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\u0000`;
}
