/**
 * The trust chain, once for every format. The core first checks the bytes against every digest
 * a verified index vouched for them under today's trust (before any format parser sees them),
 * then the format checks the upstream's signature and names the digests the verified bytes
 * vouch for in turn; the core records those with the trust epoch, refuses a revision older than
 * the one it serves, and returns the record the signing ledger will judge.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MirrorError } from '../errors.js';
import type { DigestAlgorithm, FormatRepository, ObjectRef, Revision, VerifyContext, VouchedDigest } from '../formats/types.js';
import type { Expectation, IndexStore, VerificationRecord } from '../store/types.js';
import type { RepositoryTrust } from './signing-ledger.js';

export type ObjectVerification =
  | { ok: true; record: VerificationRecord; companions: ObjectRef[] }
  | { ok: false; code: 'VERIFICATION_FAILED' | 'DIGEST_MISMATCH' | 'TRUST_CHANGED' | 'MALFORMED' | 'ROLLBACK'; reason: string };

/** Bytes to verify: a download not yet committed, or a stored blob being re-verified. */
export interface BytesToVerify {
  sha256: string;
  size: number;
  read(): Readable;
}

export async function verifyObject(args: {
  trust: RepositoryTrust;
  path: string;
  format: FormatRepository;
  ctx: VerifyContext;
  object: BytesToVerify;
  index: IndexStore;
  /** The revision served now, if any: an older one is refused (rollback). */
  served?: Revision;
  /** The largest object the format may read whole into memory (limits.maxInMemorySize). */
  maxInMemorySize: number;
}): Promise<ObjectVerification> {
  const { trust, path, object, index } = args;
  const { repository, mode, epoch } = trust;
  const at = Date.now();
  if (mode === 'off') return { ok: true, record: { status: 'unverified', by: [], at, mode, epoch, anchor: 'none', reason: 'verify: off' }, companions: [] };

  // Digests first: no format parses bytes an index already says are wrong.
  const vouched = currentExpectations(index, trust, path);
  const before = await findMismatch(vouched, object);
  if (before) return { ok: false, code: 'DIGEST_MISMATCH', reason: before };

  const outcome = await args.format.verify(args.ctx, { path, sha256: object.sha256, size: object.size, read: () => object.read(), readAll: async () => {
    assertFitsInMemory(trust.repository, path, object.size, args.maxInMemorySize);
    return streamToBuffer(object.read());
  } });
  const vouches = outcome.vouches ?? [];
  // An object's vouch for itself (a checksum file beside it) holds for this fetch only.
  const own: Expectation[] = vouches.filter((v) => v.path === path).map((v) => ({ ...v, repository, source: 'self' }));
  const mismatch = await findMismatch(own, object);
  if (mismatch) return { ok: false, code: 'DIGEST_MISMATCH', reason: mismatch };
  if (!outcome.ok && (mode === 'require' || outcome.code === 'MALFORMED')) return { ok: false, code: outcome.code, reason: outcome.reason };
  if (outcome.ok && args.served) {
    // A revision that says nothing of its age is no newer than one that does.
    if (!outcome.revision) return { ok: false, code: 'ROLLBACK', reason: `the upstream sent a revision without one, while ${args.served.label} is served` };
    if (outcome.revision.value < args.served.value) {
      return { ok: false, code: 'ROLLBACK', reason: `the upstream sent ${outcome.revision.label}, older than the served ${args.served.label}` };
    }
  }

  // Verified bytes vouch for others; under warn unverified ones too, marked so (a digest check beats none).
  const others = vouches.filter((v) => v.path !== path);
  if (outcome.ok || mode === 'warn') recordVouches(index, trust, path, others, outcome.ok);
  if (!outcome.ok) return { ok: true, record: { status: 'unverified', by: [], at, mode, epoch, anchor: 'none', reason: outcome.reason }, companions: [] };
  const record: VerificationRecord = { status: 'verified', by: outcome.by, at, mode, epoch, anchor: outcome.anchor ?? 'pinned' };
  if (outcome.rejected && outcome.rejected.length > 0) record.rejected = outcome.rejected;
  if (outcome.upstreamSignature) record.upstreamSignature = outcome.upstreamSignature;
  if (outcome.revision) record.revision = outcome.revision;
  return { ok: true, record, companions: outcome.companions ?? [] };
}

/** Expectations for a path recorded under today's trust epoch (verified or not). */
export function currentExpectations(index: IndexStore, trust: RepositoryTrust, path: string): Expectation[] {
  return index.getExpectations(trust.repository, path).filter((e) => e.epoch === trust.epoch);
}

async function findMismatch(expected: Expectation[], object: BytesToVerify): Promise<string | undefined> {
  if (expected.length === 0) return undefined;
  const digests = new Map<DigestAlgorithm, string>([['sha256', object.sha256]]);
  const others = [...new Set(expected.map((e) => e.algorithm))].filter((a) => !digests.has(a));
  if (others.length > 0) {
    const hashes = others.map((a) => [a, createHash(a)] as const);
    for await (const chunk of object.read()) for (const [, h] of hashes) h.update(chunk as Buffer);
    for (const [a, h] of hashes) digests.set(a, h.digest('hex'));
  }
  for (const e of expected) {
    const actual = digests.get(e.algorithm);
    if (actual !== e.digest.toLowerCase() || (e.size !== undefined && e.size !== object.size)) {
      return `${e.algorithm} ${actual} (${object.size} bytes) does not match ${e.digest}${e.size === undefined ? '' : ` (${e.size} bytes)`} vouched for by ${e.source}`;
    }
  }
  return undefined;
}

/**
 * How long a digest an index no longer lists still vouches: apt clients still on the previous
 * Release fetch its index files by hash within minutes; a day covers slow and paused clients.
 */
const UNLISTED_EXPECTATIONS_KEPT_MS = 24 * 3600_000;

function recordVouches(index: IndexStore, trust: RepositoryTrust, source: string, vouches: VouchedDigest[], verified: boolean): void {
  index.recordExpectations(trust.repository, source, vouches.map((v) => ({
    repository: trust.repository, path: v.path, algorithm: v.algorithm, digest: v.digest, size: v.size, source, epoch: trust.epoch, verified,
  })), Date.now() - UNLISTED_EXPECTATIONS_KEPT_MS);
}

async function streamToBuffer(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A format reads this object whole (to parse or re-sign it): refused above the configured bound. */
export function assertFitsInMemory(repository: string, object: string, size: number, max: number): void {
  if (size <= max) return;
  throw new MirrorError('TOO_LARGE_IN_MEMORY', `${object} is ${size} bytes; this format reads it whole to verify or re-sign it, and limits.maxInMemorySize is ${max}`, {
    repository, object, size, max,
  });
}
