/**
 * Turns material the organisation supplies into a PendingKey of the requested kind, or
 * refuses it with a KEY_ERROR that says why. Messages name the kind and the problem; they
 * never echo the material.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { MirrorError } from '../errors.js';
import { describeOpenPgpKey, loadOpenPgpPrivateKey } from './generate-openpgp.js';
import { chooseRsaKeyName, type CaSource, type GenerateContext } from './generate-keys.js';
import { splitCertificates } from './generate-x509.js';
import { spkiDer } from './key-ids.js';
import { pendingCertified, pendingNodeKey, pendingOpenPgp, type OpenPgpKind, type PendingKey } from './key-material.js';
import { kindFor, roleOf } from './key-roles.js';
import { curveFromNodeName, loadPrivatePem } from './pem-keys.js';
import type { KeyKind, KeyRole } from './types.js';
import { caProblems, chainProblems, codeSigningProblems, issuedBy, validityProblem } from './x509-checks.js';

const PRIVATE_PEM = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;
const MIN_RSA_BITS = 2048;

function reject(kind: KeyKind, reason: string): MirrorError {
  return new MirrorError('KEY_ERROR', `Cannot import the ${kind} key: ${reason}`, { kind });
}

function checkNodeKey(kind: KeyKind, key: KeyObject, want: 'rsa' | 'ec' | 'ed25519', curves?: readonly string[]): void {
  if (key.asymmetricKeyType !== want) throw reject(kind, `expected a ${want} private key, got ${key.asymmetricKeyType}`);
  if (want === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw reject(kind, `RSA keys must have at least ${MIN_RSA_BITS} bits, this one has ${bits}`);
  }
  if (want === 'ec' && curves) {
    const curve = curveFromNodeName(key.asymmetricKeyDetails?.namedCurve);
    if (!curve || !curves.includes(curve)) throw reject(kind, `curve ${curve ?? key.asymmetricKeyDetails?.namedCurve} is not allowed here (allowed: ${curves.join(', ')})`);
  }
}

async function importOpenPgp(material: string, passphrase: string | undefined, ctx: GenerateContext, kind: OpenPgpKind): Promise<PendingKey> {
  const key = await loadOpenPgpPrivateKey(material, passphrase, 'being imported');
  if (key.keyPacket.version !== 4) throw reject(kind, `v${key.keyPacket.version} keys are not read by gpg 2.2/2.4; use a v4 key`);
  const primary = key.getAlgorithmInfo();
  if (primary.algorithm.startsWith('rsa') && (primary.bits ?? 0) < MIN_RSA_BITS) throw reject(kind, `RSA keys must have at least ${MIN_RSA_BITS} bits, this one has ${primary.bits}`);
  try {
    await key.verifyPrimaryKey();
  } catch (err) {
    throw reject(kind, `the primary key is not usable: ${(err as Error).message}`);
  }
  let signing;
  try {
    signing = await key.getSigningKey();
  } catch (err) {
    throw reject(kind, `it has no usable signing key or subkey (${(err as Error).message})`);
  }
  const info = signing.getAlgorithmInfo();
  if (info.algorithm.startsWith('rsa') && (info.bits ?? 0) < MIN_RSA_BITS) throw reject(kind, `the RSA signing key has ${info.bits} bits (minimum ${MIN_RSA_BITS})`);
  if (!['rsaSign', 'rsaEncryptSign', 'eddsaLegacy', 'ed25519', 'ecdsa'].includes(info.algorithm)) {
    throw reject(kind, `signing algorithm ${info.algorithm} is not supported`);
  }
  ctx.log({ kind, algorithm: describeOpenPgpKey(key) }, 'importing OpenPGP key');
  return pendingOpenPgp(key, ctx, kind);
}

function privateKeyFrom(kind: KeyKind, material: string, passphrase: string | undefined): KeyObject {
  const block = PRIVATE_PEM.exec(material)?.[0];
  if (!block) throw reject(kind, 'no PEM private key found (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY")');
  return loadPrivatePem(block, passphrase, 'being imported');
}

function certificatesFrom(kind: KeyKind, material: string): X509Certificate[] {
  try {
    const certs = splitCertificates(material);
    if (certs.length === 0) throw new Error('no PEM certificate found');
    return certs;
  } catch (err) {
    throw reject(kind, (err as Error).message);
  }
}

function importCa(material: string, passphrase: string | undefined, ctx: GenerateContext, kind: 'x509-ca' | 'x509-ca-unverified' = 'x509-ca'): PendingKey {
  const key = privateKeyFrom(kind, material, passphrase);
  const [cert, ...rest] = certificatesFrom(kind, material);
  if (rest.length > 0) throw reject(kind, 'give only the root certificate and its private key');
  if (key.asymmetricKeyType === 'ec') checkNodeKey(kind, key, 'ec', ['P-256', 'P-384', 'P-521']);
  else checkNodeKey(kind, key, 'rsa');
  if (!cert!.checkPrivateKey(key)) throw reject(kind, 'the private key does not match the certificate');
  const problems = [...caProblems(cert!), validityProblem(cert!, ctx.now)].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw reject(kind, problems.join('; '));
  if (key.asymmetricKeyType === 'ec') {
    ctx.log({ kind }, 'the imported CA is ECDSA: NuGet clients accept only RSA-signed signing certificates');
  }
  return pendingCertified(kind, key, [cert!], ctx);
}

function importLeaf(type: 'rsa' | 'ecdsa', material: string, passphrase: string | undefined, ctx: GenerateContext, ca: CaSource | undefined, role: KeyRole = 'primary'): PendingKey {
  const kind = kindFor(`x509-${type}`, role);
  const key = privateKeyFrom(kind, material, passphrase);
  if (type === 'rsa') checkNodeKey(kind, key, 'rsa');
  // Swift's package signing (cms-1.0.0) accepts ECDSA P-256 only.
  else checkNodeKey(kind, key, 'ec', ['P-256']);
  const certs = certificatesFrom(kind, material);
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(key)) throw reject(kind, 'the private key does not match the certificate');
  const problems = [...codeSigningProblems(leaf), validityProblem(leaf, ctx.now)].filter((p): p is string => p !== undefined);
  let issuerId: string | undefined;
  if (certs.length === 1) {
    // No chain given: the leaf must come from our CA, whose certificate completes the chain.
    const caCert = ca ? new X509Certificate(ca.certDer) : undefined;
    if (!caCert || !issuedBy(leaf, caCert)) problems.push('it is not issued by the active CA; append its issuer chain after the certificate');
    else {
      certs.push(caCert);
      issuerId = ca!.id;
    }
  } else {
    problems.push(...chainProblems(certs));
    if (ca && certs.at(-1)!.fingerprint256 === new X509Certificate(ca.certDer).fingerprint256) issuerId = ca.id;
  }
  if (problems.length > 0) throw reject(kind, problems.join('; '));
  return pendingCertified(kind, key, certs, ctx, issuerId);
}

/** Validates and converts imported material; `ca` is the active CA (for leaves). */
export async function buildImport(kind: KeyKind, material: string, passphrase: string | undefined, ctx: GenerateContext, ca?: CaSource): Promise<PendingKey> {
  switch (kind) {
    // An unverified twin accepts exactly what its primary kind accepts.
    case 'openpgp':
    case 'openpgp-unverified':
      return importOpenPgp(material, passphrase, ctx, kind);
    case 'ecdsa':
    case 'ecdsa-unverified': {
      const key = privateKeyFrom(kind, material, passphrase);
      checkNodeKey(kind, key, 'ec', ['P-224', 'P-256', 'P-384', 'P-521']);
      return pendingNodeKey(kind, key, ctx);
    }
    case 'rsa':
    case 'rsa-unverified': {
      const key = privateKeyFrom(kind, material, passphrase);
      checkNodeKey(kind, key, 'rsa');
      return pendingNodeKey(kind, key, ctx, chooseRsaKeyName(spkiDer(key), ctx.options.rsaKeyName, ctx.takenRsaNames, roleOf(kind)));
    }
    case 'ed25519': {
      const key = privateKeyFrom(kind, material, passphrase);
      checkNodeKey(kind, key, 'ed25519');
      return pendingNodeKey('ed25519', key, ctx);
    }
    case 'x509-ca':
    case 'x509-ca-unverified':
      return importCa(material, passphrase, ctx, kind);
    case 'x509-rsa':
    case 'x509-rsa-unverified':
      return importLeaf('rsa', material, passphrase, ctx, ca, roleOf(kind));
    case 'x509-ecdsa':
    case 'x509-ecdsa-unverified':
      return importLeaf('ecdsa', material, passphrase, ctx, ca, roleOf(kind));
  }
}

