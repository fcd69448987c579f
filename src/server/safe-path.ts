/**
 * Request paths are attacker-controlled. They are checked on the raw (still encoded) form
 * and again after decoding, and refused before anything touches the disk or the upstream.
 */
import { MirrorError } from '../errors.js';
import type { PathPolicy } from '../formats/types.js';

const MAX_PATH_LENGTH = 4096;
const MAX_SEGMENT_LENGTH = 255;
// Encoded "/", "\", NUL and "." are how traversal hides from a naive check.
const FORBIDDEN_ENCODED = /%(2f|5c|00|2e)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
// npm's scoped names travel as "@scope%2fname": that one encoded slash, right after a scope, is a separator.
const SCOPED_NAME = /(\/@[A-Za-z0-9._~-]+)%2[fF](?=[A-Za-z0-9._~-])/g;

export interface SafePath {
  /** Decoded segments, none empty, none "." or "..". */
  segments: string[];
  /** Query string without "?" (not part of the object name). */
  query: string;
}

export function parseSafePath(rawUrl: string, policy: PathPolicy = {}): SafePath {
  const q = rawUrl.indexOf('?');
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  const bad = (reason: string): MirrorError => new MirrorError('BAD_PATH', `Refused path: ${reason}`, { object: truncate(raw) });
  if (!raw.startsWith('/')) throw bad('it does not start with "/"');
  if (raw.length > MAX_PATH_LENGTH) throw bad(`it is longer than ${MAX_PATH_LENGTH} characters`);
  if (raw.includes('\\')) throw bad('it contains a backslash');
  const scoped = policy.scopedEncodedSlash ? raw.replace(SCOPED_NAME, '$1/') : raw;
  if (FORBIDDEN_ENCODED.test(scoped)) throw bad('it contains an encoded slash, backslash, dot or NUL');
  const parts = scoped.slice(1).split('/');
  // A trailing slash names a directory; keep it visible to the format as an empty last segment.
  const trailing = parts.length > 1 && parts[parts.length - 1] === '';
  if (trailing) parts.pop();
  const segments: string[] = [];
  for (const part of parts) {
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      throw bad('it contains invalid percent-encoding');
    }
    if (seg === '' && !(parts.length === 1)) throw bad('it contains an empty segment');
    if (seg === '.' || seg === '..') throw bad('it contains a "." or ".." segment');
    if (CONTROL.test(seg)) throw bad('it contains a control character');
    if (seg.includes('/') || seg.includes('\\')) throw bad('a segment decodes to a slash');
    if (Buffer.byteLength(seg) > MAX_SEGMENT_LENGTH) throw bad(`a segment is longer than ${MAX_SEGMENT_LENGTH} bytes`);
    if (seg !== '') segments.push(seg);
  }
  if (trailing) segments.push('');
  return { segments, query };
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
