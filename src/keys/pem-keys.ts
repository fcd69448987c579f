/**
 * Node-crypto keys (ECDSA, RSA, Ed25519, and the X.509 keys): generation, PEM at rest
 * (PKCS#8, AES-256-CBC encrypted when the store has a passphrase) and loading.
 * Errors name the file and the reason only; node's crypto errors never carry key bytes.
 */
import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { MirrorError } from '../errors.js';
import type { EcdsaCurve } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeySpec = { type: 'rsa'; bits: number } | { type: 'ec'; curve: EcdsaCurve } | { type: 'ed25519' };

export const NODE_CURVES: Record<EcdsaCurve, string> = {
  'P-224': 'secp224r1',
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

export function curveFromNodeName(name: string | undefined): EcdsaCurve | undefined {
  return (Object.keys(NODE_CURVES) as EcdsaCurve[]).find((c) => NODE_CURVES[c] === name);
}

/** Runs on libuv's thread pool, so several keys generate in parallel with openpgp's. */
export async function generateNodeKey(spec: KeySpec): Promise<KeyObject> {
  switch (spec.type) {
    case 'rsa':
      return (await generateKeyPairAsync('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 })).privateKey;
    case 'ec':
      return (await generateKeyPairAsync('ec', { namedCurve: NODE_CURVES[spec.curve] })).privateKey;
    case 'ed25519':
      return (await generateKeyPairAsync('ed25519')).privateKey;
  }
}

/** "rsa4096", "ecdsa-p256", "ed25519" (x509 kinds prefix "x509-"). */
export function describeNodeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `rsa${details.modulusLength ?? 0}`;
    case 'ec':
      return `ecdsa-${(curveFromNodeName(details.namedCurve) ?? details.namedCurve ?? 'unknown').toLowerCase().replace('-', '')}`;
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

export function exportPrivatePem(key: KeyObject, passphrase: string | undefined): string {
  if (passphrase === undefined) return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
}

export function isEncryptedPem(pem: string): boolean {
  // PKCS#8 encrypted, or legacy OpenSSL "Proc-Type: 4,ENCRYPTED" PKCS#1/SEC1.
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
}

/** Loads a PEM private key; `what` names it in errors (a file path or "the imported key"). */
export function loadPrivatePem(pem: string, passphrase: string | undefined, what: string): KeyObject {
  const encrypted = isEncryptedPem(pem);
  if (encrypted && (passphrase === undefined || passphrase === '')) {
    throw new MirrorError('KEY_ERROR', `The private key ${what} is encrypted and no passphrase was given`, { file: what });
  }
  try {
    const key = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase ?? '' } : { key: pem, format: 'pem' });
    if (key.type !== 'private') throw new Error('not a private key');
    return key;
  } catch (err) {
    const reason = encrypted ? 'wrong passphrase or damaged file' : `not a readable PEM private key (${(err as NodeJS.ErrnoException).code ?? 'parse error'})`;
    throw new MirrorError('KEY_ERROR', `Cannot load the private key ${what}: ${reason}`, { file: what });
  }
}
