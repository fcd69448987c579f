/**
 * The operator's keyrings by group: `trust.keyrings` entries by groupId prefix (longest wins),
 * `trust.keyring` for every other group. A group no keyring covers has no author to trust.
 */
import { loadOpenPgpKeyring, type OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import { groupMatches } from './paths.js';
import type { MavenTrust } from './trust.js';

export interface PinnedKeyring {
  keyring: OpenPgpKeyring;
  /** The trust file it came from, for messages. */
  source: string;
}

export class GroupKeyrings {
  readonly #byPrefix: (PinnedKeyring & { prefix: string })[];
  readonly #fallback: PinnedKeyring | undefined;

  private constructor(byPrefix: (PinnedKeyring & { prefix: string })[], fallback?: PinnedKeyring) {
    this.#byPrefix = [...byPrefix].sort((a, b) => b.prefix.length - a.prefix.length);
    this.#fallback = fallback;
  }

  static async load(trust: MavenTrust, read: (path: string) => Promise<Buffer>): Promise<GroupKeyrings> {
    const loaded = new Map<string, OpenPgpKeyring>();
    const load = async (source: string): Promise<OpenPgpKeyring> => {
      let ring = loaded.get(source);
      if (!ring) loaded.set(source, (ring = await loadOpenPgpKeyring(await read(source), source)));
      return ring;
    };
    const byPrefix: (PinnedKeyring & { prefix: string })[] = [];
    for (const entry of trust.keyrings) {
      const keyring = await load(entry.keyring);
      for (const prefix of entry.groups) byPrefix.push({ prefix, keyring, source: entry.keyring });
    }
    const fallback = trust.keyring ? { keyring: await load(trust.keyring), source: trust.keyring } : undefined;
    return new GroupKeyrings(byPrefix, fallback);
  }

  get empty(): boolean {
    return this.#byPrefix.length === 0 && !this.#fallback;
  }

  /** The keyring that vouches for `group`'s authors, if the operator pinned one. */
  forGroup(group: string): PinnedKeyring | undefined {
    return this.#byPrefix.find((e) => groupMatches(group, e.prefix)) ?? this.#fallback;
  }
}
