/**
 * The documents the mirror serves, derived from a verified upstream packument: tarball URLs
 * pointing at the mirror, `dist.signatures` by the organisation's key only, `time` kept
 * exactly as upstream (clients compare key expiry against it). `dist.attestations` are
 * removed: pacote fetches them from the registry host root and checks keyed ones against
 * npm's own key, which a re-signing mirror cannot publish as its own.
 */
import { MirrorError } from '../../errors.js';
import type { DeriveContext } from '../types.js';
import { strongest, versionIntegrity } from './integrity.js';
import { isObject, type NpmVersion, type Packument } from './packument.js';
import { tarballFile } from './verify-versions.js';

/** Fields of a version in the abbreviated ("corgi") document. */
const ABBREVIATED_FIELDS = [
  'name', 'version', 'deprecated', 'dependencies', 'optionalDependencies', 'devDependencies', 'bundleDependencies',
  'bundledDependencies', 'peerDependencies', 'peerDependenciesMeta', 'acceptDependencies', 'bin', 'directories', 'dist',
  'engines', 'cpu', 'os', 'libc', '_hasShrinkwrap', 'hasInstallScript', 'funding', 'license',
] as const;

export interface ServedPackument {
  doc: Packument;
  versions: Record<string, NpmVersion>;
  distTags: Record<string, string>;
}

export async function servedPackument(ctx: DeriveContext, upstream: Packument, dropped: Set<string>): Promise<ServedPackument> {
  const versions: Record<string, NpmVersion> = {};
  for (const [version, v] of Object.entries(upstream.versions ?? {})) {
    if (dropped.has(version) || !isObject(v) || !isObject(v.dist)) continue;
    const served = await servedVersion(ctx, upstream.name, version, v);
    if (served) versions[version] = served;
  }
  const distTags: Record<string, string> = {};
  for (const [tag, version] of Object.entries(upstream['dist-tags'] ?? {})) if (typeof version === 'string' && versions[version]) distTags[tag] = version;
  if (!distTags.latest) {
    const newest = newestVersion(upstream, Object.keys(versions));
    if (newest) distTags.latest = newest;
  }
  const { _attachments: _a, _rev: _r, ...rest } = upstream;
  return { doc: { ...rest, 'dist-tags': distTags, versions }, versions, distTags };
}

async function servedVersion(ctx: DeriveContext, name: string, version: string, v: NpmVersion): Promise<NpmVersion | undefined> {
  const token = strongest(versionIntegrity(v.dist!));
  const file = tarballFile(v.dist!.tarball);
  if (!token || !file) return undefined;
  const { attestations: _att, 'npm-signature': _pgp, signatures: _sigs, ...dist } = v.dist!;
  // Exactly the statement verification checked (the packument's name, the version's key), never a
  // value the version carries itself.
  const id = `${name}@${version}`;
  // `item`: a version the upstream signature did not vouch for is never signed by the primary key.
  const { keyId, signature } = await ctx.sign({ scheme: 'ecdsa', object: id, data: `${id}:${token.text}`, item: version });
  return {
    ...v,
    dist: {
      ...dist,
      integrity: token.text,
      tarball: `${ctx.repositoryUrl}/${name}/-/${encodeURIComponent(file)}`,
      signatures: [{ keyid: keyId, sig: signature.toString('base64') }],
    },
  };
}

function newestVersion(doc: Packument, versions: string[]): string | undefined {
  const time = (v: string): number => Date.parse(doc.time?.[v] ?? '') || 0;
  return versions.sort((a, b) => time(b) - time(a))[0];
}

export function abbreviated(served: ServedPackument): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [version, v] of Object.entries(served.versions)) {
    const out: Record<string, unknown> = {};
    for (const f of ABBREVIATED_FIELDS) if (v[f] !== undefined) out[f] = v[f];
    versions[version] = out;
  }
  const modified = served.doc.modified ?? served.doc.time?.modified;
  return { name: served.doc.name, ...(modified ? { modified } : {}), 'dist-tags': served.distTags, versions };
}

export function singleVersion(served: ServedPackument, versionOrTag: string, repository: string): NpmVersion {
  const version = served.versions[versionOrTag] ? versionOrTag : served.distTags[versionOrTag];
  const doc = version ? served.versions[version] : undefined;
  if (!doc) {
    throw new MirrorError('NOT_FOUND', `${served.doc.name} has no version or tag "${versionOrTag}" that verified`, { repository, object: `${served.doc.name}/${versionOrTag}` });
  }
  return doc;
}
