/**
 * Verification of the files a generation names: an index file must match the digest a verified
 * Release lists for it (checked here before any decompression, so hostile bytes are never
 * parsed), and then vouches for what it lists itself (Packages/Sources → package files, pdiff
 * Index → patches); a package file must match what a verified index vouched for it.
 * https://wiki.debian.org/DebianRepository/Format
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Expectation } from '../../store/types.js';
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
  const mismatch = await firstMismatch(expected, object);
  if (mismatch) return { ok: false, code: 'DIGEST_MISMATCH', reason: mismatch };
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

/** Checks the bytes against every digest vouched for them, hashing each algorithm once. */
async function firstMismatch(expected: Expectation[], object: { sha256: string; size: number; read(): Readable }): Promise<string | undefined> {
  const algorithms = [...new Set(expected.map((e) => e.algorithm))].filter((a) => a !== 'sha256');
  const digests = new Map<string, string>([['sha256', object.sha256]]);
  if (algorithms.length > 0) {
    const hashes = algorithms.map((a) => [a, createHash(a)] as const);
    for await (const chunk of object.read()) for (const [, h] of hashes) h.update(chunk as Buffer);
    for (const [a, h] of hashes) digests.set(a, h.digest('hex'));
  }
  for (const e of expected) {
    if (digests.get(e.algorithm) !== e.digest || (e.size !== undefined && e.size !== object.size)) {
      return `${e.algorithm} ${digests.get(e.algorithm)} (${object.size} bytes) does not match ${e.digest} (${e.size ?? '?'} bytes) listed in ${e.source}`;
    }
  }
  return undefined;
}
