/**
 * Distribution API paths below `/v2/<repository>/` (DSPEC "Endpoints"): `<name>/manifests/<ref>`,
 * `<name>/blobs/<digest>`, `<name>/tags/list[?n=&last=]`, `<name>/referrers/<digest>`, each maybe
 * followed by the request's query (src/server/distribution-route.ts distributionPath). Request
 * paths are attacker-controlled: names, tags and digests are checked against the spec's grammar.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
 */
import { NAME_COMPONENT, TAG } from './reference-grammar.js';
import { parseTagsQuery, type TagsPage } from './tags-page.js';

const SHA256 = /^sha256:([0-9a-f]{64})$/;
/** Store-path suffix naming the manifest types a tag was resolved for (see tagStorePath). */
const ACCEPT_SUFFIX = /;accept=([a-z0-9.+/,-]+)$/;

export type OciPath =
  | { kind: 'manifest'; name: string; tag: string }
  | { kind: 'manifest'; name: string; digest: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string; page?: TagsPage }
  | { kind: 'referrers'; name: string; digest: string };

/** `parameter`: a tags/list paging parameter is invalid (a bad request, not an unknown object). */
export type OciPathResult = { ok: true; path: OciPath } | { ok: false; reason: string; parameter?: 'n' | 'last' };

/**
 * Parses a request path (or a store path this format made: a tag may carry an `;accept=` suffix,
 * a tag list its page). Only tags/list reads the query; other parameters are ignored.
 */
export function parseOciPath(pathAndQuery: string): OciPathResult {
  const q = pathAndQuery.indexOf('?');
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const plain = path.replace(ACCEPT_SUFFIX, '');
  const segs = plain.split('/');
  if (segs.length < 3) return { ok: false, reason: 'not a distribution API path' };
  const last = segs[segs.length - 1]!;
  const verb = segs[segs.length - 2]!;
  const name = segs.slice(0, -2).join('/');
  const badName = checkName(name);
  if (badName) return { ok: false, reason: badName };
  switch (verb) {
    case 'manifests': {
      const digest = SHA256.exec(last)?.[1];
      if (digest) return { ok: true, path: { kind: 'manifest', name, digest } };
      if (last.includes(':')) return { ok: false, reason: `unsupported digest "${last.slice(0, 80)}" (sha256 only)` };
      if (!TAG.test(last)) return { ok: false, reason: `"${last.slice(0, 80)}" is not a valid tag` };
      return { ok: true, path: { kind: 'manifest', name, tag: last } };
    }
    case 'blobs':
    case 'referrers': {
      const digest = SHA256.exec(last)?.[1];
      if (!digest) return { ok: false, reason: `unsupported digest "${last.slice(0, 80)}" (sha256 only)` };
      return { ok: true, path: { kind: verb === 'blobs' ? 'blob' : 'referrers', name, digest } };
    }
    case 'tags': {
      if (last !== 'list') return { ok: false, reason: 'not a distribution API path' };
      const query = parseTagsQuery(q === -1 ? '' : pathAndQuery.slice(q + 1));
      if (!query.ok) return { ok: false, reason: query.reason, parameter: query.parameter };
      return { ok: true, path: query.page ? { kind: 'tags', name, page: query.page } : { kind: 'tags', name } };
    }
    default:
      return { ok: false, reason: 'not a distribution API path' };
  }
}

function checkName(name: string): string | undefined {
  if (name.length === 0) return 'the image name is empty';
  if (name.length > 255) return 'the image name is too long';
  for (const c of name.split('/')) if (!NAME_COMPONENT.test(c)) return `"${name.slice(0, 80)}" is not a valid image name`;
  return undefined;
}

/** Where a tag's manifest is stored: per set of acceptable types, since the upstream may answer each differently. */
export function tagStorePath(name: string, tag: string, types: readonly string[], allTypes: readonly string[]): string {
  const base = `${name}/manifests/${tag}`;
  return types.length === allTypes.length ? base : `${base};accept=${types.join(',')}`;
}

/**
 * Where an upstream signature manifest (`sha256-<hex>.sig` of a verified manifest) is kept: signature
 * material, never a manifest. Its own namespace (`<name>/-/…`, which no client path parses to: no
 * name component is `-`) means the vouch of the manifest it signs cannot make it a verified manifest
 * the mirror would serve and cosign (issue 9 finding 2: S′ = a genuine signature layer + an
 * attacker's config and layer).
 */
export function signatureStorePath(name: string, sha256: string): string {
  return `${name}/-/upstream-signature/sha256:${sha256}`;
}

const SIGNATURE_STORE_PATH = /^(.+)\/-\/upstream-signature\/sha256:([0-9a-f]{64})$/;

/** The image name and digest of a signatureStorePath, or undefined for any other path. */
export function parseSignatureStorePath(path: string): { name: string; sha256: string } | undefined {
  const m = SIGNATURE_STORE_PATH.exec(path);
  return m && !checkName(m[1]!) ? { name: m[1]!, sha256: m[2]! } : undefined;
}
