/**
 * Where the upstream's registry keys come from, and what anchors them:
 * - pinned in `trust.keys` by the operator (anchor `pinned`);
 * - the upstream's own `/-/npm/v1/keys` under `anchor: first-use`: the first key set seen is
 *   pinned in the data directory and a different set is refused until the operator accepts it
 *   (anchor `first-use`);
 * - the upstream's own keys with nothing pinned, allowed under `verify: warn` only: keys the
 *   upstream serves prove nothing against that upstream (anchor `none`, so the signing ledger
 *   never signs with the primary key).
 * Upstream keys are asked for on every verification, not cached here: the core keeps what a
 * verification fetched beside the object and re-verifies stored bytes against that material first
 * (signature-material.ts), which a cache in the format would bypass and mix across upstreams.
 */
import { MirrorError } from '../../errors.js';
import type { TrustAnchor, VerifyContext, VerifyMode } from '../types.js';
import { parseRegistryKeys, type RegistryKey } from './registry-keys.js';
import type { NpmTrust } from './trust.js';

const MAX_KEYS_BYTES = 256 * 1024;
/** The name the upstream's key set is pinned under on first use (`countersign trust accept <repo> <name>`). */
export const FIRST_USE_PIN = 'npm-registry-keys';

export type RegistryKeys =
  | { ok: true; keys: RegistryKey[]; describe: string; anchor: TrustAnchor }
  | { ok: false; reason: string };

export interface KeySourceOptions {
  repository: string;
  trust: NpmTrust;
  verify: VerifyMode;
  anchor: 'pinned' | 'first-use';
  readTrustFile(path: string): Promise<Buffer>;
}

export class RegistryKeySource {
  readonly #pinned: RegistryKey[] | undefined;
  /** What anchors every key set this source hands out. */
  readonly anchor: TrustAnchor;

  private constructor(pinned: RegistryKey[] | undefined, anchor: TrustAnchor) {
    this.#pinned = pinned;
    this.anchor = anchor;
  }

  static async create(o: KeySourceOptions): Promise<RegistryKeySource> {
    if (o.trust.keys !== undefined) {
      const doc = typeof o.trust.keys === 'string' ? parseJson(await o.readTrustFile(o.trust.keys), o.repository, o.trust.keys) : o.trust.keys;
      try {
        return new RegistryKeySource(parseRegistryKeys(doc, `repository ${o.repository} trust.keys`), 'pinned');
      } catch (err) {
        throw new MirrorError('CONFIG_INVALID', `Repository "${o.repository}": ${(err as Error).message}`, { repository: o.repository }, { cause: err });
      }
    }
    if (o.anchor === 'first-use') return new RegistryKeySource(undefined, 'first-use');
    if (o.verify === 'require') {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${o.repository}": verify: require needs the upstream's registry keys pinned in trust.keys (a file or the document of its /-/npm/v1/keys), `
          + 'or anchor: first-use to pin the keys the upstream serves the first time and refuse any later change; '
          + 'keys taken from the upstream itself prove nothing against that upstream',
        { repository: o.repository },
      );
    }
    return new RegistryKeySource(undefined, 'none');
  }

  /**
   * Starts asking the upstream for its keys when none are pinned, so the request can overlap other
   * work; nothing is judged or pinned until `keys` is given the answer.
   */
  ask(ctx: VerifyContext): Promise<RegistryKey[]> | undefined {
    if (this.#pinned) return undefined;
    const asked = upstreamKeys(ctx);
    asked.catch(() => undefined);
    return asked;
  }

  /** The keys to verify with today, judged (and pinned on first use) here; `asked`: from `ask`. */
  async keys(ctx: VerifyContext, asked?: Promise<RegistryKey[]>): Promise<RegistryKeys> {
    if (this.#pinned) return { ok: true, keys: this.#pinned, describe: `${this.#pinned.length} pinned key(s) in trust.keys`, anchor: 'pinned' };
    const keys = await (asked ?? upstreamKeys(ctx));
    if (keys.length === 0) return { ok: true, keys, describe: 'the upstream publishes no usable keys at /-/npm/v1/keys', anchor: this.anchor };
    const describe = `${keys.length} key(s) from the upstream /-/npm/v1/keys`;
    if (this.anchor !== 'first-use') return { ok: true, keys, describe: `${describe}, pinned nowhere`, anchor: 'none' };
    // Asked on every verification: a changed set stays refused until the operator accepts it.
    const pin = ctx.firstUse(FIRST_USE_PIN, canonicalKeySet(keys));
    if (!pin.ok) return { ok: false, reason: `the upstream's registry keys changed: ${pin.reason}` };
    return { ok: true, keys, describe: `${describe}, pinned on first use ${new Date(pin.pinnedAt).toISOString()}`, anchor: 'first-use' };
  }
}

/** The upstream's `/-/npm/v1/keys`; nothing usable (absent, malformed) is no keys. */
async function upstreamKeys(ctx: VerifyContext): Promise<RegistryKey[]> {
  const res = await ctx.fetchAuxiliary('-/npm/v1/keys', MAX_KEYS_BYTES);
  if (res.kind !== 'fetched') return [];
  try {
    return parseRegistryKeys(JSON.parse(res.bytes.toString('utf8')), 'the upstream /-/npm/v1/keys');
  } catch {
    return [];
  }
}

/**
 * The key set as the bytes pinned on first use: what verification depends on (id, SPKI, expiry),
 * sorted, so a registry that reorders its list or reformats the JSON does not look changed.
 */
export function canonicalKeySet(keys: RegistryKey[]): Buffer {
  const entries = keys
    .map((k) => ({ keyid: k.keyid, key: k.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), expires: k.expires ?? null }))
    .sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : a.key < b.key ? -1 : 1));
  return Buffer.from(JSON.stringify(entries));
}

function parseJson(bytes: Buffer, repository: string, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": trust.keys file ${file} is not JSON: ${(err as Error).message}`, { repository, file }, { cause: err });
  }
}
