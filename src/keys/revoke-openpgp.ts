/**
 * OpenPGP key revocation. Unlike the other kinds, a revoked OpenPGP key is not unpublished:
 * clients that already hold it (apt keyrings, rpm databases) only stop trusting it when they
 * see its revocation signature, so the keyring keeps the key with that signature attached.
 */
import * as openpgp from 'openpgp';
import { MirrorError } from '../errors.js';

/**
 * Signs a key revocation ("key material has been compromised": gpg then also refuses
 * signatures dated before the revocation) and returns the public key carrying it.
 */
export async function revokeOpenPgpKey(privateKey: openpgp.PrivateKey, reason: string | undefined, date: Date): Promise<openpgp.PublicKey> {
  try {
    const { publicKey } = await openpgp.revokeKey({
      key: privateKey,
      reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keyCompromised, ...(reason ? { string: reason } : {}) },
      date,
      format: 'object',
    });
    return publicKey;
  } catch (err) {
    throw new MirrorError('KEY_ERROR', `Cannot sign the revocation of OpenPGP key ${privateKey.getFingerprint().toUpperCase()}: ${(err as Error).message}`);
  }
}

/** Where the revoked form is written: a new file, so the manifest stays the commit point. */
export function revokedPublicFileName(publicFile: string): string {
  return `${publicFile.replace(/\.pub\.asc$/, '')}.revoked.pub.asc`;
}
