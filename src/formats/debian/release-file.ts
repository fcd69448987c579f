/**
 * The Release file of a suite: https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files
 * (apt 2.6 `debReleaseIndex::Load` in apt-pkg/deb/debmetaindex.cc for what apt reads).
 *
 * The text is verified before it is parsed here, but a signature says who wrote it, not that
 * it is well-formed: every listed path is checked (it becomes part of an upstream URL and of a
 * store path), hashes must have their algorithm's length, and an entry that fails is left out
 * of what the mirror serves (and reported) rather than trusted.
 */
import { Deb822Error, parseSingleParagraph, type Paragraph } from './deb822.js';
import { parseReleaseDate } from './release-date.js';

/** Hash list fields, weakest first, with their by-hash directory name and digest length. */
export const HASH_FIELDS = [
  { field: 'md5sum', byHash: 'MD5Sum', algorithm: 'md5', hexLength: 32, strong: false },
  { field: 'sha1', byHash: 'SHA1', algorithm: 'sha1', hexLength: 40, strong: false },
  { field: 'sha256', byHash: 'SHA256', algorithm: 'sha256', hexLength: 64, strong: true },
  { field: 'sha512', byHash: 'SHA512', algorithm: 'sha512', hexLength: 128, strong: true },
] as const;

export type HashAlgorithm = (typeof HASH_FIELDS)[number]['algorithm'];
export type ByHashType = (typeof HASH_FIELDS)[number]['byHash'];
export type StrongAlgorithm = 'sha256' | 'sha512';

export interface ReleaseEntry {
  /** Path relative to dists/<suite>/, e.g. "main/binary-amd64/Packages.xz". */
  name: string;
  size: number;
  hashes: Partial<Record<HashAlgorithm, string>>;
  /** The strongest listed hash: what the mirror checks the file against and stores it under. */
  strongest: { algorithm: StrongAlgorithm; byHash: 'SHA256' | 'SHA512'; digest: string };
}

export interface ParsedRelease {
  /** The text the upstream signed, lines without trailing whitespace, no final newline. */
  text: string;
  lines: string[];
  fields: Paragraph;
  date: Date | undefined;
  validUntil: Date | undefined;
  acquireByHash: boolean;
  /** Files with a strong hash and a safe path, by name. */
  entries: Map<string, ReleaseEntry>;
  /** Entries left out, and why. */
  skipped: { item: string; reason: string }[];
}

export type ReleaseParse = { ok: true; release: ParsedRelease } | { ok: false; reason: string };

const MAX_ENTRIES = 200_000;

export function parseRelease(text: string): ReleaseParse {
  let parsed: ReturnType<typeof parseSingleParagraph>;
  try {
    parsed = parseSingleParagraph(text);
  } catch (err) {
    if (err instanceof Deb822Error) return { ok: false, reason: `the Release file is malformed: ${err.message}` };
    throw err;
  }
  const { paragraph: fields, lines } = parsed;
  const skipped: { item: string; reason: string }[] = [];
  const byName = new Map<string, { size: number; hashes: Partial<Record<HashAlgorithm, string>> }>();
  let count = 0;
  for (const h of HASH_FIELDS) {
    const field = fields.get(h.field);
    if (!field) continue;
    for (const line of field.continuation) {
      if (++count > MAX_ENTRIES) return { ok: false, reason: `the Release file lists more than ${MAX_ENTRIES} hash lines` };
      const parts = line.split(/[ \t]+/);
      const [hex, sizeText, name] = parts;
      if (parts.length !== 3 || !hex || !sizeText || !name) {
        skipped.push({ item: line.slice(0, 80), reason: `a ${field.name} line is not "<hash> <size> <path>"` });
        continue;
      }
      const bad = unsafePath(name);
      if (bad) {
        skipped.push({ item: name.slice(0, 200), reason: bad });
        continue;
      }
      if (hex.length !== h.hexLength || !/^[0-9a-fA-F]+$/.test(hex) || !/^\d{1,15}$/.test(sizeText)) {
        skipped.push({ item: name, reason: `malformed ${field.name} hash or size` });
        continue;
      }
      const size = Number(sizeText);
      const known = byName.get(name) ?? { size, hashes: {} };
      if (known.size !== size) {
        skipped.push({ item: name, reason: 'the hash lists disagree about its size' });
        known.size = -1;
      }
      known.hashes[h.algorithm] = hex.toLowerCase();
      byName.set(name, known);
    }
  }
  const entries = new Map<string, ReleaseEntry>();
  for (const [name, { size, hashes }] of byName) {
    if (size < 0) continue;
    const strongest = hashes.sha512
      ? { algorithm: 'sha512' as const, byHash: 'SHA512' as const, digest: hashes.sha512 }
      : hashes.sha256
        ? { algorithm: 'sha256' as const, byHash: 'SHA256' as const, digest: hashes.sha256 }
        : undefined;
    if (!strongest) {
      skipped.push({ item: name, reason: 'listed with MD5Sum/SHA1 only, which are not strong enough' });
      continue;
    }
    entries.set(name, { name, size, hashes, strongest });
  }
  if (byName.size > 0 && entries.size === 0) return { ok: false, reason: 'the Release file lists no file with a SHA256 or SHA512 hash' };

  const date = optionalDate(fields, 'date');
  const validUntil = optionalDate(fields, 'valid-until');
  if (date === null) return { ok: false, reason: `the Release file has an unreadable Date "${fields.get('date')?.value}"` };
  if (validUntil === null) return { ok: false, reason: `the Release file has an unreadable Valid-Until "${fields.get('valid-until')?.value}"` };
  const acquireByHash = (fields.get('acquire-by-hash')?.value ?? '').toLowerCase() === 'yes';
  return { ok: true, release: { text, lines, fields, date, validUntil, acquireByHash, entries, skipped } };
}

/** `undefined` when absent, `null` when present but unreadable. */
function optionalDate(fields: Paragraph, key: string): Date | undefined | null {
  const field = fields.get(key);
  if (!field) return undefined;
  return parseReleaseDate(field.value) ?? null;
}

/** Why a listed path cannot be served, or undefined when it is a plain relative path. */
export function unsafePath(name: string): string | undefined {
  if (name.length > 1024) return 'the path is too long';
  if (name.startsWith('/')) return 'the path is absolute';
  if (/[\u0000-\u001f\u007f\\%?#]/.test(name)) return 'the path contains a control character, backslash, "%", "?" or "#"';
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'the path has an empty, "." or ".." segment';
  if (segments.some((s) => Buffer.byteLength(s) > 255)) return 'a path segment is too long';
  return undefined;
}
