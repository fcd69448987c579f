/**
 * The signed attributes of a NuGet repository signature, as DER AttributeValues.
 * OIDs: NuGet.Client src/NuGet.Core/NuGet.Packaging/Signing/Oids.cs; shapes:
 * https://github.com/NuGet/Home/wiki/Package-Signatures-Technical-Details and RFC 5126 §5.11.1
 * (commitment-type-indication), RFC 5652 §11.3 (signing-time). Content-type, message-digest and
 * signing-certificate-v2 are added by the signing ledger, which knows the leaf it signs with.
 */
import type { CmsAttribute } from '../types.js';
import { oidDer } from '../../signing/cms-attributes.js';
import { tlv } from '../../signing/cms-der.js';

export const NUGET_OID = {
  signingTime: '1.2.840.113549.1.9.5',
  commitmentTypeIndication: '1.2.840.113549.1.9.16.2.16',
  proofOfOrigin: '1.2.840.113549.1.9.16.6.1',
  proofOfReceipt: '1.2.840.113549.1.9.16.6.2',
  serviceIndexUrl: '1.3.6.1.4.1.311.84.2.1.1.1',
  packageOwners: '1.3.6.1.4.1.311.84.2.1.1.2',
  signingCertificateV1: '1.2.840.113549.1.9.16.2.12',
} as const;

const two = (n: number) => String(n).padStart(2, '0');

/** UTCTime through 2049, GeneralizedTime after (RFC 5652 §11.3), to the second. */
export function signingTimeAttribute(at: Date): CmsAttribute {
  const y = at.getUTCFullYear();
  const rest = `${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}Z`;
  const value = y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(`${two(y % 100)}${rest}`)) : tlv(0x18, Buffer.from(`${y}${rest}`));
  return { oid: NUGET_OID.signingTime, values: [value] };
}

/** CommitmentTypeIndication { commitmentTypeId }: proof-of-receipt says "repository signature". */
export function repositoryCommitmentAttribute(): CmsAttribute {
  return { oid: NUGET_OID.commitmentTypeIndication, values: [tlv(0x30, oidDer(NUGET_OID.proofOfReceipt))] };
}

/** The service index URL as an IA5String; NuGet's reader refuses any scheme but https. */
export function serviceIndexUrlAttribute(url: string): CmsAttribute {
  if (!url.startsWith('https://')) throw new Error(`the signed service index URL must be https, not ${url}`);
  return { oid: NUGET_OID.serviceIndexUrl, values: [tlv(0x16, Buffer.from(url, 'ascii'))] };
}

/** SEQUENCE OF UTF8String, one per owner (non-empty). */
export function packageOwnersAttribute(owners: string[]): CmsAttribute {
  return { oid: NUGET_OID.packageOwners, values: [tlv(0x30, ...owners.map((o) => tlv(0x0c, Buffer.from(o, 'utf8'))))] };
}
