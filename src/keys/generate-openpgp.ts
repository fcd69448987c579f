/**
 * The OpenPGP signing key: generation with openpgp.js (v4 keys, which gpg 2.2+ and every
 * apt/rpm/maven verifier accept), at-rest encryption, and loading. The key is sign-only
 * (no encryption subkey): the mirror never decrypts anything, and for RSA 4096 a second
 * key would double the generation time.
 */
import * as openpgp from 'openpgp';
import { MirrorError } from '../errors.js';

export type OpenPgpAlgorithm = 'rsa4096' | 'ed25519';

/** "Name <email>" or just "Name". */
export function parseIdentity(identity: string): openpgp.UserID {
  const m = /^\s*(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(identity);
  if (m) return m[1] ? { name: m[1], email: m[2] } : { email: m[2] };
  return { name: identity };
}

/**
 * `comment` goes into the user id as "Name (comment) <email>", where gpg, apt-key and rpm -qi
 * all show it: the unverified-content key says so wherever an operator looks at it.
 */
export async function generateOpenPgpKey(algorithm: OpenPgpAlgorithm, identity: string, rsaBits = 4096, comment?: string): Promise<openpgp.PrivateKey> {
  const userID = { ...parseIdentity(identity), ...(comment ? { comment } : {}) };
  const common = { userIDs: [userID], subkeys: [], format: 'object' as const };
  const { privateKey } =
    algorithm === 'rsa4096'
      ? await openpgp.generateKey({ ...common, type: 'rsa', rsaBits })
      : // Legacy EdDSA (algorithm 22) rather than RFC 9580 Ed25519: gpg 2.2/2.4 only read the former.
        await openpgp.generateKey({ ...common, type: 'ecc', curve: 'ed25519Legacy' });
  return privateKey;
}

/** "rsa4096", "ed25519", "ecdsa-p256" … for the manifest and /-/keys. */
export function describeOpenPgpKey(key: openpgp.Key): string {
  const info = key.getAlgorithmInfo();
  if (info.algorithm.startsWith('rsa')) return `rsa${info.bits ?? 0}`;
  if (info.algorithm === 'eddsaLegacy' || info.algorithm === 'ed25519') return 'ed25519';
  if (info.algorithm === 'ed448') return 'ed448';
  if (info.algorithm === 'ecdsa') return `ecdsa-${String(info.curve ?? 'unknown').toLowerCase()}`;
  return info.algorithm;
}

export function fingerprintOf(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}

export async function armorPrivateKey(key: openpgp.PrivateKey, passphrase: string | undefined): Promise<string> {
  if (passphrase === undefined) return key.armor();
  const encrypted = await openpgp.encryptKey({ privateKey: key, passphrase });
  return encrypted.armor();
}

/** Parses an armored private key and decrypts it if needed; `what` names it in errors. */
export async function loadOpenPgpPrivateKey(armored: string, passphrase: string | undefined, what: string): Promise<openpgp.PrivateKey> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new MirrorError('KEY_ERROR', `Cannot read the OpenPGP private key ${what}: ${(err as Error).message}`, { file: what });
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined || passphrase === '') {
    throw new MirrorError('KEY_ERROR', `The OpenPGP private key ${what} is encrypted and no passphrase was given`, { file: what });
  }
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    throw new MirrorError('KEY_ERROR', `Cannot decrypt the OpenPGP private key ${what}: wrong passphrase`, { file: what });
  }
}

export async function readOpenPgpPublicKeys(armored: string, what: string): Promise<openpgp.PublicKey[]> {
  try {
    const keys = await openpgp.readKeys({ armoredKeys: armored });
    return keys.map((k) => (k.isPrivate() ? k.toPublic() : k)) as openpgp.PublicKey[];
  } catch (err) {
    throw new MirrorError('KEY_ERROR', `Cannot read the OpenPGP public key ${what}: ${(err as Error).message}`, { file: what });
  }
}

/**
 * One armored "PUBLIC KEY BLOCK" holding every key, so both gpg and openpgp.readKeys see them all.
 * With the CRC-24 armor checksum openpgp.js v6 leaves out by default: rpm 4.18 (`rpm --import`,
 * `rpmkeys --import`) refuses armor without it ("not an armored public key").
 */
export function armorKeyring(keys: openpgp.PublicKey[]): string {
  const packets = keys.map((k) => k.write());
  return openpgp.armor(openpgp.enums.armor.publicKey, Buffer.concat(packets), undefined, undefined, undefined, true);
}
