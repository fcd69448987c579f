/**
 * Verifies an upstream Swift package signature (`cms-1.0.0`, SE-0391 "Package signature format
 * cms-1.0.0": https://github.com/swiftlang/swift-evolution/blob/main/proposals/0391-package-registry-publish.md)
 * against the roots the operator pinned: a detached CMS SignedData (RFC 5652) with one signer,
 * SHA-256, ECDSA P-256, its chain in `certificates`, the leaf carrying the codeSigning EKU as
 * SwiftPM's verifier policy demands.
 *
 * The signature and its certificates are upstream bytes: attacker-controlled. Only the digest of
 * the signed content is needed: without signed attributes the ECDSA signature is over SHA-256 of
 * the content itself, so a release's metadata can be checked against the checksum it names, and
 * the core then holds the archive to that checksum.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_DATA = '1.2.840.113549.1.7.1';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const MAX_CHAIN = 6;
export const MAX_SIGNATURE_BYTES = 64 * 1024;

export type CmsCheck = { ok: true; leaf: X509Certificate; root: X509Certificate } | { ok: false; reason: string };

/** Checks `signature` (DER) over content whose SHA-256 is `contentSha256` (hex), chained to one of `roots`. */
export function verifyCmsSignature(signature: Buffer, contentSha256: string, roots: readonly X509Certificate[]): CmsCheck {
  if (signature.length > MAX_SIGNATURE_BYTES) return { ok: false, reason: `the signature is larger than ${MAX_SIGNATURE_BYTES} bytes` };
  let signed: pkijs.SignedData;
  try {
    const parsed = asn1js.fromBER(new Uint8Array(signature));
    if (parsed.offset === -1 || parsed.offset !== signature.length) return { ok: false, reason: 'the signature is not one DER structure' };
    const info = new pkijs.ContentInfo({ schema: parsed.result });
    if (info.contentType !== SIGNED_DATA) return { ok: false, reason: `the signature is a ${info.contentType}, not a SignedData` };
    signed = new pkijs.SignedData({ schema: info.content });
  } catch (err) {
    return { ok: false, reason: `the signature does not parse as CMS: ${(err as Error).message}` };
  }
  if (signed.encapContentInfo.eContentType !== ID_DATA) return { ok: false, reason: 'the signed content type is not id-data' };
  if (signed.encapContentInfo.eContent) return { ok: false, reason: 'the signature carries its content (cms-1.0.0 signatures are detached)' };
  if (signed.signerInfos.length !== 1) return { ok: false, reason: `the signature has ${signed.signerInfos.length} signers, not one` };
  const signer = signed.signerInfos[0]!;
  if (signer.digestAlgorithm.algorithmId !== SHA256) return { ok: false, reason: `the digest algorithm is ${signer.digestAlgorithm.algorithmId}, not SHA-256` };
  if (signer.signatureAlgorithm.algorithmId !== ECDSA_SHA256 && signer.signatureAlgorithm.algorithmId !== EC_PUBLIC_KEY) {
    return { ok: false, reason: `the signature algorithm is ${signer.signatureAlgorithm.algorithmId}, not ECDSA with SHA-256` };
  }
  const certs = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map(toNodeCertificate);
  const leaf = findSigner(signer, certs);
  if (!leaf) return { ok: false, reason: 'the signing certificate is not in the signature' };

  const digest = Buffer.from(contentSha256, 'hex');
  let signedHash = digest;
  if (signer.signedAttrs) {
    const md = signer.signedAttrs.attributes.find((a) => a.type === MESSAGE_DIGEST)?.values[0];
    if (!(md instanceof asn1js.OctetString) || !Buffer.from(md.valueBlock.valueHexView).equals(digest)) {
      return { ok: false, reason: 'the signed message digest does not match the content' };
    }
    // Signed attributes are signed as a SET OF (tag 0x31), not as the [0] they are stored under.
    const encoded = Buffer.from(signer.signedAttrs.encodedValue);
    signedHash = createHash('sha256').update(Buffer.concat([Buffer.from([0x31]), encoded.subarray(1)])).digest();
  }
  const point = p256PublicKey(leaf);
  if (!point) return { ok: false, reason: 'the signing certificate does not hold an ECDSA P-256 key' };
  let valid = false;
  try {
    valid = p256.verify(new Uint8Array(signer.signature.valueBlock.valueHexView), new Uint8Array(signedHash), point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'the ECDSA signature does not verify over the content' };
  if (!(leaf.keyUsage ?? []).includes(CODE_SIGNING)) return { ok: false, reason: 'the signing certificate lacks the codeSigning extended key usage' };
  const chain = chainToRoot(leaf, certs, roots);
  if (!chain.ok) return chain;
  return { ok: true, leaf, root: chain.root };
}

/** Follows issuers from the leaf through the signature's certificates up to a pinned root. */
function chainToRoot(leaf: X509Certificate, certs: X509Certificate[], roots: readonly X509Certificate[]): { ok: true; root: X509Certificate } | { ok: false; reason: string } {
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const root = roots.find((r) => current.checkIssued(r) && current.verify(r.publicKey));
    if (root) return { ok: true, root };
    if (roots.some((r) => r.fingerprint256 === current.fingerprint256)) return { ok: true, root: current };
    const next = certs.find((c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next) break;
    current = next;
  }
  return { ok: false, reason: `the signing certificate ("${oneLine(leaf.subject)}", issued by "${oneLine(leaf.issuer)}") does not chain to a root in trust.roots` };
}

function findSigner(signer: pkijs.SignerInfo, certs: X509Certificate[]): X509Certificate | undefined {
  const sid = signer.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    const serial = Buffer.from(sid.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^(00)+(?=.)/, '').toUpperCase();
    const issuerDer = Buffer.from(sid.issuer.toSchema().toBER(false));
    return certs.find((c) => c.serialNumber.replace(/^(00)+(?=.)/, '').toUpperCase() === serial
      && Buffer.from(pkijs.Certificate.fromBER(new Uint8Array(c.raw)).issuer.toSchema().toBER(false)).equals(issuerDer));
  }
  return undefined;
}

function toNodeCertificate(cert: pkijs.Certificate): X509Certificate {
  return new X509Certificate(Buffer.from(cert.toSchema().toBER(false)));
}

function p256PublicKey(cert: X509Certificate): Uint8Array | undefined {
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) return undefined;
  return new Uint8Array(Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]));
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ', ');
}

/** Parses the PEM or DER certificates of a trust.roots file. */
export function readRootCertificates(bytes: Buffer, file: string): X509Certificate[] {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((b) => new X509Certificate(b));
  }
  try {
    return [new X509Certificate(bytes)];
  } catch (err) {
    throw new Error(`${file} holds no PEM or DER certificate: ${(err as Error).message}`);
  }
}
