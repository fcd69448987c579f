/**
 * The trust epoch of a repository: one digest of everything a verification depends on besides
 * the bytes themselves — the verify mode, the anchor choice, the upstream's identity, the trust
 * configuration, the bytes of every trust file and directory the format read when it opened, and
 * what was pinned on first use. Every verification record and expectation carries the epoch it
 * was made under; one made under another epoch proves nothing today and is re-established before
 * anything it vouches for is served or signed again.
 */
import { createHash } from 'node:crypto';
import { redactUrl } from '../errors.js';

/** Records the trust material a format reads while it opens. */
export class TrustMaterial {
  readonly #files = new Map<string, string>();
  readonly #dirs = new Map<string, string[]>();

  /** Wraps a trust-file reader so every file read is part of the epoch. */
  readingFiles(read: (path: string) => Promise<Buffer>): (path: string) => Promise<Buffer> {
    return async (path) => {
      const bytes = await read(path);
      this.#files.set(path, createHash('sha256').update(bytes).digest('hex'));
      return bytes;
    };
  }

  /** Wraps a trust-directory lister so the set of names is part of the epoch. */
  listingDirs(list: (path: string) => Promise<string[]>): (path: string) => Promise<string[]> {
    return async (path) => {
      const names = await list(path);
      this.#dirs.set(path, [...names].sort());
      return names;
    };
  }

  /** A stable summary: trust file paths with their digests, directories with their listings. */
  summary(): { files: [string, string][]; dirs: [string, string[]][] } {
    const byKey = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    return { files: [...this.#files].sort(byKey), dirs: [...this.#dirs].sort(byKey) };
  }
}

export interface TrustEpochInput {
  mode: string;
  anchor: string;
  /** The upstream base URL (credentials and query are dropped: who we trust, not how we log in). */
  upstream: string;
  /** The repository's resolved `trust` block. */
  trust: unknown;
  material: TrustMaterial;
  /**
   * How many times the operator accepted changed first-use material (IndexStore.trustGeneration).
   * Pins themselves are not part of the epoch: pinning one more file's digest or the first keys
   * changes nothing that was verified before; forgetting a pin (accepting a change) does.
   */
  acceptedChanges: number;
}

export function trustEpoch(input: TrustEpochInput): string {
  const canonical = JSON.stringify({
    v: 2,
    mode: input.mode,
    anchor: input.anchor,
    upstream: redactUrl(input.upstream),
    trust: sortKeys(input.trust),
    material: input.material.summary(),
    acceptedChanges: input.acceptedChanges,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so the same configuration always gives the same epoch. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}
