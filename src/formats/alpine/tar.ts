/**
 * The ustar subset apk reads and abuild writes (POSIX pax/ustar, https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06;
 * apk-tools src/tar.c). Reading: regular files with name/prefix and GNU long names, all bounds
 * checked (attacker-controlled). Writing: the one-entry, "cut" (no end-of-archive blocks)
 * archive of an apk signature, as abuild-sign makes with `abuild-tar --cut`; and replacing one
 * file's content in an archive, its header kept but for size and checksum (the served APKINDEX).
 */
export class TarError extends Error {
  override readonly name = 'TarError';
}

export interface TarFile {
  name: string;
  data: Buffer;
  /** The header's modification time, seconds since the epoch. */
  mtime: number;
}

const BLOCK = 512;

function text(b: Buffer, at: number, len: number): string {
  const field = b.subarray(at, at + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(b: Buffer, at: number, len: number): number {
  const s = text(b, at, len).trim();
  if (!/^[0-7]{1,12}$/.test(s)) throw new TarError(`bad number field "${s}"`);
  return parseInt(s, 8);
}

/** Regular files of a tar stream; stops at the first zero block or the end of the input. */
export function readTar(buf: Buffer, limits: { maxFiles: number } = { maxFiles: 10_000 }): TarFile[] {
  const files: TarFile[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= buf.length) {
    const header = buf.subarray(at, at + BLOCK);
    if (header.every((x) => x === 0)) break;
    const size = octal(header, 124, 12);
    // Only the index's mtime is used (its revision); elsewhere an odd field must not refuse an archive apk reads.
    const mtime = /^[0-7]{1,12}$/.test(text(header, 136, 12).trim()) ? octal(header, 136, 12) : 0;
    const type = String.fromCharCode(header[156] ?? 0);
    const start = at + BLOCK;
    if (start + size > buf.length) throw new TarError('a tar entry runs past the end of the archive');
    const data = buf.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    const prefix = text(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') {
      if (files.length >= limits.maxFiles) throw new TarError('too many files in the archive');
      files.push({ name, data, mtime });
    }
  }
  return files;
}

function setChecksum(header: Buffer): void {
  header.write('        ', 148, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * `tar` with the content of the regular file `name` replaced by `data`: every other block (other
 * entries, the end-of-archive blocks) is copied as it was, so only that entry's size, checksum and
 * data change. Used on an archive readTar already accepted.
 */
export function replaceTarEntry(tar: Buffer, name: string, data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let longName: string | undefined;
  let replaced = false;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((x) => x === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const end = at + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (at + BLOCK + size > tar.length) throw new TarError('a tar entry runs past the end of the archive');
    const prefix = text(header, 345, 155);
    const entryName = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = type === 'L' ? text(tar, at + BLOCK, size) : undefined;
    if (!replaced && entryName === name && (type === '0' || type === '\0')) {
      if (data.length > 0o77777777777) throw new TarError(`${name} is too large for a tar header`);
      const fresh = Buffer.from(header);
      fresh.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
      setChecksum(fresh);
      parts.push(fresh, data, padding(data.length));
      replaced = true;
    } else {
      parts.push(tar.subarray(at, end));
    }
    at = end;
  }
  if (!replaced) throw new TarError(`the archive holds no ${name}`);
  parts.push(tar.subarray(at));
  return Buffer.concat(parts);
}

/** One regular file (root-owned, 0644, mtime 0) without the end-of-archive blocks. */
export function cutTarEntry(name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new TarError(`tar name ${name} is too long`);
  const header = Buffer.alloc(BLOCK);
  nameBytes.copy(header, 0);
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write('00000000000\0', 136, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write('root', 265, 'ascii');
  header.write('root', 297, 'ascii');
  setChecksum(header);
  return Buffer.concat([header, data, padding(data.length)]);
}
