/**
 * What a request under a Swift repository names, per the registry API
 * (https://github.com/swiftlang/swift-package-manager/blob/main/Documentation/PackageRegistry/Registry.md §4):
 * `/{scope}/{name}[.json]`, `/{scope}/{name}/{version}[.json]`, `/{scope}/{name}/{version}.zip`,
 * `/{scope}/{name}/{version}/Package.swift[?swift-version=X.Y]`, `/identifiers?url=…`.
 * Request paths are attacker-controlled: scope and name must match the registry's grammar.
 */
import { manifestToolsVersion } from './manifest-signature.js';

const SCOPE = /^[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9])){0,38}$/;
const NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9]|[-_](?=[a-zA-Z0-9])){0,99}$/;
/** Semantic versions (with pre-release and build parts); nothing that could be read as another path. */
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,99}$/;
const TOOLS_VERSION = /^\d+(?:\.\d+){0,2}$/;
const MAX_LOOKUP_URL = 1024;

export interface PackageId {
  scope: string;
  name: string;
}

export type RegistryPath =
  | { kind: 'releases'; pkg: PackageId }
  | { kind: 'release'; pkg: PackageId; version: string }
  | { kind: 'archive'; pkg: PackageId; version: string }
  /** `file`: Package.swift, or the versioned manifest a `swift-version` query asks for. */
  | { kind: 'manifest'; pkg: PackageId; version: string; file: string }
  | { kind: 'identifiers'; url: string }
  | { kind: 'invalid'; reason: string };

export function parseRegistryPath(path: string, query: string): RegistryPath {
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] === 'identifiers') {
    const url = new URLSearchParams(query).get('url');
    if (!url) return { kind: 'invalid', reason: 'identifiers needs a url query parameter' };
    // Each distinct lookup is an object of its own in the store: keep them the size of a repository URL.
    return url.length <= MAX_LOOKUP_URL ? { kind: 'identifiers', url } : { kind: 'invalid', reason: `the url to look up is longer than ${MAX_LOOKUP_URL} characters` };
  }
  const [scope = '', rawName = '', rawVersion, file, ...extra] = segments;
  if (extra.length > 0) return { kind: 'invalid', reason: `${path} is not a registry path` };
  const name = segments.length === 2 ? stripJson(rawName) : rawName;
  if (!SCOPE.test(scope)) return { kind: 'invalid', reason: `"${scope}" is not a package scope` };
  if (!NAME.test(name)) return { kind: 'invalid', reason: `"${name}" is not a package name` };
  const pkg = { scope, name };
  if (rawVersion === undefined) return { kind: 'releases', pkg };
  if (file === undefined) {
    if (rawVersion.endsWith('.zip')) return versioned(rawVersion.slice(0, -4), (version) => ({ kind: 'archive', pkg, version }));
    return versioned(stripJson(rawVersion), (version) => ({ kind: 'release', pkg, version }));
  }
  if (file !== 'Package.swift') return { kind: 'invalid', reason: `${file} is not a manifest the registry serves` };
  const tools = new URLSearchParams(query).get('swift-version');
  if (tools !== null && !TOOLS_VERSION.test(tools)) return { kind: 'invalid', reason: `"${tools}" is not a Swift tools version` };
  return versioned(rawVersion, (version) => ({ kind: 'manifest', pkg, version, file: tools ? `Package@swift-${tools}.swift` : 'Package.swift' }));
}

function versioned(version: string, make: (version: string) => RegistryPath): RegistryPath {
  return VERSION.test(version) ? make(version) : { kind: 'invalid', reason: `"${version}" is not a package version` };
}

function stripJson(segment: string): string {
  return segment.endsWith('.json') ? segment.slice(0, -5) : segment;
}

/** The tools versions of the versioned manifests among `files`, for the `Link: rel="alternate"` headers. */
export function versionedManifests(files: readonly string[]): { file: string; toolsVersion: string }[] {
  return files.flatMap((file) => {
    const toolsVersion = manifestToolsVersion(file);
    return toolsVersion ? [{ file, toolsVersion }] : [];
  });
}
