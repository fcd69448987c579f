/**
 * Checks an upstream RPM's own header signature (tags 268 RSA / 267 DSA-EdDSA-ECDSA,
 * https://rpm-software-management.github.io/rpm/manual/signatures_digests.html, rpm-4.18 lib/rpmvs.c) against the operator's package keyring, and its payload against the PAYLOADDIGEST
 * the signed header carries. The package bytes are attacker-controlled.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { verifyDetached, type OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import { entryInt32, entryString, findEntry, RpmFormatError } from './rpm-header.js';
import { parseRpm, SIGTAG, signedHeaderBytes, TAG, type RpmPackage } from './rpm-package.js';

/** PGPHASHALGO_* numbers rpm stores in PAYLOADDIGESTALGO. */
const PAYLOAD_HASHES: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
const DEFAULT_PAYLOAD_HASH = 8;

export type RpmCheck = { ok: true; by: string[]; pkg: RpmPackage } | { ok: false; reason: string };

export async function checkRpm(bytes: Buffer, keyring: OpenPgpKeyring): Promise<RpmCheck> {
  let pkg: RpmPackage;
  try {
    pkg = parseRpm(bytes);
  } catch (err) {
    if (err instanceof RpmFormatError) return { ok: false, reason: `not a well-formed RPM: ${err.message}` };
    throw err;
  }
  const signatures = [findEntry(pkg.signature, SIGTAG.RSA), findEntry(pkg.signature, SIGTAG.DSA)].filter((e) => e !== undefined);
  if (signatures.length === 0) return { ok: false, reason: 'the package carries no header signature (tag 268 or 267)' };
  const header = signedHeaderBytes(pkg);
  const reasons: string[] = [];
  const by: string[] = [];
  for (const sig of signatures) {
    const result = await verifyDetached(keyring, sig.data, Readable.from([header]));
    if (result.ok) by.push(`rpm-header:${result.fingerprint}`);
    else reasons.push(`tag ${sig.tag}: ${result.reason}`);
  }
  if (by.length === 0) return { ok: false, reason: `the header signature does not verify with the trusted package keys (${reasons.join('; ')})` };

  const payloadDigest = entryString(findEntry(pkg.header, TAG.PAYLOADDIGEST));
  if (payloadDigest !== undefined) {
    const algo = entryInt32(findEntry(pkg.header, TAG.PAYLOADDIGESTALGO)) ?? DEFAULT_PAYLOAD_HASH;
    const hash = PAYLOAD_HASHES[algo];
    if (!hash) return { ok: false, reason: `the payload digest uses unknown hash algorithm ${algo}` };
    const actual = createHash(hash).update(bytes.subarray(pkg.payloadStart)).digest('hex');
    if (actual !== payloadDigest.toLowerCase()) return { ok: false, reason: `the payload does not match the PAYLOADDIGEST in the signed header` };
    by.push(`rpm-payload:${hash}`);
  }
  return { ok: true, by, pkg };
}
