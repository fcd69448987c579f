/**
 * Verification of a suite's generation: the upstream InRelease (or Release + Release.gpg)
 * against the trusted keyring, then its dates by the mirror's clock (apt's rules: not expired,
 * not from the future), then what it vouches for and which files must come with it. A pure
 * function of (bytes, trust, clock): the core re-runs it on every confirmation (304, same
 * bytes) and after a trust change, and refuses a Date older than the served one (the
 * `revision` returned here: rollback). https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files
 */
import type { OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import type { ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { isClearSigned } from './clearsigned.js';
import { fromRelease, indexRef, indexStorePath, releaseVouches, type Generations } from './generation.js';
import { generationPath, upstreamPath } from './paths.js';
import { formatReleaseDate } from './release-date.js';
import { parseRelease } from './release-file.js';
import { servedValidUntil } from './served-release.js';
import { verifyInRelease, verifyReleaseGpg, type SignedRelease } from './release-signature.js';

const MAX_RELEASE_BYTES = 32 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** A Date this far past the mirror's clock is refused (apt allows 10 s; the served Date is clamped to the mirror's clock). */
const MAX_FUTURE_MS = 60 * 60 * 1000;

export async function verifyGeneration(args: {
  ctx: VerifyContext;
  object: UpstreamObject;
  suite: string;
  keyring: OpenPgpKeyring;
  generations: Generations;
  /** The mirror's clock (ms since epoch): expiry is judged by the clock freshness is. */
  now: number;
  /** `trust.validFor`: the Release also expires at its Date + this (see servedValidUntil). */
  validForMs?: number;
}): Promise<VerifyOutcome> {
  const { ctx, object, suite, keyring, generations, now } = args;
  const fail = (reason: string): VerifyOutcome => ({ ok: false, code: 'VERIFICATION_FAILED', reason });
  if (object.size > MAX_RELEASE_BYTES) return fail(`the Release of ${suite} is larger than ${MAX_RELEASE_BYTES} bytes`);
  const bytes = await object.readAll();

  let signed: SignedRelease;
  if (isClearSigned(bytes)) {
    signed = await verifyInRelease(keyring, bytes);
  } else {
    // No InRelease upstream: this is dists/<suite>/Release, signed by Release.gpg beside it.
    const sig = await ctx.fetchAuxiliary(upstreamPath(`dists/${suite}/Release.gpg`), MAX_SIGNATURE_BYTES);
    if (sig.kind === 'absent') return fail(`the upstream has neither InRelease nor Release.gpg for ${suite}`);
    signed = await verifyReleaseGpg(keyring, bytes, sig.bytes);
  }
  if (!signed.ok) return fail(signed.reason);

  const parsed = parseRelease(signed.text);
  if (!parsed.ok) return fail(parsed.reason);
  const release = parsed.release;
  if (!release.date) return fail(`the Release of ${suite} has no Date`);
  if (release.date.getTime() > now + MAX_FUTURE_MS) return fail(`the Release of ${suite} is dated ${formatReleaseDate(release.date)}, in the future`);
  if (release.validUntil && release.validUntil.getTime() <= now) {
    return fail(`the Release of ${suite} expired: Valid-Until ${formatReleaseDate(release.validUntil)} is in the past`);
  }
  // What the mirror would serve must not be expired either: never sign a Release apt would refuse.
  const served = servedValidUntil(release, args.validForMs);
  if (served && served.getTime() <= now) {
    return fail(`the Release of ${suite} expired: dated ${formatReleaseDate(release.date)}, older than trust.validFor allows (valid until ${formatReleaseDate(served)})`);
  }

  const generation = fromRelease(suite, object.sha256, release);
  generations.remember(generation);
  const companions: ObjectRef[] = [];
  // Files clients used with the generation served now are fetched before this one is served.
  // (Whether this one is older than that is the core's rollback check, on `revision` below.)
  const previous = ctx.stored(generationPath(suite));
  if (previous && previous.sha256 !== object.sha256) {
    let before;
    try {
      before = generations.get(suite, previous.sha256, await previous.readAll());
    } catch {
      before = undefined; // An unreadable old generation cannot hold back a verified new one.
    }
    for (const entry of before?.release.entries.values() ?? []) {
      const next = release.entries.get(entry.name);
      if (next && ctx.stored(indexStorePath(suite, entry))) companions.push(indexRef(generation, next));
    }
  }
  return {
    ok: true,
    by: signed.by.map((f) => `openpgp:${f}`),
    vouches: releaseVouches(generation),
    companions,
    revision: { value: release.date.getTime(), label: `Date: ${formatReleaseDate(release.date)}` },
    ...(release.skipped.length > 0 ? { rejected: release.skipped.slice(0, 50) } : {}),
  };
}
