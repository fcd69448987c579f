/**
 * The APKINDEX text (https://wiki.alpinelinux.org/wiki/Apk_spec#APKINDEX_Format) and .PKGINFO
 * (https://wiki.alpinelinux.org/wiki/Apk_spec#PKGINFO_Format). Upstream-shaped text: names and
 * versions become file names, so they are checked before use.
 */
export interface IndexedPackage {
  /** `<P>-<V>.apk`, the file name apk fetches. */
  fileName: string;
  /** SHA-1 of the control member (the package identity, from `C:Q1<base64>`), lowercase hex. */
  controlSha1: string;
}

export class ApkIndexError extends Error {
  override readonly name = 'ApkIndexError';
}

const SAFE_NAME = /^[A-Za-z0-9+_.@][A-Za-z0-9+_.@~-]{0,254}$/;

export function parseApkIndex(text: string): IndexedPackage[] {
  const out: IndexedPackage[] = [];
  for (const record of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of record.split('\n')) {
      const m = /^([A-Za-z]):(.*)$/.exec(line);
      if (m) fields.set(m[1]!, m[2]!);
    }
    const name = fields.get('P');
    const version = fields.get('V');
    const checksum = fields.get('C');
    if (!name && !version && !checksum) continue;
    if (!name || !version || !checksum) throw new ApkIndexError(`an APKINDEX record lacks P:, V: or C: (${name ?? '?'})`);
    const fileName = `${name}-${version}.apk`;
    if (!SAFE_NAME.test(fileName) || fileName.includes('..')) throw new ApkIndexError(`APKINDEX names a package file "${fileName}" this mirror does not serve`);
    const q1 = /^Q1([A-Za-z0-9+/]{27}=)$/.exec(checksum);
    if (!q1) throw new ApkIndexError(`${fileName} has a C: checksum that is not Q1 (SHA-1)`);
    out.push({ fileName, controlSha1: Buffer.from(q1[1]!, 'base64').toString('hex') });
  }
  return out;
}

/**
 * The APKINDEX text with each record's `S:` (package file size) replaced by `sizeOf` its file, added
 * when the record has none; every other byte is kept. apk-tools 3 matches a cached package file to
 * its index entry by name and size, so `S:` must be the size of the file the mirror serves.
 */
export function rewriteSizes(text: string, sizeOf: (fileName: string) => number): string {
  const out: string[] = [];
  let record: string[] = [];
  const flush = () => {
    // The last P:/V: of a record, as parseApkIndex reads them, so both name the same file.
    const field = (k: string) => {
      let value: string | undefined;
      for (const l of record) if (l.startsWith(`${k}:`)) value = l.slice(2);
      return value;
    };
    const name = field('P');
    const version = field('V');
    if (name !== undefined && version !== undefined) {
      const size = `S:${sizeOf(`${name}-${version}.apk`)}`;
      const at = record.findIndex((l) => l.startsWith('S:'));
      if (at >= 0) record[at] = size;
      else record.splice(record.findIndex((l) => l.startsWith('V:')) + 1, 0, size);
    }
    out.push(...record);
    record = [];
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      out.push(line);
    } else {
      record.push(line);
    }
  }
  flush();
  return out.join('\n');
}

/** `datahash = <sha256 hex>` from .PKGINFO, if the package has one. */
export function pkginfoDatahash(pkginfo: string): string | undefined {
  const m = /^datahash\s*=\s*([0-9a-fA-F]{64})\s*$/m.exec(pkginfo);
  return m?.[1]?.toLowerCase();
}
