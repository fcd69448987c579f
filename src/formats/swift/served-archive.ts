/**
 * The source archive clients get: the upstream archive with every package manifest
 * (`Package.swift`, `Package@swift-*.swift` at the package root) signed by the organisation,
 * each carrying SwiftPM's appended signature line over its content, the upstream's own signature
 * line removed first (SE-0391; SwiftPM's PackageRegistryCommand+Publish signs manifests this way
 * before it archives them). The rest of the archive is copied entry for entry (zip-writer.ts), so
 * the same upstream archive and signatures always give the same bytes.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import type { DeriveContext } from '../types.js';
import { verifyCmsSignature } from './cms-signature.js';
import { SIGNATURE_FORMAT, signCms } from './cms-sign.js';
import { appendSignature, decodeSignature, ManifestError, manifestToolsVersion, splitManifest } from './manifest-signature.js';
import { entryContent, readZip, ZipFormatError, type ZipArchive, type ZipEntry } from './zip-archive.js';
import { rewriteZip } from './zip-writer.js';

/** Manifests are source files; anything larger is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface PackageManifests {
  /** The directory every entry sits in (`LinkedList/`), as `swift package archive-source` makes it, or ''. */
  prefix: string;
  /** Root manifests by file name (`Package.swift`, `Package@swift-5.8.swift`). */
  entries: Map<string, ZipEntry>;
}

export function packageManifests(zip: ZipArchive, path: string): PackageManifests {
  const first = zip.entries[0]?.name.split('/')[0];
  const prefix = first !== undefined && zip.entries.every((e) => e.name.startsWith(`${first}/`)) ? `${first}/` : '';
  const entries = new Map<string, ZipEntry>();
  for (const entry of zip.entries) {
    if (!entry.name.startsWith(prefix)) continue;
    const file = entry.name.slice(prefix.length);
    if (!file.includes('/') && manifestToolsVersion(file) !== undefined) entries.set(file, entry);
  }
  if (!entries.has('Package.swift')) throw new ZipFormatError(`${path} has no Package.swift at its root${prefix ? ` (${prefix})` : ''}`);
  return { prefix, entries };
}

export async function buildServedArchive(ctx: DeriveContext, path: string, upstream: Buffer): Promise<Buffer> {
  const zip = readZip(upstream);
  const manifests = packageManifests(zip, path);
  const replacements = new Map<string, Buffer>();
  for (const entry of manifests.entries.values()) {
    const parts = splitManifest(entryContent(zip, entry, MAX_MANIFEST_BYTES), `${path}: ${entry.name}`);
    const { signature } = await signCms(ctx, `${path}:${entry.name}`, parts.content);
    replacements.set(entry.name, appendSignature(parts.content, signature));
  }
  return rewriteZip(zip, replacements);
}

/**
 * The upstream's manifest signatures in a signed release, checked as SwiftPM checks them
 * (SignatureValidation.swift: a signed source archive requires signed manifests): each root
 * manifest signed in cms-1.0.0, verifying over its content and chaining to `roots`.
 */
export function checkUpstreamManifests(upstream: Buffer, path: string, roots: readonly X509Certificate[]): { ok: true; by: string[] } | { ok: false; reason: string; malformed: boolean } {
  try {
    const zip = readZip(upstream);
    const by: string[] = [];
    for (const entry of packageManifests(zip, path).entries.values()) {
      const parts = splitManifest(entryContent(zip, entry, MAX_MANIFEST_BYTES), `${path}: ${entry.name}`);
      if (!parts.signed) return { ok: false, reason: `${path}: ${entry.name} is not signed, while its release is`, malformed: false };
      if (parts.format !== SIGNATURE_FORMAT) return { ok: false, reason: `${path}: ${entry.name} is signed in "${parts.format}", not ${SIGNATURE_FORMAT}`, malformed: false };
      let signature: Buffer;
      try {
        signature = decodeSignature(parts.signatureBase64, entry.name);
      } catch (err) {
        return { ok: false, reason: `${path}: ${(err as Error).message}`, malformed: false };
      }
      const check = verifyCmsSignature(signature, createHash('sha256').update(parts.content).digest('hex'), roots);
      if (!check.ok) return { ok: false, reason: `${path}: the signature of ${entry.name} does not verify: ${check.reason}`, malformed: false };
      by.push(`manifest:${entry.name}:cms:${check.leaf.fingerprint256}`);
    }
    return { ok: true, by };
  } catch (err) {
    if (err instanceof ZipFormatError || err instanceof ManifestError) return { ok: false, reason: err.message, malformed: true };
    throw err;
  }
}

/** A manifest as it sits in the served archive (so both carry the same bytes). */
export function manifestFromArchive(served: Buffer, path: string, file: string): Buffer | undefined {
  const zip = readZip(served);
  const entry = packageManifests(zip, path).entries.get(file);
  return entry ? entryContent(zip, entry, MAX_MANIFEST_BYTES * 2) : undefined;
}
