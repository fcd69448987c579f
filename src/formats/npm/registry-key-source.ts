/**
 * Where the upstream's registry keys come from: pinned in `trust.keys`, or the upstream's
 * own `/-/npm/v1/keys`, cached for an hour and refetched early when a packument names a
 * key id we have not seen (the registry rotated).
 */
import type { VerifyContext } from '../types.js';
import type { Packument } from './packument.js';
import { parseRegistryKeys, type RegistryKey } from './registry-keys.js';
import type { NpmTrust } from './trust.js';

const TTL_MS = 60 * 60 * 1000;
const MIN_REFRESH_MS = 5 * 60 * 1000;
const MAX_KEYS_BYTES = 256 * 1024;

export class RegistryKeySource {
  readonly #pinned: RegistryKey[] | undefined;
  #fetched: { keys: RegistryKey[]; at: number } | undefined;

  private constructor(pinned: RegistryKey[] | undefined) {
    this.#pinned = pinned;
  }

  static async create(repository: string, trust: NpmTrust, readTrustFile: (p: string) => Promise<Buffer>): Promise<RegistryKeySource> {
    if (trust.keys === undefined) return new RegistryKeySource(undefined);
    const doc = typeof trust.keys === 'string' ? JSON.parse((await readTrustFile(trust.keys)).toString('utf8')) : trust.keys;
    return new RegistryKeySource(parseRegistryKeys(doc, `repository ${repository} trust.keys`));
  }

  async keys(ctx: VerifyContext, doc: Packument): Promise<{ keys: RegistryKey[]; describe: string }> {
    if (this.#pinned) return { keys: this.#pinned, describe: `${this.#pinned.length} pinned key(s) in trust.keys` };
    const now = Date.now();
    const stale = !this.#fetched || now - this.#fetched.at > TTL_MS;
    const unknownKey = this.#fetched !== undefined && now - this.#fetched.at > MIN_REFRESH_MS && namesUnknownKey(doc, this.#fetched.keys);
    if (stale || unknownKey) {
      const res = await ctx.fetchAuxiliary('-/npm/v1/keys', MAX_KEYS_BYTES);
      let keys: RegistryKey[] = [];
      if (res.kind === 'fetched') {
        try {
          keys = parseRegistryKeys(JSON.parse(res.bytes.toString('utf8')), 'the upstream /-/npm/v1/keys');
        } catch {
          keys = [];
        }
      }
      this.#fetched = { keys, at: now };
    }
    const keys = this.#fetched!.keys;
    return { keys, describe: keys.length === 0 ? 'the upstream publishes no usable keys at /-/npm/v1/keys' : `${keys.length} key(s) from the upstream /-/npm/v1/keys` };
  }
}

function namesUnknownKey(doc: Packument, keys: RegistryKey[]): boolean {
  for (const v of Object.values(doc.versions ?? {})) {
    for (const s of v?.dist?.signatures ?? []) if (!keys.some((k) => k.keyid === s?.keyid)) return true;
  }
  return false;
}
