/**
 * The package the mirror serves: the upstream package with a signature by the org, made as
 * NuGet's own SignAsync would (https://github.com/NuGet/Home/wiki/Package-Signatures-Technical-Details):
 * - unsigned → a repository primary signature over the package hash;
 * - repository-signed upstream → that signature removed (giving back the unsigned package, byte for
 *   byte) and signed as above;
 * - author-signed → the author signature kept byte for byte, any repository countersignature
 *   replaced by the org's (RFC 5652 countersignature over the author's signature value).
 * The package body never changes, so lock-file content hashes (SHA-512 of the unsigned bytes) hold.
 *
 * Determinism: the signing time (signed attribute and the entry's DOS time) is the newest
 * modification time among the unsigned package's own entries, so the same package and key make
 * the same bytes (RSA PKCS#1 v1.5 is deterministic). It is a claim about the package, not a
 * timestamp: NuGet checks certificate validity against the current time when there is none.
 */
import { MirrorError } from '../../errors.js';
import type { CmsAttribute, DeriveContext } from '../types.js';
import { filterCountersignatures } from '../../signing/cms-countersign.js';
import { repositoryCommitmentAttribute, serviceIndexUrlAttribute, signingTimeAttribute } from './nuget-attributes.js';
import { signatureContent } from './signature-content.js';
import { declaredTypes, isRepositoryCountersignature } from './signature-types.js';
import { appendSignature, entryData, newestEntryTime, parseZip, signatureEntry, withoutSignature } from './zip.js';

/** When nothing in the package says when it was made. */
const FALLBACK_TIME = new Date(Date.UTC(1980, 0, 1));

export async function servedPackage(ctx: DeriveContext, object: string, bytes: Buffer, serviceIndexUrl: string): Promise<Buffer> {
  const layout = parseZip(bytes);
  const sig = signatureEntry(layout);
  const unsignedBytes = sig ? withoutSignature(layout, sig) : bytes;
  const unsigned = sig ? parseZip(unsignedBytes) : layout;
  const at = newestEntryTime(unsigned) ?? FALLBACK_TIME;
  const attributes: CmsAttribute[] = [signingTimeAttribute(at), repositoryCommitmentAttribute(), serviceIndexUrlAttribute(serviceIndexUrl)];
  const upstream = sig ? Buffer.from(entryData(layout, sig)) : undefined;
  const types = upstream ? declaredTypes(upstream) : undefined;

  if (upstream && types?.primary === 'author') {
    // The author's signature stays; only repository countersignatures are the mirror's to replace.
    const authorOnly = filterCountersignatures(upstream, (counter) => !isRepositoryCountersignature(counter));
    const made = await ctx.sign({
      scheme: 'cms', object, data: authorOnly,
      cms: { leaf: 'rsa', detached: false, countersign: true, signedAttributes: attributes, signingCertificateV2: true },
    });
    return appendSignature(unsigned, made.signature, at);
  }
  if (upstream && types?.primary !== 'repository' && ctx.mode === 'require') {
    // Verification passed, so this cannot happen under require; never strip a signature we cannot name.
    throw new MirrorError('SIGNING_REFUSED', `Refused to re-sign ${object}: its upstream signature is neither an author's nor a repository's`, { repository: ctx.repository, object });
  }
  const made = await ctx.sign({
    scheme: 'cms', object, data: signatureContent(unsignedBytes),
    cms: { leaf: 'rsa', detached: false, signedAttributes: attributes, signingCertificateV2: true },
  });
  return appendSignature(unsigned, made.signature, at);
}
