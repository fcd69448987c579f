/**
 * Parses image manifests and indexes (OCI image-spec, Docker schema 2) just enough to know
 * their type and the descriptors they reference. Upstream bytes are attacker-controlled:
 * parsed defensively, never re-serialized (a manifest's digest is over its exact bytes).
 * https://github.com/opencontainers/image-spec/blob/main/manifest.md, …/image-index.md
 */
import { DOCKER_LIST, DOCKER_MANIFEST, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  /** Lowercase hex of the sha256 digest. */
  sha256: string;
  size: number;
}

export interface ParsedManifest {
  mediaType: string;
  /** Child manifests (indexes). */
  manifests: Descriptor[];
  /** Config and layers (image manifests). */
  blobs: Descriptor[];
}

export type ParseResult = { ok: true; manifest: ParsedManifest } | { ok: false; reason: string };

export function parseManifest(bytes: Buffer): ParseResult {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) return { ok: false, reason: `the manifest is over ${MAX_MANIFEST_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the manifest is not JSON' };
  }
  if (!isObject(doc)) return { ok: false, reason: 'the manifest is not a JSON object' };
  if (doc.schemaVersion !== 2) return { ok: false, reason: `unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)?.slice(0, 20)}` };
  const declared = doc.mediaType;
  if (declared !== undefined && (typeof declared !== 'string' || !MANIFEST_TYPES.includes(declared))) {
    return { ok: false, reason: `unsupported manifest mediaType ${JSON.stringify(declared).slice(0, 100)}` };
  }
  const isIndex = declared !== undefined ? INDEX_TYPES.has(declared) : Array.isArray(doc.manifests);
  const mediaType = declared ?? (isIndex ? OCI_INDEX : OCI_MANIFEST);
  if (isIndex) {
    const manifests = descriptors(doc.manifests, 'manifests');
    if (!Array.isArray(manifests)) return { ok: false, reason: manifests };
    return { ok: true, manifest: { mediaType, manifests, blobs: [] } };
  }
  const config = descriptors([doc.config], 'config');
  if (!Array.isArray(config)) return { ok: false, reason: config };
  const layers = descriptors(doc.layers ?? [], 'layers');
  if (!Array.isArray(layers)) return { ok: false, reason: layers };
  return { ok: true, manifest: { mediaType, manifests: [], blobs: [...config, ...layers] } };
}

/** The Content-Type for manifest bytes the mirror made or holds (its declared mediaType). */
export function manifestContentType(bytes: Buffer): string {
  const parsed = parseManifest(bytes);
  return parsed.ok ? parsed.manifest.mediaType : 'application/octet-stream';
}

export function isManifestType(contentType: string | undefined): boolean {
  return contentType !== undefined && [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].includes(contentType.split(';')[0]!.trim());
}

function descriptors(list: unknown, field: string): Descriptor[] | string {
  if (!Array.isArray(list)) return `the manifest's ${field} is not a list`;
  const out: Descriptor[] = [];
  for (const d of list) {
    if (!isObject(d)) return `a ${field} descriptor is not an object`;
    const digest = typeof d.digest === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(d.digest)?.[1] : undefined;
    if (!digest) return `a ${field} descriptor has an unsupported digest ${JSON.stringify(d.digest)?.slice(0, 100)}`;
    if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) return `a ${field} descriptor has an invalid size`;
    if (typeof d.mediaType !== 'string') return `a ${field} descriptor has no mediaType`;
    out.push({ mediaType: d.mediaType, sha256: digest, size: d.size });
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
