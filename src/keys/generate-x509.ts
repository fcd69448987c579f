/**
 * X.509 certificates made with pkijs: the org root CA (self-signed), code-signing leaves
 * (NuGet: RSA; Swift: ECDSA P-256) and TLS server certificates. The root is RSA because
 * NuGet refuses a signing certificate whose own signature is not RSA (SHA-2 with RSA).
 */
import { createHash, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { defaultHashFor, pkijsEngine, toSigningCryptoKey } from '../signing/pkijs-engine.js';
import { spkiDer } from './key-ids.js';

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

const YEAR_MS = 365.25 * 24 * 3600 * 1000;
export const CA_VALIDITY_YEARS = 20;
export const LEAF_VALIDITY_YEARS = 5;
export const SERVER_VALIDITY_YEARS = 1;

export interface Issuer {
  certDer: Buffer;
  privateKey: KeyObject;
}

export type CertificateProfile =
  | { type: 'ca' }
  | { type: 'code-signing' }
  | { type: 'tls-server'; hosts: string[] };

function name(commonName: string, organization: string | undefined): pkijs.RelativeDistinguishedNames {
  const attributes: Array<[string, string]> = organization ? [[OID.organization, organization]] : [];
  attributes.push([OID.commonName, commonName]);
  // pkijs would put every attribute in one multi-valued RDN ("O=a + CN=b"); build one SET per
  // attribute instead, as every CA does, and let pkijs keep these exact bytes.
  const der = new asn1js.Sequence({
    value: attributes.map(([type, value]) => new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) }).toSchema()] })),
  }).toBER(false);
  return pkijs.RelativeDistinguishedNames.fromBER(der);
}

function time(date: Date): pkijs.Time {
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return new pkijs.Time({ type: date.getUTCFullYear() >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime, value: date });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifier(spki: pkijs.PublicKeyInfo): ArrayBuffer {
  const digest = createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
  return new Uint8Array(digest).buffer;
}

function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock }): pkijs.Extension {
  const block = value instanceof asn1js.BaseBlock ? value : value.toSchema();
  return new pkijs.Extension({ extnID, critical, extnValue: block.toBER(false) });
}

/** The issuer's own SKI when present, so AKI matches what chain builders compare. */
function issuerKeyId(issuer: pkijs.Certificate): ArrayBuffer {
  const ski = issuer.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
  if (ski) {
    const parsed = asn1js.fromBER(ski.extnValue.valueBlock.valueHexView);
    if (parsed.result instanceof asn1js.OctetString) return parsed.result.valueBlock.valueHexView.slice().buffer;
  }
  return keyIdentifier(issuer.subjectPublicKeyInfo);
}

function keyUsage(bits: number, unusedBits: number): asn1js.BitString {
  return new asn1js.BitString({ valueHex: new Uint8Array([bits]).buffer, unusedBits });
}

function subjectAltNames(hosts: string[]): pkijs.GeneralNames {
  const names = hosts.map((host) => {
    const family = isIP(host);
    if (family === 0) return new pkijs.GeneralName({ type: 2, value: host });
    const bytes = family === 4 ? host.split('.').map(Number) : ipv6Bytes(host);
    return new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: new Uint8Array(bytes).buffer }) });
  });
  return new pkijs.GeneralNames({ names });
}

function ipv6Bytes(host: string): number[] {
  const [head = '', tail = ''] = host.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  const t = host.includes('::') ? parse(tail) : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
}

function profileExtensions(profile: CertificateProfile, spki: pkijs.PublicKeyInfo, issuer: pkijs.Certificate | undefined): pkijs.Extension[] {
  const exts = [extension(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: keyIdentifier(spki) }))];
  if (issuer) {
    exts.push(extension(OID.authorityKeyIdentifier, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: issuerKeyId(issuer) }) })));
  }
  switch (profile.type) {
    case 'ca':
      // Path length 0: this root signs leaves only.
      exts.push(extension(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 })));
      exts.push(extension(OID.keyUsage, true, keyUsage(0x06, 1))); // keyCertSign | cRLSign
      break;
    case 'code-signing':
      exts.push(extension(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })));
      exts.push(extension(OID.keyUsage, true, keyUsage(0x80, 7))); // digitalSignature
      exts.push(extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.codeSigning] })));
      break;
    case 'tls-server':
      exts.push(extension(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })));
      exts.push(extension(OID.keyUsage, true, keyUsage(0x80, 7)));
      exts.push(extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.serverAuth] })));
      exts.push(extension(OID.subjectAltName, false, subjectAltNames(profile.hosts)));
      break;
  }
  return exts;
}

export interface CertificateRequest {
  subjectKey: KeyObject;
  commonName: string;
  organization?: string;
  profile: CertificateProfile;
  validityYears: number;
  /** Absent: self-signed by subjectKey. */
  issuer?: Issuer;
  now?: Date;
}

/** Issues a certificate and returns its DER. Never outlives its issuer. */
export async function issueCertificate(req: CertificateRequest): Promise<Buffer> {
  const engine = pkijsEngine();
  const issuerCert = req.issuer ? pkijs.Certificate.fromBER(req.issuer.certDer) : undefined;
  const signingKey = req.issuer?.privateKey ?? req.subjectKey;
  const now = req.now ?? new Date();
  let notAfter = new Date(now.getTime() + req.validityYears * YEAR_MS);
  if (issuerCert && issuerCert.notAfter.value < notAfter) notAfter = issuerCert.notAfter.value;

  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and minimally encoded
  cert.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(serial).buffer });
  cert.subject = name(req.commonName, req.organization);
  cert.issuer = issuerCert ? issuerCert.subject : cert.subject;
  // Five minutes of slack for clients whose clocks run a little behind.
  cert.notBefore = time(new Date(now.getTime() - 5 * 60 * 1000));
  cert.notAfter = time(notAfter);
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(spkiDer(req.subjectKey)));
  cert.extensions = profileExtensions(req.profile, cert.subjectPublicKeyInfo, issuerCert);

  const hash = defaultHashFor(signingKey);
  await cert.sign(await toSigningCryptoKey(signingKey, hash), hash, engine);
  return Buffer.from(cert.toSchema(true).toBER(false));
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Splits a PEM bundle into certificates, in order. */
export function splitCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
