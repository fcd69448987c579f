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
import { indexRef, indexStorePath, type Generation } from './generation.js';
import { listsPackages } from './paths.js';
import type { ReleaseEntry } from './release-file.js';

const MARK = '#packages';
/** Package lists remembered per suite (Debian's bookworm lists ~100 index files, a handful of them Packages). */
const MAX_LISTS_PER_SUITE = 256;

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

/** The package list of a generation's index file: fetched from where that variant of it is. */
export function packageListRef(g: Generation, entry: ReleaseEntry): ObjectRef {
  const ref = indexRef(g, listEntry(g, entry));
  return { ...ref, path: packageListPath(ref.path) };
}

/** What a verified index file vouches for its package list: the listed variant's digest in the Release. */
export function packageListVouch(g: Generation, entry: ReleaseEntry): VouchedDigest {
  const list = listEntry(g, entry);
  return { path: packageListPath(indexStorePath(g.suite, list)), algorithm: list.strongest.algorithm, digest: list.strongest.digest, size: list.size };
}

/**
 * The package lists of the index files clients were served, per suite, for the generation
 * served now: a pool file requires them (fetched only while nothing vouches for it yet).
 * In memory only: after a restart, the first index request of a suite (apt-get update, all
 * hits) names them again, and lists already parsed vouch from the store meanwhile.
 */
export class ServedPackageLists {
  readonly #bySuite = new Map<string, { generation: string; lists: Map<string, ObjectRef> }>();

  /** Whether `entry` of `g` has a package list read lazily: a Packages or Sources of a by-hash upstream. */
  static lazy(g: Generation, entry: ReleaseEntry): boolean {
    return g.release.acquireByHash && listsPackages(indexStorePath(g.suite, entry));
  }

  /** A client was served `entry` of generation `g` (whose index verified: its list is vouched for). */
  served(g: Generation, entry: ReleaseEntry): void {
    if (!ServedPackageLists.lazy(g, entry)) return;
    let suite = this.#bySuite.get(g.suite);
    if (!suite || suite.generation !== g.sha256) {
      // A new generation is served: the previous one's lists may leave the upstream.
      suite = { generation: g.sha256, lists: new Map() };
      this.#bySuite.set(g.suite, suite);
    }
    this.#add(suite.lists, packageListRef(g, entry));
  }

  /** An index file of `g` verified (fetched for a client, or with its generation as a companion). */
  verified(g: Generation, entry: ReleaseEntry): void {
    if (!ServedPackageLists.lazy(g, entry)) return;
    const suite = this.#bySuite.get(g.suite);
    if (suite) this.#add(suite.lists, packageListRef(g, entry));
    else this.#bySuite.set(g.suite, { generation: g.sha256, lists: new Map([[packageListRef(g, entry).path, packageListRef(g, entry)]]) });
  }

  /** Every list a pool file may be named by. */
  all(): ObjectRef[] {
    return [...this.#bySuite.values()].flatMap((s) => [...s.lists.values()]);
  }

  #add(lists: Map<string, ObjectRef>, ref: ObjectRef): void {
    lists.delete(ref.path);
    lists.set(ref.path, ref);
    if (lists.size > MAX_LISTS_PER_SUITE) lists.delete(lists.keys().next().value!);
  }
}
