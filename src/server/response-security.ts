/**
 * What every response carries, and what none may show. The mirror serves upstream bytes on its
 * own origin, so a browser must never run them: nosniff stops content sniffing into HTML or
 * script, and the CSP sandboxes any document that still gets rendered (the mirror has no pages
 * of its own). Error bodies and public endpoints never show the mirror's internals: file system
 * paths (data and config directories) and credentials in URLs.
 */
import type { ServerResponse } from 'node:http';
import { MirrorError } from '../errors.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox; frame-ancestors 'none'",
};

const SECURITY_HEADER_ENTRIES = Object.entries(SECURITY_HEADERS);

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADER_ENTRIES) res.setHeader(name, value);
}

/**
 * Types a browser runs as a document or script. No format serves them, so when one reaches the
 * server (an upstream's header passed through) it is sent as a download instead.
 */
const ACTIVE_TYPE = /^\s*(?:text\/html|application\/xhtml\+xml|image\/svg\+xml|[a-z]+\/(?:x-)?(?:java|ecma)script|text\/xsl|application\/xslt\+xml)\s*(?:;|$)/i;

export function inertContentType(contentType: string): string {
  return ACTIVE_TYPE.test(contentType) ? 'application/octet-stream' : contentType;
}

/** The directories and secrets an error shown to a client must not name. */
export interface Internals {
  dirs: readonly string[];
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi;

/** `err` as a client may see it: the same code and status, with internal paths and URL credentials removed. */
export function publicError(err: MirrorError, internals: Internals): MirrorError {
  const scrub = (text: string): string => {
    let out = text.replace(URL_USERINFO, '$1');
    for (const dir of internals.dirs) if (dir.length > 1) out = out.split(dir).join('<internal>');
    return out;
  };
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err.details)) {
    // Details that only locate the mirror's own files are for the log.
    if (key === 'file' || key === 'dir') continue;
    details[key] = typeof value === 'string' ? scrub(value) : value;
  }
  const message = scrub(err.message);
  if (message === err.message && Object.keys(details).length === Object.keys(err.details).length
    && Object.entries(details).every(([k, v]) => v === err.details[k])) return err;
  return new MirrorError(err.code, message, details, { cause: err });
}
