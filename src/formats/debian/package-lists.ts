/**
 * Lazy vouching for pool files. `apt-get update` needs only the index files, each checked against
 * the verified Release: parsing Debian's main Packages (63,000 stanzas, xz in WebAssembly) inside
 * that request made a cold update 2–3× slower than a direct one. So the index file is served as
 * soon as its digest matches, and its *package list* — the same index in its gzip variant (see
 * listEntry), stored under `<that variant's store path>#packages` — is fetched, checked against
 * the digest the verified index vouched for it (the Release's), and parsed when the first pool
 * file is asked for (the pool file's `requires`). Until then no pool file verifies: the core
 * checks a pool file's bytes against the vouched digests before it is served or stored, and a
 * pool file nothing vouches for is refused. The first pool file after a new revision waits for
 * this (about 1 s for Debian's main), instead of every `apt-get update`.
 *
 * Only for upstreams that publish index files by hash (Acquire-By-Hash: yes, as Debian and Ubuntu
 * do): a list is fetched by the hash its Release names, so it is still there when read later.
 * Without by-hash an index file may change under its name in between, so the pool is vouched for
 * from the index file at once, as it was fetched.
 *
 * The same mechanism as RPM's `packages: keep` (src/formats/rpm/package-list.ts). `#` never
 * appears in a path this repository serves (paths.ts refuses it under dists/), so a package list
 * is never confused with anything the upstream or a client names.
 */
import type { ObjectRef, VouchedDigest } from '../types.js';
import { indexStorePath, type Generation } from './generation.js';
import { listsPackages, upstreamPath } from './paths.js';
import type { ReleaseEntry } from './release-file.js';

const MARK = '#packages';

export function packageListPath(indexStorePath: string): string {
  return `${indexStorePath}${MARK}`;
}

/** The index store path a package-list path stands for, or undefined for any other path. */
export function indexOfPackageList(path: string): string | undefined {
  return path.endsWith(MARK) ? path.slice(0, -MARK.length) : undefined;
}

/**
 * The variant of an index file its package list is read from: the gzip one when the Release lists
 * it (zlib is native; xz here is WebAssembly, 3× slower on Debian's main Packages: 1.6 s against
 * 0.6 s), else the file itself. Every variant is vouched for by the same verified Release.
 */
export function listEntry(g: Generation, entry: ReleaseEntry): ReleaseEntry {
  const base = entry.name.replace(/\.(?:gz|xz|bz2|lzma|lz4|zst)$/, '');
  return g.release.entries.get(`${base}.gz`) ?? entry;
}

/** What a verified index file vouches for its package list: the listed variant's digest in the Release. */
export function packageListVouch(g: Generation, entry: ReleaseEntry): VouchedDigest {
  const list = listEntry(g, entry);
  return { path: packageListPath(indexStorePath(g.suite, list)), algorithm: list.strongest.algorithm, digest: list.strongest.digest, size: list.size };
}

/** Whether `entry` of `g` has a package list read lazily: a Packages or Sources of a by-hash upstream. */
export function readsListLazily(g: Generation, entry: ReleaseEntry): boolean {
  return g.release.acquireByHash && listsPackages(indexStorePath(g.suite, entry));
}

/**
 * What a pool file requires while nothing vouches for it: every package list a verified index
 * vouched for under today's trust (the store names them, so they are found after a restart and
 * by every process alike), each fetched from the upstream's by-hash copy it is named after.
 */
export const POOL_REQUIRES: NonNullable<ObjectRef['requiresVouched']> = {
  mark: MARK,
  ref: (path) => {
    const index = indexOfPackageList(path)!;
    const sha256 = /\/by-hash\/SHA256\/([0-9a-f]{64})$/.exec(index)?.[1];
    return { path, mutable: false, contentType: 'application/octet-stream', upstreamPath: upstreamPath(index), ...(sha256 ? { namedBySha256: sha256 } : {}) };
  },
};
