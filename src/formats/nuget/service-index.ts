/**
 * The NuGet v3 service index (https://learn.microsoft.com/en-us/nuget/api/service-index): which
 * resources the upstream offers, and the copy the mirror serves. Resources under the upstream base
 * point at the mirror; resources elsewhere (e.g. search on another host) are kept as they are; the
 * upstream's RepositorySignatures resources are replaced by the mirror's own, which NuGet accepts
 * only over https (RepositorySignatureResourceProvider), so it is listed only on an https mirror.
 * Upstream bytes are attacker-controlled: parsed as JSON with checked shapes, never trusted for more.
 */
import type { UpstreamBase } from './upstream-base.js';

export interface ServiceResource {
  '@id': string;
  '@type': string;
  [key: string]: unknown;
}

export interface ServiceIndex {
  version: string;
  resources: ServiceResource[];
  [key: string]: unknown;
}

export const REPOSITORY_SIGNATURES_TYPE = 'RepositorySignatures/5.0.0';
/** Resources the mirror passes through unchanged (never verified, stored or signed): search and autocomplete. */
const PASSED_THROUGH = /^(SearchQueryService|SearchAutocompleteService)(\/|$)/;
/** Where the mirror serves the n-th passed-through resource of the service index. */
export const PASS_THROUGH_PREFIX = '-/nuget/pass-through/';

/** The upstream URLs of the passed-through resources, in service index order (their mirror path is their position). */
export function passedThroughResources(index: ServiceIndex): string[] {
  return index.resources.filter((r) => PASSED_THROUGH.test(r['@type'])).map((r) => r['@id']);
}
const REGISTRATION_TYPES = ['RegistrationsBaseUrl/3.6.0', 'RegistrationsBaseUrl/3.4.0', 'RegistrationsBaseUrl/3.0.0-rc', 'RegistrationsBaseUrl/3.0.0-beta', 'RegistrationsBaseUrl'];

export function parseServiceIndex(bytes: Buffer): ServiceIndex {
  const doc = JSON.parse(bytes.toString('utf8')) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('the service index is not a JSON object');
  const { version, resources } = doc as Record<string, unknown>;
  if (typeof version !== 'string' || !version.startsWith('3.')) throw new Error('the service index has no version 3.x');
  if (!Array.isArray(resources)) throw new Error('the service index has no resources array');
  for (const r of resources) {
    if (typeof r !== 'object' || r === null || typeof (r as ServiceResource)['@id'] !== 'string' || typeof (r as ServiceResource)['@type'] !== 'string') {
      throw new Error('a service index resource has no string @id and @type');
    }
  }
  return doc as ServiceIndex;
}

/** Where the resources this mirror serves live, as paths relative to the upstream base (ending in "/"). */
export interface ResourceBases {
  flatContainer?: string;
  /** Every registration hive, the preferred one (semver 2, gzip) first. */
  registrations: string[];
}

export function resourceBases(index: ServiceIndex, base: UpstreamBase): ResourceBases {
  const relative = (type: string) => index.resources.filter((r) => r['@type'] === type).map((r) => base.relative(r['@id'])).find((p): p is string => p !== undefined);
  const asDir = (p: string) => (p === '' || p.endsWith('/') ? p : `${p}/`);
  const flat = usable(relative('PackageBaseAddress/3.0.0'));
  const registrations = [...new Set(REGISTRATION_TYPES.map((t) => usable(relative(t))).filter((p): p is string => p !== undefined).map(asDir))];
  return { ...(flat !== undefined ? { flatContainer: asDir(flat) } : {}), registrations };
}

/**
 * A base from the (attacker-controlled) service index becomes part of store keys: only plain
 * segments are used (letters, digits, `._~-`, never "." or ".."); any other base is ignored.
 */
function usable(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const segments = path.replace(/\/$/, '').split('/');
  if (path === '') return '';
  return segments.every((s) => /^[A-Za-z0-9._~-]+$/.test(s) && s !== '.' && s !== '..') ? path : undefined;
}

/** The served copy: URLs under the upstream base rewritten, our RepositorySignatures resource (https only). */
export function servedServiceIndex(index: ServiceIndex, base: UpstreamBase, repositoryUrl: string): ServiceIndex {
  const passed = passedThroughResources(index);
  const resources: ServiceResource[] = index.resources
    .filter((r) => !r['@type'].startsWith('RepositorySignatures/'))
    .map((r) => {
      // Search and autocomplete, wherever the upstream hosts them, are reached through the mirror.
      const n = PASSED_THROUGH.test(r['@type']) ? passed.indexOf(r['@id']) : -1;
      return { ...r, '@id': n >= 0 ? `${repositoryUrl}/${PASS_THROUGH_PREFIX}${n}` : base.rewrite(r['@id'], repositoryUrl) };
    });
  if (repositoryUrl.startsWith('https://')) {
    resources.push({
      '@id': `${repositoryUrl}/-/nuget/repository-signatures.json`,
      '@type': REPOSITORY_SIGNATURES_TYPE,
      comment: 'The certificates this mirror signs packages with (repository signatures and countersignatures).',
    });
  }
  return { ...index, resources };
}
