/**
 * Stable key ids. OpenPGP keys are known by their fingerprint; everything else by
 * "SHA256:" + base64 (standard alphabet, Node's padding) of the SHA-256 of the DER
 * SubjectPublicKeyInfo, so an operator can recompute an id from any published PEM.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

export function spkiId(der: Buffer): string {
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

/** 16 hex digits of the SPKI hash: short, filesystem-safe and unique enough for file names. */
export function spkiShortHex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}
