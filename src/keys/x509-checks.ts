/**
 * Checks on certificates the organisation imports: that they are what the kind promises
 * (a root CA; a code-signing leaf), that they are in date, and that a chain links up.
 */
import type { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const KEY_USAGE_OID = '2.5.29.15';
const CODE_SIGNING_OID = '1.3.6.1.5.5.7.3.3';
export const KU_DIGITAL_SIGNATURE = 0x80;
export const KU_KEY_CERT_SIGN = 0x04;

/** First byte of the keyUsage bit string (bits 0–7), or undefined when the extension is absent. */
export function keyUsageBits(cert: X509Certificate): number | undefined {
  const parsed = pkijs.Certificate.fromBER(new Uint8Array(cert.raw));
  const ext = parsed.extensions?.find((e) => e.extnID === KEY_USAGE_OID);
  if (!ext) return undefined;
  const bits = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView).result;
  if (!(bits instanceof asn1js.BitString)) return 0;
  return bits.valueBlock.valueHexView[0] ?? 0;
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Problems with `certs` as [leaf, …issuers]; empty when the chain links up. */
export function chainProblems(certs: readonly X509Certificate[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!issuedBy(certs[i]!, certs[i + 1]!)) problems.push(`certificate ${i + 1} ("${certs[i]!.subject.replace(/\n/g, ', ')}") is not issued by certificate ${i + 2}`);
  }
  return problems;
}

export function validityProblem(cert: X509Certificate, now: Date): string | undefined {
  if (new Date(cert.validTo) <= now) return `it expired on ${new Date(cert.validTo).toISOString()}`;
  if (new Date(cert.validFrom) > now) return `it is not valid before ${new Date(cert.validFrom).toISOString()}`;
  return undefined;
}

/** Problems that stop `cert` from being used as a code-signing leaf. */
export function codeSigningProblems(cert: X509Certificate): string[] {
  const problems: string[] = [];
  if (cert.ca) problems.push('it is a CA certificate, not a leaf');
  // Node exposes extendedKeyUsage as `keyUsage`; absent means any purpose.
  const eku = cert.keyUsage;
  if (eku && !eku.includes(CODE_SIGNING_OID)) problems.push('its extendedKeyUsage lacks codeSigning');
  const ku = keyUsageBits(cert);
  if (ku !== undefined && (ku & KU_DIGITAL_SIGNATURE) === 0) problems.push('its keyUsage lacks digitalSignature');
  return problems;
}

/** Problems that stop `cert` from being used as the org root CA. */
export function caProblems(cert: X509Certificate): string[] {
  const problems: string[] = [];
  if (!cert.ca) problems.push('basicConstraints does not mark it as a CA');
  const ku = keyUsageBits(cert);
  if (ku !== undefined && (ku & KU_KEY_CERT_SIGN) === 0) problems.push('its keyUsage lacks keyCertSign');
  if (!isSelfSigned(cert)) problems.push('it is not self-signed (import a root; leaves under an intermediate can be imported with their chain)');
  return problems;
}
