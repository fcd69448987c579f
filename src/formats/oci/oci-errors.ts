/**
 * Errors in the distribution-spec shape `{"errors":[{code,message,detail}]}` that docker,
 * containerd, skopeo and cosign print. The mirror's own code and details go into `detail`.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
import type { MirrorErrorView, RenderedError } from '../types.js';
import type { OciPath } from './oci-path.js';

export function renderOciError(kind: OciPath['kind'] | undefined, error: MirrorErrorView): RenderedError {
  const code = distributionCode(kind, error);
  return {
    status: error.status,
    contentType: 'application/json',
    body: JSON.stringify({ errors: [{ code, message: error.message, detail: { code: error.code, ...error.details } }] }),
  };
}

function distributionCode(kind: OciPath['kind'] | undefined, error: MirrorErrorView): string {
  switch (error.code) {
    case 'NOT_FOUND':
    case 'UPSTREAM_NOT_FOUND':
    case 'OFFLINE_MISS':
      if (error.code === 'OFFLINE_MISS') return kind === 'blob' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
      return kind === 'blob' ? 'BLOB_UNKNOWN' : kind === 'manifest' || kind === 'referrers' ? 'MANIFEST_UNKNOWN' : 'NAME_UNKNOWN';
    case 'REPOSITORY_NOT_FOUND':
      return 'NAME_UNKNOWN';
    case 'BAD_PATH':
      // Bad tags/list paging parameters (oci-path.ts); the spec names no code: distribution's for n, the tag one for last.
      if (error.details.parameter === 'n') return 'PAGINATION_NUMBER_INVALID';
      if (error.details.parameter === 'last') return 'TAG_INVALID';
      return 'NAME_INVALID';
    case 'METHOD_NOT_ALLOWED':
      return 'UNSUPPORTED';
    case 'DIGEST_MISMATCH':
      return 'DIGEST_INVALID';
    case 'VERIFICATION_FAILED':
    case 'MALFORMED':
      return kind === 'manifest' ? 'MANIFEST_INVALID' : 'DENIED';
    case 'UPSTREAM_UNAVAILABLE':
    case 'UPSTREAM_TIMEOUT':
      return 'UNAVAILABLE';
    default:
      return 'UNKNOWN';
  }
}
