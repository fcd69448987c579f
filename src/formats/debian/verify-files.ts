/**
 * Verification of the files a generation names: an index file must be listed by a verified
 * Release, and then vouches for what it lists itself (Packages/Sources → package files, pdiff
 * Index → patches); a package file must be listed by a verified index. The digests themselves
 * are the core's to check (verify-object.ts), before this runs: by the time an index is parsed
 * here, its bytes match every digest vouched for them, so hostile bytes are never parsed.
 * https://wiki.debian.org/DebianRepository/Format
 */
import type { UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { vouchesFromDiffIndex, vouchesFromIndex } from './package-indexes.js';
import { diffDirectory, isGenerationPath, isIndexStorePath, listsPackages } from './paths.js';

/** Debian's main Packages is ~50 MB once decompressed; this bounds a hostile one. */
const MAX_INDEX_DECOMPRESSED = 2 * 1024 ** 3;

export async function verifyArchiveFile(ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> {
  const expected = ctx.expectations(object.path);
  const sources = [...new Set(expected.map((e) => e.source))];
  if (!isIndexStorePath(object.path)) {
    if (expected.length === 0) {
      return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed in any Packages or Sources index this mirror verified (run apt-get update through the mirror first)` };
    }
    return { ok: true, by: sources.map((s) => `index:${s}`) };
  }
  if (expected.length === 0) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed in any Release this mirror verified` };
  const by = sources.map((s) => `release:${s}`);
  const diffs = diffDirectory(object.path);
  let listed;
  if (diffs && sources.some(isGenerationPath)) listed = vouchesFromDiffIndex(diffs, await object.readAll());
  else if (listsPackages(object.path)) listed = await vouchesFromIndex(object.path, object.read, MAX_INDEX_DECOMPRESSED);
  else return { ok: true, by };
  // Each generation of a suite lists mostly the same files: record only what no index vouched for yet.
  const vouches = listed.vouches.filter((v) => !ctx.expectations(v.path).some((e) => e.algorithm === v.algorithm && e.digest === v.digest));
  return { ok: true, by, vouches, ...(listed.problems.length > 0 ? { rejected: listed.problems } : {}) };
}
