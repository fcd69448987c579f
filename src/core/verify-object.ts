/**
 * The trust chain, once for every format: the format checks the upstream's signature and
 * names the digests the verified bytes vouch for; the core records those and checks every
 * fetched object against what was vouched for it.
 */
import type { FormatRepository, VerifyContext, VouchedDigest } from '../formats/types.js';
import type { BlobStat, IndexStore, TempBlob, VerificationRecord, VerifyMode } from '../store/types.js';

export type ObjectVerification =
  | { ok: true; record: VerificationRecord }
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
  const { repository, path, mode, stat, index } = args;
  const at = Date.now();
  if (mode === 'off') return { ok: true, record: { status: 'unverified', by: [], at, mode, reason: 'verify: off' } };

  const outcome = await args.format.verify(args.ctx, { path, sha256: stat.sha256, size: stat.size, read: () => args.temp.read() });
  const vouches = outcome.vouches ?? [];
  const own = vouches.filter((v) => v.path === path).map((v) => ({ ...v, source: 'self' }));
  const mismatch = [...index.getExpectations(repository, path), ...own].find(
    (e) => e.sha256 !== stat.sha256 || (e.size !== undefined && e.size !== stat.size),
  );
  if (mismatch) {
    return {
      ok: false,
      code: 'DIGEST_MISMATCH',
      reason: `sha256 ${stat.sha256} (${stat.size} bytes) does not match ${mismatch.sha256}${mismatch.size === undefined ? '' : ` (${mismatch.size} bytes)`} vouched for by ${mismatch.source}`,
    };
  }
  if (!outcome.ok && mode === 'require') return { ok: false, code: outcome.code, reason: outcome.reason };

  // Only verified bytes vouch for others; an object's vouch for itself holds for this fetch only.
  if (outcome.ok) recordVouches(index, repository, `${path}@${stat.sha256}`, vouches.filter((v) => v.path !== path));
  const by = outcome.ok ? outcome.by : [];
  return outcome.ok
    ? { ok: true, record: { status: 'verified', by, at, mode } }
    : { ok: true, record: { status: 'unverified', by, at, mode, reason: outcome.reason } };
}

function recordVouches(index: IndexStore, repository: string, source: string, vouches: VouchedDigest[]): void {
  if (vouches.length === 0) return;
  const bySource = source.slice(0, source.lastIndexOf('@'));
  index.putExpectations(vouches.map((v) => ({ repository, path: v.path, sha256: v.sha256, size: v.size, source: bySource })));
}
