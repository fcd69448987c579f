/**
 * Manifest media types and Accept negotiation for the distribution API.
 * https://github.com/opencontainers/image-spec/blob/main/media-types.md
 * https://distribution.github.io/distribution/spec/manifest-v2-2/
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** Every manifest type the mirror serves, in the order it asks the upstream for them. */
export const MANIFEST_TYPES: readonly string[] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];
export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST]);

/**
 * The manifest types a client's Accept names, in MANIFEST_TYPES order; all of them when it
 * names none we know (no header, `*\/*`): the upstream then picks as for a modern client.
 */
export function negotiateManifestTypes(accept: string | undefined): string[] {
  if (!accept) return [...MANIFEST_TYPES];
  const named = new Set<string>();
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';');
    const t = (type ?? '').trim().toLowerCase();
    // q=0 means "not acceptable".
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) continue;
    if (MANIFEST_TYPES.includes(t)) named.add(t);
  }
  const known = MANIFEST_TYPES.filter((t) => named.has(t));
  return known.length > 0 ? known : [...MANIFEST_TYPES];
}
