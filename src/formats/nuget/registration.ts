/**
 * Registration documents (https://learn.microsoft.com/en-us/nuget/api/registration-base-url-resource):
 * index, pages and leaves. The served copy has every URL under the upstream base (`@id`,
 * `packageContent`, `registration`, page links) pointed at the mirror. Where a catalog entry
 * publishes `packageHash` (base64, `packageHashAlgorithm` SHA512 by default), it vouches for the
 * .nupkg it names: the core checks the package bytes against it before anything parses them.
 * The "-gz" hives are stored gzip-compressed upstream and served with Content-Encoding: gzip
 * whatever the request asks: those bytes are inflated (bounded) here. Attacker-controlled JSON.
 */
import { inflateAll, outputCap } from '../bounded-inflate.js';
import type { VouchedDigest } from '../types.js';
import type { UpstreamBase } from './upstream-base.js';

const MAX_DEPTH = 64;

/** The JSON text of a registration response, inflated when the upstream sent it gzip-encoded. */
export async function registrationText(bytes: Buffer): Promise<string> {
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const plain = gzip ? await inflateAll(bytes, 'gzip', outputCap(bytes.length)) : bytes;
  return plain.toString('utf8');
}

export function parseRegistration(text: string): Record<string, unknown> {
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('the registration document is not a JSON object');
  return doc as Record<string, unknown>;
}

/** Every string under the upstream base rewritten to the mirror, recursively. */
export function rewriteUrls(value: unknown, base: UpstreamBase, repositoryUrl: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('the registration document is nested too deeply');
  if (typeof value === 'string') return base.rewrite(value, repositoryUrl);
  if (Array.isArray(value)) return value.map((v) => rewriteUrls(v, base, repositoryUrl, depth + 1));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteUrls(v, base, repositoryUrl, depth + 1)]));
  }
  return value;
}

const HASH_ALGORITHMS: Record<string, VouchedDigest['algorithm']> = { sha512: 'sha512', sha384: 'sha384', sha256: 'sha256' };

/** The package hashes leaves in `doc` publish, for the .nupkg paths they name under the upstream base. */
export function packageHashes(doc: Record<string, unknown>, base: UpstreamBase): VouchedDigest[] {
  const out: VouchedDigest[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      node.forEach((n) => visit(n, depth + 1));
      return;
    }
    const o = node as Record<string, unknown>;
    const entry = o.catalogEntry;
    if (typeof o.packageContent === 'string' && typeof entry === 'object' && entry !== null) {
      const { packageHash, packageHashAlgorithm } = entry as Record<string, unknown>;
      const path = base.relative(o.packageContent);
      const algorithm = HASH_ALGORITHMS[(typeof packageHashAlgorithm === 'string' ? packageHashAlgorithm : 'SHA512').toLowerCase()];
      const digest = typeof packageHash === 'string' ? Buffer.from(packageHash, 'base64') : undefined;
      const decoded = path === undefined ? undefined : safeDecode(path);
      if (decoded && algorithm && digest && digest.length > 0) out.push({ path: decoded, algorithm, digest: digest.toString('hex') });
    }
    Object.values(o).forEach((v) => visit(v, depth + 1));
  };
  visit(doc, 0);
  return out;
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
