/**
 * pkijs needs a WebCrypto engine. Node's webcrypto is set once as the global engine (CMS
 * code in the formats uses pkijs' globals too) and also returned for explicit passing.
 * Private keys cross into WebCrypto as non-extractable CryptoKeys only.
 */
import { webcrypto, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { curveFromNodeName } from '../keys/pem-keys.js';

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];

let engine: pkijs.CryptoEngine | undefined;

export function pkijsEngine(): pkijs.CryptoEngine {
  if (!engine) {
    engine = new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as EngineCrypto });
    pkijs.setEngine('node-webcrypto', engine);
  }
  return engine;
}

export type WebHash = 'SHA-256' | 'SHA-384' | 'SHA-512';

/** The hash an issuer naturally pairs with its key: SHA-256 for RSA and P-256, wider for wider curves. */
export function defaultHashFor(key: KeyObject): WebHash {
  if (key.asymmetricKeyType !== 'ec') return 'SHA-256';
  const curve = curveFromNodeName(key.asymmetricKeyDetails?.namedCurve);
  return curve === 'P-384' ? 'SHA-384' : curve === 'P-521' ? 'SHA-512' : 'SHA-256';
}

/** A non-extractable WebCrypto signing key for a node private key (RSA PKCS#1 v1.5 or ECDSA). */
export async function toSigningCryptoKey(key: KeyObject, hash: WebHash = 'SHA-256'): Promise<webcrypto.CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  try {
    if (key.asymmetricKeyType === 'rsa') {
      return await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']);
    }
    if (key.asymmetricKeyType === 'ec') {
      const namedCurve = curveFromNodeName(key.asymmetricKeyDetails?.namedCurve);
      if (!namedCurve || namedCurve === 'P-224') throw new Error(`WebCrypto cannot sign with curve ${key.asymmetricKeyDetails?.namedCurve}`);
      return await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    }
    throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  } finally {
    der.fill(0);
  }
}
