/**
 * Checks every version's `dist.signatures` the way pacote does (lib/registry.js): the
 * message is `${name}@${version}:${String(ssri.parse(integrity))}`, ECDSA with SHA-256,
 * every signature must verify, and a key that expired before the version's publish time
 * does not count. A bad version is rejected on its own; the rest of the packument stands.
 * A signature is bound to the document it sits in: the version's `name` must be exactly the
 * packument's and its `version` exactly its key in `versions`, so a genuine signature for
 * `foo@1.0.0` replayed into `bar`'s packument vouches for nothing, and the org only ever signs
 * `${doc.name}@${version}`, the statement that was verified.
 */
import { verify as verifySignature } from 'node:crypto';
import type { RejectedItem, VouchedDigest } from '../types.js';
import { ssriString, versionIntegrity } from './integrity.js';
import { isObject, TARBALL_FILE, type Packument } from './packument.js';
import type { RegistryKey } from './registry-keys.js';

/** pacote's publish time for versions the packument gives no time for. */
const DEFAULT_PUBLISHED = Date.parse('2015-01-01T00:00:00.000Z');

export interface VersionCheck {
  verified: string[];
  rejected: RejectedItem[];
  /** Tarball digests of versions that may be served. */
  vouches: VouchedDigest[];
  keyIds: Set<string>;
}

export function checkVersions(doc: Packument, keys: RegistryKey[], opts: { vouchForRejected: boolean }): VersionCheck {
  const out: VersionCheck = { verified: [], rejected: [], vouches: [], keyIds: new Set() };
  for (const [version, v] of Object.entries(doc.versions ?? {})) {
    const reject = (reason: string): void => void out.rejected.push({ item: version, reason });
    if (!isObject(v) || !isObject(v.dist)) {
      reject('the version has no dist');
      continue;
    }
    const tokens = versionIntegrity(v.dist);
    if (tokens.length === 0) {
      reject('the version has no integrity or shasum');
      continue;
    }
    const file = tarballFile(v.dist.tarball);
    if (!file) {
      reject(`the tarball URL "${String(v.dist.tarball).slice(0, 200)}" has no valid file name`);
      continue;
    }
    const vouch = (): void => {
      for (const t of tokens) out.vouches.push({ path: `${doc.name}/-/${file}`, algorithm: t.algorithm, digest: t.hex });
    };
    const problem = bindingProblem(doc, version, v) ?? signatureProblem(doc, version, ssriString(tokens), v.dist.signatures, keys, out.keyIds);
    if (problem) {
      reject(problem);
      if (opts.vouchForRejected) vouch();
      continue;
    }
    out.verified.push(version);
    vouch();
  }
  return out;
}

/** Why the version does not belong where it sits (another package's or version's manifest), if it does not. */
function bindingProblem(doc: Packument, version: string, v: Record<string, unknown>): string | undefined {
  if (v.name !== doc.name) return `the version names package ${quote(v.name)}, not "${doc.name}" whose packument lists it`;
  if (v.version !== version) return `the version says it is ${quote(v.version)}, not "${version}" under which the packument lists it`;
  return undefined;
}

/** A hostile value, shown short. */
function quote(value: unknown): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value)).slice(0, 200);
}

function signatureProblem(doc: Packument, version: string, integrity: string, sigs: unknown, keys: RegistryKey[], used: Set<string>): string | undefined {
  if (!Array.isArray(sigs) || sigs.length === 0) return 'the upstream did not sign this version (no dist.signatures)';
  const message = Buffer.from(`${doc.name}@${version}:${integrity}`, 'utf8');
  const published = Date.parse(doc.time?.[version] ?? '') || DEFAULT_PUBLISHED;
  for (const s of sigs) {
    if (!isObject(s) || typeof s.keyid !== 'string' || typeof s.sig !== 'string') return 'a dist.signatures entry is malformed';
    const key = keys.find((k) => k.keyid === s.keyid);
    if (!key) return `signed by key ${s.keyid}, which the upstream's trusted keys do not include`;
    if (key.expires !== undefined && published >= key.expires) return `signed by key ${s.keyid}, which expired before the version was published`;
    let ok = false;
    try {
      ok = verifySignature('sha256', message, key.publicKey, Buffer.from(s.sig, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) return `the signature by key ${s.keyid} does not verify`;
    used.add(s.keyid);
  }
  return undefined;
}

export function tarballFile(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  let file: string;
  try {
    const { pathname } = new URL(url);
    file = decodeURIComponent(pathname.slice(pathname.lastIndexOf('/') + 1));
  } catch {
    return undefined;
  }
  return TARBALL_FILE.test(file) ? file : undefined;
}
