/**
 * The content a NuGet package signature encapsulates: the package hash as text.
 * https://github.com/NuGet/Home/wiki/Package-Signatures-Technical-Details ; NuGet.Client
 * src/NuGet.Core/NuGet.Packaging/Signing/Content/SignatureContent.cs and KeyPairFileWriter.cs:
 * UTF-8 without BOM, LF line ends, `Version:1`, an empty line, `<hash OID>-Hash:<base64>`, an empty line.
 * Parsed from upstream signatures: attacker-controlled, so the grammar is checked exactly.
 */
import { createHash } from 'node:crypto';

export const HASH_OIDS = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
} as const;

export type PackageHashAlgorithm = (typeof HASH_OIDS)[keyof typeof HASH_OIDS];

export interface SignatureContent {
  algorithm: PackageHashAlgorithm;
  hash: Buffer;
}

/** The content for a SHA-256 package hash of the unsigned package bytes. */
export function signatureContent(unsignedPackage: Buffer): Buffer {
  const hash = createHash('sha256').update(unsignedPackage).digest('base64');
  return Buffer.from(`Version:1\n\n2.16.840.1.101.3.4.2.1-Hash:${hash}\n\n`, 'utf8');
}

const CONTENT = /^Version:1\n\n(2\.16\.840\.1\.101\.3\.4\.2\.[123])-Hash:([A-Za-z0-9+/]+={0,2})\n\n$/;

export function parseSignatureContent(bytes: Buffer): SignatureContent | undefined {
  if (bytes.length > 1024) return undefined;
  const m = CONTENT.exec(bytes.toString('utf8'));
  if (!m) return undefined;
  const algorithm = HASH_OIDS[m[1] as keyof typeof HASH_OIDS];
  const hash = Buffer.from(m[2]!, 'base64');
  return hash.length === createHash(algorithm).digest().length ? { algorithm, hash } : undefined;
}
