/**
 * CMS SignedData (RFC 5652, https://www.rfc-editor.org/rfc/rfc5652) made by an org X.509 leaf,
 * assembled with pkijs. The signature value itself comes from the caller's `signMessage` (the
 * key store's signer, through the signing ledger), so private keys never reach this module.
 *
 * Profile: SignedData v1 and SignerInfo v1 (issuerAndSerialNumber), SHA-256 digest algorithm
 * without parameters, signature rsaEncryption (NULL parameters) or ecdsa-with-SHA256 (none),
 * certificates = the leaf's chain, root included. With signed attributes the DER SET OF is
 * sorted and signed as SET (0x31), as §5.4 says; without them the signature is over the content
 * itself (Swift cms-1.0.0).
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { CmsAttribute, CmsSignOptions } from '../formats/types.js';
import { attributeDer, CMS_OID, contentTypeAttribute, messageDigestAttribute, signingCertificateV2Attribute } from './cms-attributes.js';
import { countersignContentInfo, signerSignatureValue } from './cms-countersign.js';

/** What signs: the leaf's certificates and a function over the message bytes. */
export interface CmsLeaf {
  /** The leaf first, then its issuers up to the root. */
  chainDer: readonly Buffer[];
  keyType: 'rsa' | 'ecdsa';
  /** RSASSA-PKCS1-v1_5 or DER ECDSA with SHA-256 over `message`. */
  signMessage(message: Buffer): Buffer | Promise<Buffer>;
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

function parseDer(bytes: Buffer): asn1js.AsnType {
  const parsed = asn1js.fromBER(toArrayBuffer(bytes));
  if (parsed.offset === -1) throw new Error(`cannot parse DER: ${parsed.result.error}`);
  return parsed.result;
}

function signatureAlgorithm(keyType: 'rsa' | 'ecdsa'): pkijs.AlgorithmIdentifier {
  return keyType === 'rsa'
    ? new pkijs.AlgorithmIdentifier({ algorithmId: CMS_OID.rsaEncryption, algorithmParams: new asn1js.Null() })
    : new pkijs.AlgorithmIdentifier({ algorithmId: CMS_OID.ecdsaWithSha256 });
}

/** Attributes as pkijs objects, in DER SET OF order (sorted by their encodings). */
function sortedAttributes(attributes: CmsAttribute[]): pkijs.Attribute[] {
  const seen = new Set<string>();
  for (const a of attributes) {
    if (seen.has(a.oid)) throw new Error(`signed attribute ${a.oid} is given twice`);
    seen.add(a.oid);
  }
  return attributes
    .map((a) => ({ der: attributeDer(a), a }))
    .sort((x, y) => Buffer.compare(x.der, y.der))
    .map(({ a }) => new pkijs.Attribute({ type: a.oid, values: a.values.map(parseDer) }));
}

/**
 * A SignerInfo by `leaf` over `content` (or, with attributes, over them). `firstAttributes` are the
 * ones the signer adds for this use (content-type and message-digest, or message-digest alone for
 * a countersignature); `options.signedAttributes` and signing-certificate-v2 follow.
 */
export async function makeSignerInfo(leaf: CmsLeaf, content: Buffer, options: Pick<CmsSignOptions, 'signedAttributes' | 'signingCertificateV2'>, countersignature: boolean): Promise<pkijs.SignerInfo> {
  const cert = pkijs.Certificate.fromBER(toArrayBuffer(leaf.chainDer[0]!));
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: CMS_OID.sha256 }),
    signatureAlgorithm: signatureAlgorithm(leaf.keyType),
  });
  let message = content;
  if (options.signedAttributes !== 'none') {
    const digest = createHash('sha256').update(content).digest();
    const attributes: CmsAttribute[] = [
      ...(countersignature ? [] : [contentTypeAttribute()]),
      messageDigestAttribute(digest),
      ...options.signedAttributes,
      ...(options.signingCertificateV2 ? [signingCertificateV2Attribute(leaf.chainDer[0]!)] : []),
    ];
    signerInfo.signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sortedAttributes(attributes) });
    // The signature covers the attributes encoded as a SET (tag 0x31), not as [0] (RFC 5652 §5.4).
    message = Buffer.from(signerInfo.signedAttrs.toSchema().toBER(false));
    message[0] = 0x31;
  } else if (options.signingCertificateV2) {
    throw new Error('signing-certificate-v2 is a signed attribute: it cannot go with signedAttributes "none"');
  }
  signerInfo.signature = new asn1js.OctetString({ valueHex: toArrayBuffer(await leaf.signMessage(message)) });
  return signerInfo;
}

/** SignedData by `leaf` over `data`, as a DER ContentInfo; see CmsSignOptions. */
export async function cmsSign(leaf: CmsLeaf, data: Buffer, options: CmsSignOptions): Promise<Buffer> {
  if (options.countersign) return countersignContentInfo(data, await makeSignerInfo(leaf, signerSignatureValue(data), options, true), leaf.chainDer);
  const signerInfo = await makeSignerInfo(leaf, data, options, false);
  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: CMS_OID.sha256 })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: CMS_OID.data }),
    certificates: leaf.chainDer.map((der) => pkijs.Certificate.fromBER(toArrayBuffer(der))),
    signerInfos: [signerInfo],
  });
  // Set after construction: pkijs' constructor would turn it into a constructed (BER) OCTET STRING.
  if (!options.detached) signedData.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: toArrayBuffer(data) });
  const contentInfo = new pkijs.ContentInfo({ contentType: CMS_OID.signedData, content: signedData.toSchema(true) });
  return Buffer.from(contentInfo.toSchema().toBER(false));
}
