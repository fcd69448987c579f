/**
 * The Release the mirror serves for a verified upstream Release: the same text (so index files,
 * served byte-identical, keep their hashes) except
 *  - hash lines of files the mirror does not serve (no strong hash, unsafe path) are left out,
 *    so the Release lists exactly what the mirror serves;
 *  - `Acquire-By-Hash: yes`: the mirror serves every listed file by-hash, whether or not the
 *    upstream does (by-hash is what keeps clients consistent across a refresh);
 *  - `Signed-By` is dropped (it names the upstream's keys; clients check the mirror's);
 *  - `Date` is never later than when the mirror verified it (apt refuses a Date in the future);
 *  - `Valid-Until` never outlives the upstream's own (DESIGN.md: freeze protection): it is the
 *    upstream's, or with `validFor` the earlier of the upstream's and Date + validFor (a Release
 *    without a Valid-Until gets Date + validFor). Nothing the mirror does (a 304, a re-fetch of
 *    the same bytes) moves it: it is a function of the upstream bytes and the configuration.
 * https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files
 */
import { formatReleaseDate } from './release-date.js';
import { HASH_FIELDS, type ParsedRelease } from './release-file.js';

export interface ServedReleaseOptions {
  /** `trust.validFor`: Valid-Until is at most the upstream Date + this. */
  validForMs?: number;
  /** When the upstream Release was verified (ms since epoch): the served Date is never later. */
  verifiedAt: number;
}

/**
 * The Valid-Until the mirror serves (and verifies against its clock): the upstream's, shortened
 * to Date + validFor when that is earlier, or Date + validFor when the upstream sets none.
 * Never later than the upstream's own, so no served Release outlives the upstream's expiry.
 */
export function servedValidUntil(release: Pick<ParsedRelease, 'date' | 'validUntil'>, validForMs: number | undefined): Date | undefined {
  const upstream = release.validUntil?.getTime();
  const own = validForMs === undefined || !release.date ? undefined : Math.floor(release.date.getTime() / 1000) * 1000 + validForMs;
  if (own === undefined) return release.validUntil;
  return new Date(upstream === undefined ? own : Math.min(upstream, own));
}

const HASH_KEYS = new Set<string>(HASH_FIELDS.map((h) => h.field));

export function servedReleaseText(release: ParsedRelease, opts: ServedReleaseOptions): string {
  const upstreamDate = release.date;
  const date = upstreamDate && upstreamDate.getTime() > opts.verifiedAt ? new Date(Math.floor(opts.verifiedAt / 1000) * 1000) : upstreamDate;
  // Without validFor the upstream's Valid-Until line is kept as it was written.
  const validUntil = opts.validForMs === undefined ? undefined : servedValidUntil(release, opts.validForMs);

  const out: string[] = [];
  let skipping = false;
  let hashList = false;
  const added = { byHash: false, validUntil: false };
  for (const line of release.lines) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (skipping) continue;
      if (hashList && !release.entries.has(line.trim().split(/[ \t]+/)[2] ?? '')) continue;
      out.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).toLowerCase();
    skipping = false;
    hashList = HASH_KEYS.has(key);
    switch (key) {
      case 'signed-by':
        skipping = true;
        continue;
      case 'date':
        out.push(date && date !== upstreamDate ? `${line.slice(0, colon)}: ${formatReleaseDate(date)}` : line);
        continue;
      case 'valid-until':
        added.validUntil = true;
        out.push(validUntil ? `${line.slice(0, colon)}: ${formatReleaseDate(validUntil)}` : line);
        continue;
      case 'acquire-by-hash':
        added.byHash = true;
        out.push(`${line.slice(0, colon)}: yes`);
        continue;
      default:
        out.push(line);
    }
  }
  const missing: string[] = [];
  if (validUntil && !added.validUntil) missing.push(`Valid-Until: ${formatReleaseDate(validUntil)}`);
  if (!added.byHash) missing.push('Acquire-By-Hash: yes');
  if (missing.length > 0) {
    // After Date when there is one, else before the first hash list (fields order does not matter to apt).
    const at = out.findIndex((l) => /^date:/i.test(l));
    const firstHash = out.findIndex((l) => HASH_KEYS.has(l.slice(0, Math.max(0, l.indexOf(':'))).toLowerCase()));
    const index = at >= 0 ? at + 1 : firstHash >= 0 ? firstHash : out.length;
    out.splice(index, 0, ...missing);
  }
  return out.join('\n');
}
