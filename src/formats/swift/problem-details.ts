import type { MirrorErrorView, RenderedError } from '../types.js';

/**
 * Errors as Swift registries report them (Registry.md §3.3): RFC 7807 problem details, with
 * `Content-Version: 1` like every other registry response. SwiftPM shows `detail`.
 */
export function problemDetails(error: MirrorErrorView): RenderedError {
  const body = { type: 'about:blank', title: error.code, status: error.status, detail: error.message, ...error.details };
  return { status: error.status, contentType: 'application/problem+json', body: JSON.stringify(body), headers: { 'content-version': '1' } };
}
