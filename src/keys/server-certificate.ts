/**
 * TLS certificates for the mirror's HTTPS listener, issued by the org CA for the configured
 * hosts so clients that trust ca.pem trust the listener. The listener's key is made fresh
 * and handed to the caller; it is not an organisation key and is not kept in the store.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { MirrorError } from '../errors.js';
import type { CaSource } from './generate-keys.js';
import { derToPem, issueCertificate, SERVER_VALIDITY_YEARS } from './generate-x509.js';
import { exportPrivatePem, generateNodeKey } from './pem-keys.js';
import type { IssuedServerCertificate } from './types.js';

const HOST = /^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export async function issueServerCertificate(hosts: string[], ca: CaSource, organization: string): Promise<IssuedServerCertificate> {
  if (hosts.length === 0) throw new MirrorError('KEY_ERROR', 'A server certificate needs at least one host name or IP address');
  for (const host of hosts) {
    if (isIP(host) === 0 && !HOST.test(host)) throw new MirrorError('KEY_ERROR', `"${host}" is not a host name or IP address`, { host });
  }
  const key = await generateNodeKey({ type: 'ec', curve: 'P-256' });
  const der = await issueCertificate({
    subjectKey: key,
    commonName: hosts[0]!,
    organization,
    profile: { type: 'tls-server', hosts },
    validityYears: SERVER_VALIDITY_YEARS,
    issuer: { certDer: ca.certDer, privateKey: ca.privateKey },
  });
  const certPem = derToPem(der);
  return { certPem, chainPem: certPem + new X509Certificate(ca.certDer).toString(), keyPem: exportPrivatePem(key, undefined) };
}
