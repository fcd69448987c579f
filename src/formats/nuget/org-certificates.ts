/**
 * The org certificates NuGet clients trust this repository's signatures by: every primary RSA
 * code-signing leaf that is not revoked (active first; retired ones keep old signatures valid),
 * published in the RepositorySignatures resource and pinned by fingerprint in nuget.config.
 * The unverified leaves are never listed: clients must not trust what they signed.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { OrgPublicKeys } from '../types.js';

export interface OrgCertificate {
  der: Buffer;
  /** Lowercase hex SHA-256 of the DER. */
  sha256: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
}

export function orgSigningCertificates(keys: OrgPublicKeys): OrgCertificate[] {
  return keys.list()
    .filter((k) => k.kind === 'x509-rsa' && k.status !== 'revoked')
    .map((k) => {
      const leafPem = keys.exportPublic('x509-rsa', k.id).split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n';
      const cert = new X509Certificate(leafPem);
      return {
        der: Buffer.from(cert.raw),
        sha256: createHash('sha256').update(cert.raw).digest('hex'),
        subject: rfc4514(cert.subject),
        issuer: rfc4514(cert.issuer),
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
      };
    });
}

/** Node prints names one attribute per line, most significant first; NuGet shows "CN=…, O=…". */
function rfc4514(name: string): string {
  return name.split('\n').filter(Boolean).reverse().join(', ');
}

/** DateTimeOffset as .NET writes it in the RepositorySignatures resource. */
function dotnetTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}.0000000Z`;
}

/** The RepositorySignatures/5.0.0 resource document (https://learn.microsoft.com/en-us/nuget/api/repository-signatures-resource). */
export function repositorySignaturesDocument(certs: OrgCertificate[], repositoryUrl: string): Buffer {
  return Buffer.from(JSON.stringify({
    allRepositorySigned: true,
    signingCertificates: certs.map((c) => ({
      fingerprints: { '2.16.840.1.101.3.4.2.1': c.sha256 },
      subject: c.subject,
      issuer: c.issuer,
      notBefore: dotnetTime(c.notBefore),
      notAfter: dotnetTime(c.notAfter),
      contentUrl: `${repositoryUrl}/-/nuget/certificates/${c.sha256}.crt`,
    })),
  }, null, 2));
}
