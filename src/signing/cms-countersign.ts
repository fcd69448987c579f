/**
 * Countersignatures (RFC 5652 §11.4, https://www.rfc-editor.org/rfc/rfc5652#section-11.4) on an
 * existing SignedData's one SignerInfo, by byte-preserving DER surgery: the SignerInfo's signed
 * attributes and signature stay exactly as their signer made them, only its unsigned attributes
 * and the certificate set change. The ContentInfo may come from an upstream (attacker-controlled):
 * its shape is checked before anything is taken from it.
 */
import type * as pkijs from 'pkijs';
import { attributeDer, CMS_OID, oidDer } from './cms-attributes.js';
import { children, DerError, readElement, tlv, TAG, type DerElement } from './cms-der.js';

/** The parts of a ContentInfo(SignedData) with exactly one SignerInfo, as raw elements. */
export interface SignedDataParts {
  /** SignedData's fields before `certificates` (version, digestAlgorithms, encapContentInfo). */
  head: DerElement[];
  certificates: DerElement[];
  crls?: DerElement;
  /** The one SignerInfo's fields before `unsignedAttrs`. */
  signerHead: DerElement[];
  /** The SignerInfo's signature OCTET STRING. */
  signature: DerElement;
  /** Unsigned attributes, each a raw Attribute. */
  unsignedAttributes: DerElement[];
}

export function parseSignedData(contentInfo: Buffer): SignedDataParts {
  const outer = readElement(contentInfo);
  if (outer.tag !== TAG.sequence || outer.raw.length !== contentInfo.length) throw new DerError('not one DER ContentInfo');
  const [type, explicit] = children(outer.contents);
  if (!type || !type.raw.equals(oidDer(CMS_OID.signedData)) || explicit?.tag !== TAG.context0) throw new DerError('the ContentInfo is not SignedData');
  const signedData = readElement(explicit.contents);
  const fields = children(signedData.contents);
  const head = fields.slice(0, 3);
  if (head.length !== 3 || head[0]!.tag !== TAG.integer || head[1]!.tag !== TAG.set || head[2]!.tag !== TAG.sequence) throw new DerError('malformed SignedData');
  let i = 3;
  const certificates = fields[i]?.tag === TAG.context0 ? children(fields[i++]!.contents) : [];
  const crls = fields[i]?.tag === TAG.context1 ? fields[i++] : undefined;
  const signerInfos = fields[i];
  if (signerInfos?.tag !== TAG.set || i !== fields.length - 1) throw new DerError('malformed SignedData signerInfos');
  const signers = children(signerInfos.contents);
  if (signers.length !== 1 || signers[0]!.tag !== TAG.sequence) throw new DerError(`SignedData has ${signers.length} signers, not exactly one`);
  const signerFields = children(signers[0]!.contents);
  const unsigned = signerFields.at(-1)?.tag === TAG.context1 ? signerFields.pop()! : undefined;
  const signature = signerFields.at(-1);
  if (signature?.tag !== TAG.octetString || signerFields.length < 5) throw new DerError('malformed SignerInfo');
  return {
    head, certificates, ...(crls ? { crls } : {}), signerHead: signerFields.slice(0, -1), signature,
    unsignedAttributes: unsigned ? children(unsigned.contents) : [],
  };
}

export function assembleSignedData(parts: SignedDataParts): Buffer {
  const unsigned = parts.unsignedAttributes.length > 0 ? [tlv(TAG.context1, ...parts.unsignedAttributes.map((a) => a.raw).sort(Buffer.compare))] : [];
  const signerInfo = tlv(TAG.sequence, ...parts.signerHead.map((f) => f.raw), parts.signature.raw, ...unsigned);
  const certificates = parts.certificates.length > 0 ? [tlv(TAG.context0, ...parts.certificates.map((c) => c.raw))] : [];
  const signedData = tlv(TAG.sequence, ...parts.head.map((f) => f.raw), ...certificates, ...(parts.crls ? [parts.crls.raw] : []), tlv(TAG.set, signerInfo));
  return tlv(TAG.sequence, oidDer(CMS_OID.signedData), tlv(TAG.context0, signedData));
}

/** The contents of the one SignerInfo's signature OCTET STRING: what a countersignature digests. */
export function signerSignatureValue(contentInfo: Buffer): Buffer {
  return parseSignedData(contentInfo).signature.contents;
}

/** The SignerInfo DER of every countersignature on the one SignerInfo, in order. */
export function countersignatures(parts: SignedDataParts): Buffer[] {
  return parts.unsignedAttributes.flatMap((attribute) => {
    const [type, values] = children(attribute.contents);
    if (!type?.raw.equals(oidDer(CMS_OID.countersignature)) || values?.tag !== TAG.set) return [];
    return children(values.contents).map((v) => Buffer.from(v.raw));
  });
}

/**
 * Keeps only the countersignatures `keep` accepts (each given as its SignerInfo DER); other
 * unsigned attributes stay. Certificates are left as they were.
 */
export function filterCountersignatures(contentInfo: Buffer, keep: (signerInfo: Buffer) => boolean): Buffer {
  const parts = parseSignedData(contentInfo);
  const attributes: DerElement[] = [];
  for (const attribute of parts.unsignedAttributes) {
    const [type, values] = children(attribute.contents);
    if (!type?.raw.equals(oidDer(CMS_OID.countersignature)) || values?.tag !== TAG.set) {
      attributes.push(attribute);
      continue;
    }
    const kept = children(values.contents).filter((v) => keep(Buffer.from(v.raw)));
    if (kept.length > 0) attributes.push(readElement(tlv(TAG.sequence, type.raw, tlv(TAG.set, ...kept.map((v) => v.raw).sort(Buffer.compare)))));
  }
  return assembleSignedData({ ...parts, unsignedAttributes: attributes });
}

/** Adds `counterSigner` as a countersignature of the one SignerInfo and `chainDer` to the certificates. */
export function countersignContentInfo(contentInfo: Buffer, counterSigner: pkijs.SignerInfo, chainDer: readonly Buffer[]): Buffer {
  const parts = parseSignedData(contentInfo);
  const value = Buffer.from(counterSigner.toSchema().toBER(false));
  const attribute = readElement(attributeDer({ oid: CMS_OID.countersignature, values: [value] }));
  const known = new Set(parts.certificates.map((c) => c.raw.toString('hex')));
  const added = chainDer.filter((der) => !known.has(der.toString('hex'))).map((der) => readElement(der));
  return assembleSignedData({ ...parts, certificates: [...parts.certificates, ...added], unsignedAttributes: [...parts.unsignedAttributes, attribute] });
}
