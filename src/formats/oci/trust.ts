/**
 * The `trust` block of an oci repository: how the mirror names what it signs, how it names
 * images upstream, and which upstream cosign keys it requires.
 */
import { z } from 'zod';

/** A docker reference prefix: host[:port][/path], lowercase. */
const REFERENCE_PREFIX = /^[a-z0-9.-]+(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

export const ociTrustSchema = z.strictObject({
  /**
   * The `docker-reference` identities each signature is made for, one signature layer each:
   * `mirror` = how clients name the image at this mirror (`<publicUrl host>/<repository>/<image>`),
   * `upstream` = the upstream's canonical name (`docker.io/library/alpine`), or a literal prefix
   * the image name is appended to. cosign ignores the identity; containers/image policies match it.
   */
  signedIdentities: z
    .array(z.union([z.literal('mirror'), z.literal('upstream'), z.string().regex(REFERENCE_PREFIX, 'must be a docker reference prefix like registry.example.org/team')]))
    .min(1)
    .default(['mirror', 'upstream']),
  /** The upstream's canonical registry name in `upstream` identities (default: its host; docker.io for Docker Hub). */
  upstreamRegistry: z.string().regex(/^[a-z0-9.-]+(?::\d{1,5})?$/).optional(),
  /** Prefix for single-component image names upstream (Docker Hub: "library"); "" for none. Default: "library" for Docker Hub only. */
  officialPrefix: z.string().regex(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*)?$/).optional(),
  /**
   * PEM public key file(s) (relative to the config file) of the upstream's cosign key-pair
   * signatures. When set, every manifest must carry a `sha256-<hex>.sig` signature by one of
   * them (or be named by a signed index); the verified signatures are served next to the org's.
   * Without it manifests are checked against their digest only.
   */
  cosignKeys: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});

export type OciTrust = z.output<typeof ociTrustSchema>;
