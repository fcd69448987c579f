/**
 * A suite's generation: one verified upstream Release and the index files it names. The
 * mirror serves index files only by the digest the Release it serves lists, so a client never
 * gets a Release from one generation and an index from another.
 *
 * Generations are parsed from stored bytes that were verified before they were stored; the
 * parse is cached by digest, since every index request resolves through it.
 */
import { LRUCache } from 'lru-cache';
import type { ObjectRef, VouchedDigest } from '../types.js';
import { isClearSigned, splitClearSigned } from './clearsigned.js';
import { byHashPath, generationPath, upstreamPath } from './paths.js';
import { HASH_FIELDS, parseRelease, type ByHashType, type ParsedRelease, type ReleaseEntry } from './release-file.js';

export interface Generation {
  suite: string;
  sha256: string;
  release: ParsedRelease;
  /** Entries by `<dir>\0<by-hash type>\0<digest>`, for by-hash requests of any listed hash type. */
  byHash: Map<string, ReleaseEntry>;
}

export const INDEX_CONTENT_TYPE = 'application/octet-stream';
export const RELEASE_CONTENT_TYPE = 'text/plain; charset=utf-8';
const MAX_DECOMPRESSED_VIEW = 256 * 1024 * 1024;

/** The text of a stored InRelease (or of a Release stored in its place). */
export function releaseText(bytes: Buffer): { ok: true; text: string } | { ok: false; reason: string } {
  if (isClearSigned(bytes)) {
    const split = splitClearSigned(bytes);
    return split.ok ? { ok: true, text: split.value.text } : split;
  }
  const text = bytes.toString('utf8').split('\n').map((l) => l.replace(/[ \t\r]+$/, '')).join('\n').replace(/\n+$/, '');
  return { ok: true, text };
}

export class Generations {
  readonly #cache = new LRUCache<string, Generation>({ max: 64 });

  /** Parses the stored (verified) bytes of a suite's generation. */
  get(suite: string, sha256: string, bytes: Buffer): Generation {
    const key = `${suite}\0${sha256}`;
    const known = this.#cache.get(key);
    if (known) return known;
    const text = releaseText(bytes);
    if (!text.ok) throw new Error(`the stored Release of ${suite} cannot be read: ${text.reason}`);
    const parsed = parseRelease(text.text);
    if (!parsed.ok) throw new Error(`the stored Release of ${suite} cannot be read: ${parsed.reason}`);
    const generation = fromRelease(suite, sha256, parsed.release);
    this.#cache.set(key, generation);
    return generation;
  }

  /** The entry of a cached generation of `suite` stored at `storePath` (its strongest by-hash name). */
  findStored(suite: string, storePath: string): { generation: Generation; entry: ReleaseEntry } | undefined {
    for (const generation of this.#cache.values()) {
      if (generation.suite !== suite) continue;
      for (const entry of generation.release.entries.values()) {
        if (indexStorePath(suite, entry) === storePath) return { generation, entry };
      }
    }
    return undefined;
  }

  remember(generation: Generation): void {
    this.#cache.set(`${generation.suite}\0${generation.sha256}`, generation);
  }
}

export function fromRelease(suite: string, sha256: string, release: ParsedRelease): Generation {
  const byHash = new Map<string, ReleaseEntry>();
  for (const entry of release.entries.values()) {
    const dir = dirOf(entry.name);
    for (const h of HASH_FIELDS) {
      const digest = entry.hashes[h.algorithm];
      if (digest) byHash.set(`${dir}\0${h.byHash}\0${digest}`, entry);
    }
  }
  return { suite, sha256, release, byHash };
}

export function findByHash(g: Generation, dir: string, type: ByHashType, digest: string): ReleaseEntry | undefined {
  return g.byHash.get(`${dir}\0${type}\0${digest}`);
}

/** The suite's Release: InRelease upstream, or Release (+ Release.gpg) when there is none. */
export function generationRef(suite: string, pinned = false): ObjectRef {
  return {
    path: generationPath(suite),
    mutable: true,
    contentType: RELEASE_CONTENT_TYPE,
    upstreamPath: upstreamPath(`dists/${suite}/InRelease`),
    upstreamFallbacks: [upstreamPath(`dists/${suite}/Release`)],
    ...(pinned ? { pinned } : {}),
  };
}

/**
 * An index file of a generation, stored by its strongest hash; fetched by-hash when the upstream
 * offers it. Named by the SHA-256 the verified Release lists, so a client takes a cold index file
 * as the mirror downloads it (the core withholds its end until it matches), not after.
 */
export function indexRef(g: Generation, entry: ReleaseEntry): ObjectRef {
  const path = indexStorePath(g.suite, entry);
  const plain = upstreamPath(`dists/${g.suite}/${entry.name}`);
  return {
    path,
    mutable: false,
    contentType: INDEX_CONTENT_TYPE,
    upstreamPath: g.release.acquireByHash ? upstreamPath(path) : plain,
    upstreamFallbacks: g.release.acquireByHash ? [plain] : [],
    ...(entry.hashes.sha256 ? { namedBySha256: entry.hashes.sha256 } : {}),
  };
}

/**
 * Debian lists the uncompressed Packages (apt needs its entry to find the index at all) but
 * publishes only compressed ones. The mirror serves such a file by decompressing a listed
 * sibling and checking the result against the Release, so every listed file is served.
 */
export function compressedSibling(g: Generation, entry: ReleaseEntry): ReleaseEntry | undefined {
  // Made in memory: huge files (Contents of main is ~1 GB) are fetched as they are instead.
  if (entry.size > MAX_DECOMPRESSED_VIEW || /\.(?:gz|xz|bz2|lzma|lz4|zst)$/.test(entry.name)) return undefined;
  return g.release.entries.get(`${entry.name}.gz`) ?? g.release.entries.get(`${entry.name}.xz`);
}

export function indexStorePath(suite: string, entry: ReleaseEntry): string {
  return byHashPath(suite, entry.name, entry.strongest.byHash, entry.strongest.digest);
}

/** Every strong digest the Release lists, under each by-hash name a client may ask for. */
export function releaseVouches(g: Generation): VouchedDigest[] {
  const out: VouchedDigest[] = [];
  for (const entry of g.release.entries.values()) {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const digest = entry.hashes[algorithm];
      if (!digest) continue;
      const type = algorithm === 'sha256' ? 'SHA256' : 'SHA512';
      out.push({ path: byHashPath(g.suite, entry.name, type, digest), algorithm, digest, size: entry.size });
    }
  }
  return out;
}

function dirOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}
