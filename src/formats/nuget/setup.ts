/**
 * The client side of a NuGet repository, served at `/<repo>/-/setup`: a nuget.config with the
 * source, `signatureValidationMode=require` and the org signing certificates as trustedSigners.
 * Fingerprints are UPPERCASE hex: NuGet's allowUntrustedRoot lookup compares them ordinally
 * (CertificateUtility.GetHashString); allowUntrustedRoot because the org root is in no system store.
 */
import type { VerifyMode } from '../types.js';
import type { OrgCertificate } from './org-certificates.js';

function xmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function nugetConfig(repository: string, repositoryUrl: string, certs: OrgCertificate[], mode: VerifyMode): string {
  const serviceIndex = `${repositoryUrl}/index.json`;
  const warn = mode === 'require'
    ? []
    : [
      `  <!-- verify: ${mode}: packages the upstream did not sign verifiably are served signed by the`,
      "       organisation's separate *unverified* certificate, which is not listed below: NuGet refuses them. -->",
    ];
  const https = serviceIndex.startsWith('https://')
    ? []
    : ['  <!-- NuGet reads repository signature certificates only over HTTPS: set publicUrl to the mirror\'s https address. -->'];
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<!-- NuGet through Countersign: every package is repository-signed by the organisation. -->',
    '<configuration>',
    ...https,
    ...warn,
    '  <packageSources>',
    '    <clear />',
    `    <add key="${xmlAttr(repository)}" value="${xmlAttr(serviceIndex)}" protocolVersion="3" />`,
    '  </packageSources>',
    '  <config>',
    '    <add key="signatureValidationMode" value="require" />',
    '  </config>',
    '  <trustedSigners>',
    `    <repository name="${xmlAttr(repository)}" serviceIndex="${xmlAttr(serviceIndex)}">`,
    ...certs.map((c) => `      <certificate fingerprint="${c.sha256.toUpperCase()}" hashAlgorithm="SHA256" allowUntrustedRoot="true" />`),
    '    </repository>',
    '  </trustedSigners>',
    '</configuration>',
    '',
  ].join('\n');
}
