/**
 * The CMS signed attributes the signer itself adds (RFC 5652 §11, RFC 5035 §5.4.1.1). Each is
 * returned as DER AttributeValues for one `CmsAttribute`; the caller's own attributes (NuGet's
 * signing time, commitment type, service index URL…) come as DER from the format.
 */
import { createHash } from 'node:crypto';
import type { CmsAttribute } from '../formats/types.js';
import { children, readElement, tlv, TAG } from './cms-der.js';

export const CMS_OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  countersignature: '1.2.840.113549.1.9.6',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

/** DER OBJECT IDENTIFIER (X.690 §8.19). */
export function oidDer(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const bytes: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    let v = arc;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

export function contentTypeAttribute(contentType: string = CMS_OID.data): CmsAttribute {
  return { oid: CMS_OID.contentType, values: [oidDer(contentType)] };
}

export function messageDigestAttribute(digest: Buffer): CmsAttribute {
  return { oid: CMS_OID.messageDigest, values: [tlv(TAG.octetString, digest)] };
}

/** The issuer Name and serialNumber INTEGER of a certificate, as their exact DER. */
export function issuerAndSerial(certDer: Buffer): { issuer: Buffer; serial: Buffer } {
  const [tbs] = children(readElement(certDer).contents);
  const fields = children(tbs!.contents);
  // tbsCertificate: [0] version (present in v3 certificates), serialNumber, signature, issuer, …
  const at = fields[0]?.tag === TAG.context0 ? 1 : 0;
  const serial = fields[at];
  const issuer = fields[at + 2];
  if (serial?.tag !== TAG.integer || issuer?.tag !== TAG.sequence) throw new Error('the certificate has no issuer and serial number');
  return { issuer: issuer.raw, serial: serial.raw };
}

/**
 * ESS signing-certificate-v2 naming `certDer`: SigningCertificateV2 { certs { ESSCertIDv2 {
 * sha256 (written out, as NuGet does), certHash, IssuerSerial { GeneralNames { [4] issuer }, serial } } } }.
 */
export function signingCertificateV2Attribute(certDer: Buffer): CmsAttribute {
  const { issuer, serial } = issuerAndSerial(certDer);
  const hash = createHash('sha256').update(certDer).digest();
  const algorithm = tlv(TAG.sequence, oidDer(CMS_OID.sha256));
  const issuerSerial = tlv(TAG.sequence, tlv(TAG.sequence, tlv(0xa4, issuer)), serial);
  const certId = tlv(TAG.sequence, algorithm, tlv(TAG.octetString, hash), issuerSerial);
  return { oid: CMS_OID.signingCertificateV2, values: [tlv(TAG.sequence, tlv(TAG.sequence, certId))] };
}

/** DER Attribute { attrType, attrValues SET OF } (values sorted, as DER's SET OF wants). */
export function attributeDer(attribute: CmsAttribute): Buffer {
  return tlv(TAG.sequence, oidDer(attribute.oid), tlv(TAG.set, ...[...attribute.values].sort(Buffer.compare)));
}
