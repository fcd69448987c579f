/**
 * Verification of the files a generation names: an index file must be listed by a verified
 * Release, and then vouches for what it lists itself (a pdiff Index → its patches at once;
 * Packages/Sources → its package list, which vouches for the package files when the first one
 * is asked for: see package-lists.ts); a package file must be listed by a verified package list.
 * The digests themselves are the core's to check (verify-object.ts), before this runs: by the
 * time an index is parsed here, its bytes match every digest vouched for them, so hostile bytes
 * are never parsed. https://wiki.debian.org/DebianRepository/Format
 */
import type { UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { vouchesFromDiffIndex, vouchesFromIndex } from './package-indexes.js';
import { indexOfPackageList } from './package-lists.js';
import type { VouchedDigest } from '../types.js';
import { diffDirectory, isGenerationPath, isIndexStorePath, listsPackages } from './paths.js';

/** Debian's main Packages is ~50 MB once decompressed; this bounds a hostile one. */
const MAX_INDEX_DECOMPRESSED = 2 * 1024 ** 3;

/**
 * `listVouch`: what a verified Packages or Sources index vouches for its package list (see
 * package-lists.ts); undefined when the pool is to be vouched for from the index at once (an
 * upstream without by-hash files, whose index may change under its name before a list is read).
 */
export async function verifyArchiveFile(ctx: VerifyContext, object: UpstreamObject, listVouch?: (storePath: string) => VouchedDigest | undefined): Promise<VerifyOutcome> {
  const expected = ctx.expectations(object.path);
  const sources = [...new Set(expected.map((e) => e.source))];
  const listOf = indexOfPackageList(object.path);
  if (listOf !== undefined) {
    if (expected.length === 0) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${listOf} is not an index file this mirror verified under today's trust` };
    const listed = await vouchesFromIndex(listOf, object.read, MAX_INDEX_DECOMPRESSED);
    const vouches = notYetVouched(ctx, listed.vouches);
    return { ok: true, by: sources.map((s) => `index:${s}`), vouches, ...(listed.problems.length > 0 ? { rejected: listed.problems } : {}) };
  }
  if (!isIndexStorePath(object.path)) {
    if (expected.length === 0) {
      return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed in any Packages or Sources index this mirror verified (run apt-get update through the mirror first)` };
    }
    return { ok: true, by: sources.map((s) => `index:${indexOfPackageList(s) ?? s}`) };
  }
  if (expected.length === 0) return { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed in any Release this mirror verified` };
  const by = sources.map((s) => `release:${s}`);
  const diffs = diffDirectory(object.path);
  if (diffs && sources.some(isGenerationPath)) {
    const listed = vouchesFromDiffIndex(diffs, await object.readAll());
    return { ok: true, by, vouches: listed.vouches, ...(listed.problems.length > 0 ? { rejected: listed.problems } : {}) };
  }
  if (!listsPackages(object.path)) return { ok: true, by };
  const lazy = listVouch?.(object.path);
  if (lazy) return { ok: true, by, vouches: [lazy] };
  const listed = await vouchesFromIndex(object.path, object.read, MAX_INDEX_DECOMPRESSED);
  return { ok: true, by, vouches: notYetVouched(ctx, listed.vouches), ...(listed.problems.length > 0 ? { rejected: listed.problems } : {}) };
}

/** Vouches looked up before deciding whether to look up all of them. */
const SAMPLE = 64;

/**
 * Each generation of a suite lists mostly the same files: only what no list vouched for yet is
 * recorded. A list none of whose first files is vouched for yet (a suite's first) is recorded
 * whole, without one lookup per file (63,000 for Debian's main Packages).
 */
function notYetVouched(ctx: VerifyContext, vouches: VouchedDigest[]): VouchedDigest[] {
  const known = (v: VouchedDigest) => ctx.expectations(v.path).some((e) => e.algorithm === v.algorithm && e.digest === v.digest);
  if (!vouches.slice(0, SAMPLE).some(known)) return vouches;
  return vouches.filter((v) => !known(v));
}
