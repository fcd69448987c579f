/**
 * The source archive clients get: the upstream archive with every package manifest
 * (`Package.swift`, `Package@swift-*.swift` at the package root) signed by the organisation,
 * each carrying SwiftPM's appended signature line over its content, the upstream's own signature
 * line removed first (SE-0391; SwiftPM's PackageRegistryCommand+Publish signs manifests this way
 * before it archives them). The rest of the archive is copied entry for entry (zip-writer.ts), so
 * the same upstream archive and signatures always give the same bytes.
 */
import type { DeriveContext } from '../types.js';
import { signCms } from './cms-sign.js';
import { appendSignature, manifestToolsVersion, splitManifest } from './manifest-signature.js';
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

/** A manifest as it sits in the served archive (so both carry the same bytes). */
export function manifestFromArchive(served: Buffer, path: string, file: string): Buffer | undefined {
  const zip = readZip(served);
  const entry = packageManifests(zip, path).entries.get(file);
  return entry ? entryContent(zip, entry, MAX_MANIFEST_BYTES * 2) : undefined;
}
