/**
 * The upstream's cosign public keys (`trust.cosignKeys`) and the signature check cosign and
 * containers/image make with them (../shared/specs/formats-pki.md §1.4): ECDSA over SHA-256 of
 * the payload bytes whatever the curve, RSA PKCS#1 v1.5 with SHA-256, pure Ed25519.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { MirrorError } from '../../errors.js';
import { spkiDer, spkiId } from '../../keys/key-ids.js';

export interface CosignKey {
  /** "SHA256:<base64 of the SPKI DER hash>", as the mirror names its own keys. */
  id: string;
  key: KeyObject;
}

/** The curves sigstore's ECDSA verifier loads; P-224 is left out as too weak to pin. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;
/** The PEM types sigstore's UnmarshalPEMToPublicKey takes: PKIX and PKCS#1 RSA. */
const PEM_TYPES = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY']);

/** Every PEM public key in the named files (a file may hold several); refuses anything else, so a typo fails at start. */
export async function loadCosignKeys(repository: string, files: readonly string[], readTrustFile: (path: string) => Promise<Buffer>): Promise<CosignKey[]> {
  const keys: CosignKey[] = [];
  for (const file of files) {
    const text = (await readTrustFile(file)).toString('utf8');
    const blocks = [...text.matchAll(PEM_BLOCK)];
    if (blocks.length === 0) throw invalid(repository, `${file} holds no PEM public key`);
    for (const [pem, type] of blocks) {
      if (!PEM_TYPES.has(type!)) throw invalid(repository, `${file} holds a "${type}" PEM block, not a public key`);
      let key: KeyObject;
      try {
        key = createPublicKey(pem);
      } catch (err) {
        throw invalid(repository, `${file} is not a valid PEM public key: ${(err as Error).message}`);
      }
      const problem = unsupported(key);
      if (problem) throw invalid(repository, `${file}: ${problem}`);
      const id = spkiId(spkiDer(key));
      if (!keys.some((k) => k.id === id)) keys.push({ id, key });
    }
  }
  return keys;
}

/** The first key that verifies `signature` over `payload`, if any. */
export function verifyingKey(keys: readonly CosignKey[], payload: Buffer, signature: Buffer): CosignKey | undefined {
  return keys.find((k) => verifiesWith(k.key, payload, signature));
}

function verifiesWith(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    switch (key.asymmetricKeyType) {
      case 'ec':
        // sigstore takes ASN.1 DER, and raw r‖s when the bytes are not DER.
        return verify('sha256', payload, { key, dsaEncoding: 'der' }, signature) || verify('sha256', payload, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsa':
        return verify('sha256', payload, key, signature);
      case 'ed25519':
        return verify(null, payload, key, signature);
      default:
        return false;
    }
  } catch {
    // Malformed signature bytes (wrong length for the curve, …) do not verify.
    return false;
  }
}

function unsupported(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    return EC_CURVES.has(curve) ? undefined : `ECDSA curve ${curve} is not supported (P-256, P-384, P-521)`;
  }
  if (type === 'rsa') return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? undefined : 'RSA keys under 2048 bits are not accepted';
  if (type === 'ed25519') return undefined;
  return `${type ?? 'unknown'} keys are not supported (ECDSA, RSA, Ed25519)`;
}

function invalid(repository: string, detail: string): MirrorError {
  return new MirrorError('CONFIG_INVALID', `Repository "${repository}": trust.cosignKeys: ${detail}`, { repository });
}
