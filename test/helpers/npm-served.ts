/**
 * Reading what an npm repository of the mirror serves, and checking its org signatures, for the
 * trust tests: which versions each document lists, and which org key (primary or unverified)
 * signed a version, checked cryptographically rather than by key id alone.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import type { RunningMirror } from './mirror-harness.js';
import { CORGI_TYPE } from './fixture-npm-registry.js';

export interface ServedVersion {
  name: unknown;
  version: unknown;
  dist: { integrity: string; tarball: string; signatures: { keyid: string; sig: string }[] };
}

export interface ServedDoc {
  name: string;
  versions: Record<string, ServedVersion>;
  'dist-tags': Record<string, string>;
}

/** The versions and dist-tags of every document the repository serves for `name`. */
export async function servedDocuments(mirror: RunningMirror, repo: string, name: string): Promise<{ full: ServedDoc; abbreviated: ServedDoc; distTags: Record<string, string> }> {
  const get = async (path: string, accept?: string): Promise<unknown> => {
    const res = await mirror.get(path, accept ? { headers: { accept } } : {});
    assert.equal(res.status, 200, `GET ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  const full = (await get(`/${repo}/${name}`, 'application/json')) as ServedDoc;
  const abbreviated = (await get(`/${repo}/${name}`, CORGI_TYPE)) as ServedDoc;
  const distTags = (await get(`/${repo}/-/package/${name}/dist-tags`)) as Record<string, string>;
  return { full, abbreviated, distTags };
}

/**
 * The role of the org key whose signature over `${name}@${version}:${integrity}` the version
 * carries, after checking that signature verifies with that key's public key.
 */
export function signedRole(mirror: RunningMirror, name: string, version: string, v: ServedVersion): 'primary' | 'unverified' {
  assert.equal(v.dist.signatures.length, 1, `${name}@${version} carries exactly one signature`);
  const [sig] = v.dist.signatures;
  for (const role of ['primary', 'unverified'] as const) {
    if (sig!.keyid !== mirror.app.keys.ecdsaSigner(role).id) continue;
    const key = createPublicKey(mirror.app.keys.cosignPublicPem(role));
    const ok = verify('sha256', Buffer.from(`${name}@${version}:${v.dist.integrity}`), key, Buffer.from(sig!.sig, 'base64'));
    assert.ok(ok, `${name}@${version}: the ${role} org key's signature verifies`);
    return role;
  }
  assert.fail(`${name}@${version} is signed by ${sig!.keyid}, no org key`);
}

/** The code and reason of a refusal. */
export async function refusal(res: Response): Promise<{ status: number; code: string; error: string }> {
  const body = (await res.json()) as { code?: string; error?: string };
  return { status: res.status, code: body.code ?? '', error: body.error ?? '' };
}
