/**
 * The .nuspec the flat container serves beside a package: the manifest at the package root
 * (https://learn.microsoft.com/en-us/nuget/api/package-base-address-resource#download-package-manifest-nuspec),
 * taken from the verified package itself, so it can never disagree with what was verified.
 * The package is upstream-controlled: the entry is inflated with a cap.
 */
import { inflateRawSync } from 'node:zlib';
import { entryData, parseZip } from './zip.js';

const MAX_NUSPEC_BYTES = 16 * 1024 * 1024;

export function nuspecOf(packageBytes: Buffer, id: string): Buffer {
  const layout = parseZip(packageBytes);
  const wanted = `${id}.nuspec`;
  const entries = layout.entries.filter((e) => !e.name.includes('/') && e.name.toLowerCase() === wanted);
  if (entries.length !== 1) throw new Error(`the package has ${entries.length} ${wanted} entries at its root, not one`);
  const entry = entries[0]!;
  if (entry.uncompressedSize > MAX_NUSPEC_BYTES) throw new Error(`${wanted} is larger than ${MAX_NUSPEC_BYTES} bytes`);
  const data = entryData(layout, entry);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method !== 8) throw new Error(`${wanted} uses compression method ${entry.method}`);
  return inflateRawSync(data, { maxOutputLength: MAX_NUSPEC_BYTES });
}
