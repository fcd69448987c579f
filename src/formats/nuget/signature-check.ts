/**
 * Checks an upstream package signature (`.signature.p7s`, CMS SignedData, RFC 5652
 * https://www.rfc-editor.org/rfc/rfc5652) the way NuGet's integrity and signature providers do:
 * one signer, attached `Version:1` content, the message digest over it, the signature over the
 * DER signed attributes by the embedded certificate the signer identifier names (RSA ≥ 2048 with
 * PKCS#1 v1.5, or ECDSA for author signatures), the signature type from commitment-type-indication
 * (NuGet.Client …/Signing/Utility/AttributeUtility.cs GetSignatureType), and each countersignature
 * over the primary's signature value. Trust in a certificate is the caller's (pinned fingerprints).
 * The bytes are upstream-controlled: nothing here trusts a length or a tag it has not checked.
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { CMS_OID, issuerAndSerial, oidDer } from '../../signing/cms-attributes.js';
import { countersignatures, parseSignedData } from '../../signing/cms-countersign.js';
import { children, readElement, type DerElement } from '../../signing/cms-der.js';
import { NUGET_OID } from './nuget-attributes.js';
import { HASH_OIDS, parseSignatureContent, type SignatureContent } from './signature-content.js';

export type SignatureType = 'author' | 'repository' | 'unknown';

export interface CheckedSigner {
  type: SignatureType;
  certDer: Buffer;
  /** Lowercase hex SHA-256 of the signer certificate (what trustedSigners pin). */
  fingerprint: string;
}

export type SignatureCheck =
  | { ok: true; content: SignatureContent; primary: CheckedSigner; countersigners: CheckedSigner[] }
  | { ok: false; reason: string };

const SIGNATURE_ALGORITHMS: Record<string, { hash?: string; key: 'rsa' | 'ec' }> = {
  [CMS_OID.rsaEncryption]: { key: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
  [CMS_OID.ecdsaWithSha256]: { hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
};

class Refused extends Error {}

function oidOf(element: DerElement | undefined, table: Record<string, unknown>): string | undefined {
  if (!element) return undefined;
  return Object.keys(table).find((oid) => oidDer(oid).equals(element.raw));
}

function algorithmOid(element: DerElement | undefined, table: Record<string, unknown>, what: string): string {
  if (element?.tag !== 0x30) throw new Refused(`malformed ${what} algorithm`);
  const oid = oidOf(children(element.contents)[0], table);
  if (!oid) throw new Refused(`unsupported ${what} algorithm`);
  return oid;
}

function subjectKeyIdentifier(certDer: Buffer): Buffer | undefined {
  const cert = pkijs.Certificate.fromBER(new Uint8Array(certDer));
  const ext = cert.extensions?.find((e) => e.extnID === '2.5.29.14');
  return ext ? Buffer.from(readElement(Buffer.from(ext.extnValue.valueBlock.valueHexView)).contents) : undefined;
}

function signerCertificate(sid: DerElement, certificates: Buffer[]): Buffer {
  const found = certificates.find((der) => {
    if (sid.tag === 0x30) {
      const [issuer, serial] = children(sid.contents);
      const own = issuerAndSerial(der);
      return issuer !== undefined && serial !== undefined && own.issuer.equals(issuer.raw) && own.serial.equals(serial.raw);
    }
    if (sid.tag === 0x80) return subjectKeyIdentifier(der)?.equals(sid.contents) ?? false;
    return false;
  });
  if (!found) throw new Refused('the signer certificate is not among the embedded certificates');
  return found;
}

function signatureType(values: DerElement[] | undefined): SignatureType {
  const types = new Set((values ?? []).map((v) => {
    const [id] = children(v.contents);
    if (id?.raw.equals(oidDer(NUGET_OID.proofOfOrigin))) return 'author';
    if (id?.raw.equals(oidDer(NUGET_OID.proofOfReceipt))) return 'repository';
    return 'unknown';
  }));
  return types.size === 1 ? [...types][0]! : 'unknown';
}

/** Checks one SignerInfo (given as its fields) over `content`. */
function checkSigner(fields: DerElement[], certificates: Buffer[], content: Buffer, primary: boolean): CheckedSigner {
  const [version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature] = fields;
  if (version?.tag !== 0x02 || !sid) throw new Refused('malformed SignerInfo');
  const digestName = HASH_OIDS[algorithmOid(digestAlgorithm, HASH_OIDS, 'digest') as keyof typeof HASH_OIDS];
  if (signedAttrs?.tag !== 0xa0) throw new Refused('the signer has no signed attributes');
  const attributes = new Map<string, DerElement[]>();
  for (const attribute of children(signedAttrs.contents)) {
    const [type, values] = children(attribute.contents);
    if (type?.tag !== 0x06 || values?.tag !== 0x31) throw new Refused('malformed signed attribute');
    const key = type.raw.toString('hex');
    if (attributes.has(key)) throw new Refused('a signed attribute is given twice');
    attributes.set(key, children(values.contents));
  }
  const attribute = (oid: string) => attributes.get(oidDer(oid).toString('hex'));
  const digest = attribute(CMS_OID.messageDigest);
  if (digest?.length !== 1 || digest[0]!.tag !== 0x04) throw new Refused('no message-digest attribute');
  if (!digest[0]!.contents.equals(createHash(digestName).update(content).digest())) throw new Refused('the message digest does not match the signed content');
  if (primary && !attribute(CMS_OID.contentType)) throw new Refused('no content-type attribute');
  if (!attribute(NUGET_OID.signingTime)) throw new Refused('no signing-time attribute');
  const algorithm = SIGNATURE_ALGORITHMS[algorithmOid(signatureAlgorithm, SIGNATURE_ALGORITHMS, 'signature')]!;
  if (signature?.tag !== 0x04) throw new Refused('malformed signature value');
  const certDer = signerCertificate(sid, certificates);
  const cert = new X509Certificate(certDer);
  if (cert.publicKey.asymmetricKeyType !== algorithm.key) throw new Refused('the signature algorithm does not match the signer key');
  if (algorithm.key === 'rsa' && (cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Refused('the signer RSA key is shorter than 2048 bits');
  const message = Buffer.from(signedAttrs.raw);
  message[0] = 0x31; // signed as a SET OF (RFC 5652 §5.4)
  if (!verify(algorithm.hash ?? digestName, message, cert.publicKey, signature.contents)) throw new Refused(`the signature by "${cert.subject.replace(/\n/g, ', ')}" does not verify`);
  return { type: signatureType(attribute(NUGET_OID.commitmentTypeIndication)), certDer, fingerprint: createHash('sha256').update(certDer).digest('hex') };
}

/** An OCTET STRING's bytes: DER (primitive) or BER constructed of primitive parts, which .NET's SignedCms also reads. */
function octetString(element: DerElement): Buffer | undefined {
  if (element.tag === 0x04) return element.contents;
  if (element.tag !== 0x24) return undefined;
  const parts = children(element.contents);
  return parts.every((p) => p.tag === 0x04) ? Buffer.concat(parts.map((p) => p.contents)) : undefined;
}

export function checkPackageSignature(p7s: Buffer): SignatureCheck {
  try {
    const parts = parseSignedData(p7s);
    const [contentType, explicit] = children(parts.head[2]!.contents);
    if (!contentType?.raw.equals(oidDer(CMS_OID.data))) return { ok: false, reason: 'the signed content is not id-data' };
    if (explicit?.tag !== 0xa0) return { ok: false, reason: 'the signature has no encapsulated content' };
    const eContent = octetString(readElement(explicit.contents));
    if (!eContent) return { ok: false, reason: 'the encapsulated content is not an OCTET STRING' };
    const content = parseSignatureContent(eContent);
    if (!content) return { ok: false, reason: 'the signed content is not a NuGet package hash (Version:1)' };
    const certificates = parts.certificates.filter((c) => c.tag === 0x30).map((c) => Buffer.from(c.raw));
    const primary = checkSigner([...parts.signerHead, parts.signature], certificates, eContent, true);
    const countersigners = countersignatures(parts).map((der) => checkSigner(children(readElement(der).contents), certificates, parts.signature.contents, false));
    return { ok: true, content, primary, countersigners };
  } catch (err) {
    return { ok: false, reason: `the package signature does not verify: ${(err as Error).message}` };
  }
}
