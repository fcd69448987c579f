/**
 * The paths of a Debian archive (https://wiki.debian.org/DebianRepository/Format), as requests
 * and as store keys. Request paths arrive decoded and already checked by the server's safe-path
 * rules; they are still only matched, never trusted.
 *
 * Store keys: a suite's Release generation is kept under `dists/<suite>/InRelease`; every index
 * file under the by-hash name of its strongest hash, `dists/<suite>/<dir>/by-hash/<TYPE>/<hex>`,
 * so files of every generation live side by side and a generation's name for a file always
 * means the same bytes; pool files under their own path.
 */
import { encodePath } from '../encode-path.js';
import type { ByHashType } from './release-file.js';

export type DebianPath =
  | { kind: 'release'; suite: string; file: 'InRelease' | 'Release' | 'Release.gpg' }
  | { kind: 'by-hash'; suite: string; dir: string; type: ByHashType; digest: string }
  | { kind: 'index'; suite: string; name: string }
  | { kind: 'package'; path: string }
  | { kind: 'setup' }
  | { kind: 'invalid'; reason: string };

const BY_HASH = /^(?:(.+)\/)?by-hash\/(MD5Sum|SHA1|SHA256|SHA512)\/([0-9a-f]+)$/;
const HEX_LENGTH: Record<ByHashType, number> = { MD5Sum: 32, SHA1: 40, SHA256: 64, SHA512: 128 };

export function parseDebianPath(path: string): DebianPath {
  if (path === '' || path.endsWith('/')) return { kind: 'invalid', reason: 'directory listings are not served' };
  const segments = path.split('/');
  if (segments[0] === '-') {
    return path === '-/setup' ? { kind: 'setup' } : { kind: 'invalid', reason: `/-/${segments.slice(1).join('/')} is not served here` };
  }
  if (segments[0] !== 'dists') return segments.length >= 2 ? { kind: 'package', path } : { kind: 'invalid', reason: `${path} is not a path in a Debian archive` };
  // Suites are one segment (bookworm, bookworm-updates, bookworm-security); flat repositories are not served.
  // `#` marks the mirror's own store keys (package-lists.ts); no archive names an index file so.
  if (path.includes('#')) return { kind: 'invalid', reason: `${path} is not a file of a Debian archive` };
  const suite = segments[1];
  if (!suite || segments.length < 3) return { kind: 'invalid', reason: 'a path under dists/ names a suite and a file' };
  const rest = segments.slice(2).join('/');
  if (rest === 'InRelease' || rest === 'Release' || rest === 'Release.gpg') return { kind: 'release', suite, file: rest };
  const m = BY_HASH.exec(rest);
  if (m) {
    const type = m[2] as ByHashType;
    if (m[3]!.length !== HEX_LENGTH[type]) return { kind: 'invalid', reason: `${m[3]} is not a ${type} digest` };
    return { kind: 'by-hash', suite, dir: m[1] ?? '', type, digest: m[3]! };
  }
  return { kind: 'index', suite, name: rest };
}

export function generationPath(suite: string): string {
  return `dists/${suite}/InRelease`;
}

/** `dists/<suite>/<dir>/by-hash/<type>/<digest>`, the name a Release gives a file by its hash. */
export function byHashPath(suite: string, name: string, type: ByHashType, digest: string): string {
  const slash = name.lastIndexOf('/');
  const dir = slash < 0 ? '' : `${name.slice(0, slash)}/`;
  return `dists/${suite}/${dir}by-hash/${type}/${digest}`;
}

export function isGenerationPath(path: string): boolean {
  return /^dists\/[^/]+\/InRelease$/.test(path);
}

export function isIndexStorePath(path: string): boolean {
  return path.startsWith('dists/') && /\/by-hash\/(?:MD5Sum|SHA1|SHA256|SHA512)\/[0-9a-f]+$/.test(path);
}

/** Index files that list packages (Packages in binary-* directories, Sources in source/). */
export function listsPackages(storePath: string): boolean {
  return /\/(?:binary-[^/]+|source)\/by-hash\//.test(storePath);
}

/** For a stored pdiff Index (`…/Packages.diff/by-hash/…`), the `.diff` directory its patches live in. */
export function diffDirectory(storePath: string): string | undefined {
  return /^(dists\/[^/]+\/.+\.diff)\/by-hash\/[^/]+\/[0-9a-f]+$/.exec(storePath)?.[1];
}

export function upstreamPath(path: string): string {
  return encodePath(path);
}
