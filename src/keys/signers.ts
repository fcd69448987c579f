/**
 * Signer objects handed to formats. Each closes over one active key's private half; the
 * objects themselves carry only ids and public data, and print as such (toJSON and
 * util.inspect), so logging a signer can never leak a key.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { MirrorError } from '../errors.js';
import { signCleartext, signDetachedArmored, signDetachedBinary } from '../signing/openpgp-sign.js';
import { toSigningCryptoKey, type WebHash } from '../signing/pkijs-engine.js';
import type { LoadedKey } from './key-material.js';
import { roleOf } from './key-roles.js';
import { curveFromNodeName } from './pem-keys.js';
import type { EcdsaSigner, Ed25519Signer, OpenPgpSigner, RsaSigner, SignatureHash, X509LeafSigner } from './types.js';

/** Adds toJSON / inspect that show only the listed public fields. */
function sealed<T extends object>(label: string, signer: T, visible: Record<string, unknown>): T {
  Object.defineProperties(signer, {
    toJSON: { value: () => ({ ...visible }), enumerable: false },
    [inspect.custom]: { value: () => `${label} ${inspect(visible)}`, enumerable: false },
  });
  return signer;
}

/**
 * Called before every signature: throws once the key is revoked. A signer handed out before
 * a revocation must not keep signing with the compromised key (retired keys' signers may
 * finish in-flight work: rotation is planned, revocation is not).
 */
export type UsableCheck = () => void;

const ALWAYS: UsableCheck = () => undefined;

function nodeSecret(key: LoadedKey): KeyObject {
  if (key.secret?.type !== 'node') throw new MirrorError('KEY_ERROR', `The private key of ${key.record.kind} key ${key.record.id} is not loaded`, { keyId: key.record.id });
  return key.secret.key;
}

function wrapSigning<T>(key: LoadedKey, run: () => T): T {
  try {
    return run();
  } catch (err) {
    // Only the reason, never the key: node's crypto errors name algorithms and lengths only.
    throw new MirrorError('KEY_ERROR', `Signing with ${key.record.kind} key ${key.record.id} failed: ${(err as Error).message}`, { keyId: key.record.id });
  }
}

export function makeOpenPgpSigner(key: LoadedKey, usable: UsableCheck = ALWAYS): OpenPgpSigner {
  if (key.secret?.type !== 'openpgp') throw new MirrorError('KEY_ERROR', `The OpenPGP private key ${key.record.id} is not loaded`, { keyId: key.record.id });
  const privateKey = key.secret.key;
  const id = key.record.id;
  return sealed('OpenPgpSigner', {
    id,
    signDetached: async (data: Uint8Array | AsyncIterable<Uint8Array>) => (usable(), signDetachedArmored(privateKey, data)),
    signDetachedBinary: async (data: Uint8Array | AsyncIterable<Uint8Array>, options?: { deterministic?: boolean }) =>
      (usable(), signDetachedBinary(privateKey, data, { deterministic: options?.deterministic ?? false })),
    signCleartext: async (text: string) => (usable(), signCleartext(privateKey, text)),
  }, { id, algorithm: key.record.algorithm });
}

export function makeEcdsaSigner(key: LoadedKey, usable: UsableCheck = ALWAYS): EcdsaSigner {
  const privateKey = nodeSecret(key);
  const curve = curveFromNodeName(privateKey.asymmetricKeyDetails?.namedCurve);
  if (!curve) throw new MirrorError('KEY_ERROR', `ECDSA key ${key.record.id} uses an unsupported curve`, { keyId: key.record.id });
  const spki = Buffer.from(key.spki!);
  const id = key.record.id;
  return sealed('EcdsaSigner', {
    id,
    curve,
    sign: (data: Uint8Array, hash: SignatureHash = 'sha256') => (usable(), wrapSigning(key, () => cryptoSign(hash, data, { key: privateKey, dsaEncoding: 'der' }))),
    publicSpkiDer: () => Buffer.from(spki),
    publicPem: () => key.publicText,
  }, { id, curve });
}

export function makeEd25519Signer(key: LoadedKey, usable: UsableCheck = ALWAYS): Ed25519Signer {
  const privateKey = nodeSecret(key);
  const spki = Buffer.from(key.spki!);
  const id = key.record.id;
  return sealed('Ed25519Signer', {
    id,
    sign: (data: Uint8Array) => (usable(), wrapSigning(key, () => cryptoSign(null, data, privateKey))),
    // The raw key is the last 32 bytes of the fixed 44-byte Ed25519 SPKI.
    publicRaw: () => Buffer.from(spki.subarray(spki.length - 32)),
    publicSpkiDer: () => Buffer.from(spki),
    publicPem: () => key.publicText,
  }, { id });
}

export function makeRsaSigner(key: LoadedKey, usable: UsableCheck = ALWAYS): RsaSigner {
  const privateKey = nodeSecret(key);
  const spki = Buffer.from(key.spki!);
  const { id, rsaKeyName } = key.record;
  if (!rsaKeyName) throw new MirrorError('KEY_ERROR', `RSA key ${id} has no Alpine key name in the manifest`, { keyId: id });
  const fileName = `${rsaKeyName}.rsa.pub`;
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  return sealed('RsaSigner', {
    id,
    keyName: rsaKeyName,
    fileName,
    bits,
    sign: (data: Uint8Array, hash: 'sha1' | 'sha256' | 'sha512') => (usable(), wrapSigning(key, () => cryptoSign(hash, data, privateKey))),
    publicSpkiDer: () => Buffer.from(spki),
    publicPem: () => key.publicText,
  }, { id, keyName: rsaKeyName, bits });
}

export function makeX509LeafSigner(key: LoadedKey, usable: UsableCheck = ALWAYS): X509LeafSigner {
  const privateKey = nodeSecret(key);
  const certs = key.certs ?? [];
  const leaf = certs[0];
  if (!leaf) throw new MirrorError('KEY_ERROR', `X.509 key ${key.record.id} has no certificate`, { keyId: key.record.id });
  const kind = key.record.kind as X509LeafSigner['kind'];
  const role = roleOf(kind);
  const isRsa = privateKey.asymmetricKeyType === 'rsa';
  const spki = Buffer.from(key.spki!);
  const { id, algorithm } = key.record;
  return sealed('X509LeafSigner', {
    id,
    kind,
    role,
    algorithm,
    certPem: leaf.toString(),
    certDer: Buffer.from(leaf.raw),
    chainPem: key.publicText,
    chainDer: certs.map((c) => Buffer.from(c.raw)),
    sign: (data: Uint8Array, hash: SignatureHash = 'sha256') =>
      (usable(), wrapSigning(key, () => cryptoSign(hash, data, isRsa ? privateKey : { key: privateKey, dsaEncoding: 'der' }))),
    publicSpkiDer: () => Buffer.from(spki),
    signingCryptoKey: async (hash: SignatureHash = 'sha256') => (usable(), toSigningCryptoKey(privateKey, hash.replace('sha', 'SHA-') as WebHash)),
  }, { id, kind, role, algorithm, subject: leaf.subject });
}
