/**
 * The trust chain, once for every format: the format checks the upstream's signature and
 * names the digests the verified bytes vouch for; the core records those and checks every
 * fetched object against what was vouched for it.
 */
import { createHash } from 'node:crypto';
import type { DigestAlgorithm, FormatRepository, ObjectRef, VerifyContext, VouchedDigest } from '../formats/types.js';
import type { BlobStat, Expectation, IndexStore, TempBlob, VerificationRecord, VerifyMode } from '../store/types.js';

export type ObjectVerification =
  | { ok: true; record: VerificationRecord; companions: ObjectRef[] }
  | { ok: false; code: 'VERIFICATION_FAILED' | 'DIGEST_MISMATCH'; reason: string };

export async function verifyObject(args: {
  repository: string;
  path: string;
  mode: VerifyMode;
  format: FormatRepository;
  ctx: VerifyContext;
  temp: TempBlob;
  stat: BlobStat;
  index: IndexStore;
}): Promise<ObjectVerification> {
  const { repository, path, mode, stat, index, temp } = args;
  const at = Date.now();
  if (mode === 'off') return { ok: true, record: { status: 'unverified', by: [], at, mode, reason: 'verify: off' }, companions: [] };

  const readAll = (): Promise<Buffer> => streamToBuffer(temp.read());
  const outcome = await args.format.verify(args.ctx, { path, sha256: stat.sha256, size: stat.size, read: () => temp.read(), readAll });
  const vouches = outcome.vouches ?? [];
  const own: Expectation[] = vouches.filter((v) => v.path === path).map((v) => ({ ...v, repository, source: 'self' }));
  const mismatch = await findMismatch([...index.getExpectations(repository, path), ...own], stat, temp);
  if (mismatch) return { ok: false, code: 'DIGEST_MISMATCH', reason: mismatch };
  if (!outcome.ok && mode === 'require') return { ok: false, code: outcome.code, reason: outcome.reason };

  // Verified bytes vouch for others (under warn, unverified ones too: a digest check beats none);
  // an object's vouch for itself holds for this fetch only.
  if (outcome.ok || mode === 'warn') recordVouches(index, repository, path, vouches.filter((v) => v.path !== path));
  if (!outcome.ok) return { ok: true, record: { status: 'unverified', by: [], at, mode, reason: outcome.reason }, companions: [] };
  const record: VerificationRecord = { status: 'verified', by: outcome.by, at, mode };
  if (outcome.rejected && outcome.rejected.length > 0) record.rejected = outcome.rejected;
  if (outcome.upstreamSignature) record.upstreamSignature = outcome.upstreamSignature;
  return { ok: true, record, companions: outcome.companions ?? [] };
}

async function findMismatch(expected: Expectation[], stat: BlobStat, temp: TempBlob): Promise<string | undefined> {
  if (expected.length === 0) return undefined;
  const digests = new Map<DigestAlgorithm, string>([['sha256', stat.sha256]]);
  const others = [...new Set(expected.map((e) => e.algorithm))].filter((a) => !digests.has(a));
  if (others.length > 0) {
    const hashes = others.map((a) => [a, createHash(a)] as const);
    for await (const chunk of temp.read()) for (const [, h] of hashes) h.update(chunk as Buffer);
    for (const [a, h] of hashes) digests.set(a, h.digest('hex'));
  }
  for (const e of expected) {
    const actual = digests.get(e.algorithm);
    if (actual !== e.digest.toLowerCase() || (e.size !== undefined && e.size !== stat.size)) {
      return `${e.algorithm} ${actual} (${stat.size} bytes) does not match ${e.digest}${e.size === undefined ? '' : ` (${e.size} bytes)`} vouched for by ${e.source}`;
    }
  }
  return undefined;
}

function recordVouches(index: IndexStore, repository: string, source: string, vouches: VouchedDigest[]): void {
  if (vouches.length === 0) return;
  index.putExpectations(vouches.map((v) => ({ repository, path: v.path, algorithm: v.algorithm, digest: v.digest, size: v.size, source })));
}

async function streamToBuffer(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

