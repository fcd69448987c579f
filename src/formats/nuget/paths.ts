/**
 * What a request path names in a NuGet v3 feed, given where the service index says the flat
 * container and the registration hives are (paths relative to the upstream base, mirrored 1:1
 * under the repository). https://learn.microsoft.com/en-us/nuget/api/package-base-address-resource
 */
import type { ResourceBases } from './service-index.js';

/** Lowercased ids and normalized versions, as the flat container names them. */
const ID = /^[a-z0-9_][a-z0-9_.-]{0,255}$/;
const VERSION = /^[a-z0-9][a-z0-9.+-]{0,127}$/;

export type FeedPath =
  | { kind: 'versions'; id: string }
  | { kind: 'package'; id: string; version: string }
  | { kind: 'nuspec'; id: string; version: string; packagePath: string }
  | { kind: 'registration' }
  | { kind: 'unknown'; reason: string };

export function packagePath(flatContainer: string, id: string, version: string): string {
  return `${flatContainer}${id}/${version}/${id}.${version}.nupkg`;
}

export function feedPath(path: string, bases: ResourceBases): FeedPath {
  const flat = bases.flatContainer;
  if (flat !== undefined && path.startsWith(flat)) {
    const s = path.slice(flat.length).split('/');
    const id = s[0] ?? '';
    if (!ID.test(id)) return { kind: 'unknown', reason: `"${id}" is not a lowercased package id` };
    if (s.length === 2 && s[1] === 'index.json') return { kind: 'versions', id };
    const version = s[1] ?? '';
    if (s.length === 3 && VERSION.test(version)) {
      if (s[2] === `${id}.${version}.nupkg`) return { kind: 'package', id, version };
      if (s[2] === `${id}.nuspec`) return { kind: 'nuspec', id, version, packagePath: packagePath(flat, id, version) };
    }
    return { kind: 'unknown', reason: `${path} is not a flat container path` };
  }
  if (bases.registrations.some((r) => path.startsWith(r)) && path.endsWith('.json')) return { kind: 'registration' };
  return { kind: 'unknown', reason: `${path} is not under a resource this mirror serves` };
}
