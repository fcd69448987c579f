/**
 * The distribution-spec grammar of image names and tags, in one place for every parser of
 * attacker-controlled references here (request paths, tags/list paging, trust settings).
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
 */

/** One `/`-separated component of an image name. */
export const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
