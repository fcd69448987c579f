/**
 * The upstream's own repository signing certificates, for `anchor: first-use` repositories that
 * pin none in `trust.certificates`: the fingerprints its RepositorySignatures resource lists
 * (https://learn.microsoft.com/en-us/nuget/api/repository-signatures-resource) are read again at
 * each verification and pinned the first time; a different list (an upstream that rotated, or
 * someone in between) is refused until the operator accepts it (`countersign trust accept`).
 * The resource is upstream-controlled JSON: only well-formed SHA-256 fingerprints are taken.
 */
import type { VerifyContext } from '../types.js';
import { parseServiceIndex } from './service-index.js';
import type { UpstreamBase } from './upstream-base.js';

const TYPES = ['RepositorySignatures/5.0.0', 'RepositorySignatures/4.9.0', 'RepositorySignatures/4.7.0'];
const SHA256_OID = '2.16.840.1.101.3.4.2.1';
const MAX_BYTES = 1024 * 1024;
export const FIRST_USE_PIN = 'nuget-repository-signatures';

export type UpstreamCertificates = { ok: true; fingerprints: Set<string> } | { ok: false; reason: string };

export async function upstreamRepositoryCertificates(ctx: VerifyContext, serviceIndexPath: string, base: UpstreamBase): Promise<UpstreamCertificates> {
  const stored = ctx.stored(serviceIndexPath);
  if (!stored) return { ok: false, reason: 'the upstream service index has not been fetched' };
  const index = parseServiceIndex(await stored.readAll());
  const resource = TYPES.map((t) => index.resources.find((r) => r['@type'] === t)).find(Boolean);
  if (!resource) return { ok: false, reason: 'the upstream lists no RepositorySignatures resource' };
  const path = base.relative(resource['@id']);
  if (path === undefined) return { ok: false, reason: `the upstream's RepositorySignatures resource ${resource['@id']} is not under the upstream` };
  const aux = await ctx.fetchAuxiliary(path, MAX_BYTES, { accept: 'application/json' });
  if (aux.kind === 'absent') return { ok: false, reason: `the upstream's RepositorySignatures resource answered ${aux.status}` };
  let fingerprints: string[];
  try {
    const doc = JSON.parse(aux.bytes.toString('utf8')) as { signingCertificates?: unknown };
    if (!Array.isArray(doc.signingCertificates)) throw new Error('no signingCertificates array');
    fingerprints = doc.signingCertificates.map((c: unknown) => {
      const fp = (c as { fingerprints?: Record<string, unknown> })?.fingerprints?.[SHA256_OID];
      if (typeof fp !== 'string' || !/^[0-9a-fA-F]{64}$/.test(fp)) throw new Error('a certificate has no SHA-256 fingerprint');
      return fp.toLowerCase();
    });
  } catch (err) {
    return { ok: false, reason: `the upstream's RepositorySignatures resource is malformed: ${(err as Error).message}` };
  }
  const set = new Set(fingerprints);
  const pin = ctx.firstUse(FIRST_USE_PIN, Buffer.from([...set].sort().join('\n'), 'utf8'));
  if (!pin.ok) return { ok: false, reason: pin.reason };
  return { ok: true, fingerprints: set };
}
