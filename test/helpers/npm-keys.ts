/**
 * npm registry signing keys for tests: P-256 key pairs, npm's key ids (the `ssh-keygen -l`
 * style SHA256 fingerprint of the OpenSSH public key blob), the `/-/npm/v1/keys` document and
 * `dist.signatures` entries over `${name}@${version}:${integrity}` (formats-classic.md §1.2).
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** One entry of `/-/npm/v1/keys`, in npm's exact shape. */
export interface NpmRegistryKey {
  expires: string | null;
  keyid: string;
  keytype: string;
  scheme: string;
  /** base64 SPKI DER. */
  key: string;
}

export interface NpmSigningKey {
  keyid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The `/-/npm/v1/keys` entry for this key. */
  entry(expires?: string | null): NpmRegistryKey;
  /** A `dist.signatures` entry, signed by this key under its key id (or `keyid` if given). */
  signVersion(name: string, version: string, integrity: string, keyid?: string): { keyid: string; sig: string };
}

/** `SHA256:` + unpadded base64 of sha256 over the OpenSSH wire blob of a P-256 public key. */
export function npmKeyId(publicKey: KeyObject | Buffer): string {
  const key = Buffer.isBuffer(publicKey) ? createPublicKey({ key: publicKey, format: 'der', type: 'spki' }) : publicKey;
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new Error('npmKeyId: not a P-256 key');
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function makeNpmSigningKey(keyid?: string): NpmSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const id = keyid ?? npmKeyId(publicKey);
  return {
    keyid: id,
    privateKey,
    publicKey,
    entry: (expires = null) => registryKeyEntry(publicKey, id, expires),
    signVersion: (name, version, integrity, as = id) => ({ keyid: as, sig: signNpmVersion(privateKey, name, version, integrity) }),
  };
}

export function registryKeyEntry(publicKey: KeyObject | Buffer, keyid: string, expires: string | null = null): NpmRegistryKey {
  const der = Buffer.isBuffer(publicKey) ? publicKey : publicKey.export({ format: 'der', type: 'spki' });
  return { expires, keyid, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', key: der.toString('base64') };
}

/** base64 DER ECDSA-SHA256 over `${name}@${version}:${integrity}`. */
export function signNpmVersion(privateKey: KeyObject, name: string, version: string, integrity: string): string {
  return sign('sha256', Buffer.from(`${name}@${version}:${integrity}`, 'utf8'), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}
