/**
 * The organisation's keys. Private key material stays inside the key store: callers get
 * signer objects and public exports, never private bytes.
 */

export type KeyKind = 'openpgp' | 'ecdsa' | 'rsa' | 'x509-ca' | 'x509-rsa' | 'x509-ecdsa' | 'ed25519';

export const KEY_KINDS: readonly KeyKind[] = ['openpgp', 'ecdsa', 'rsa', 'x509-ca', 'x509-rsa', 'x509-ecdsa', 'ed25519'];

export type KeyStatus = 'active' | 'retired';

export interface KeyOptions {
  /** OpenPGP algorithm: RSA 4096 (default) or Ed25519. */
  openpgp?: 'rsa4096' | 'ed25519';
  /** ECDSA curve for npm/cosign/Swift: P-256 default. */
  ecdsaCurve?: 'P-224' | 'P-256' | 'P-384' | 'P-521';
  /** Name of the Alpine key file, served as /-/keys/<name>.rsa.pub. */
  rsaKeyName?: string;
  /** User id for the OpenPGP key and subject CN prefix for X.509. */
  identity?: string;
}

export interface PublicKeyInfo {
  /** Stable id: OpenPGP fingerprint (hex), or "SHA256:<base64 of SPKI DER sha256>" for the others. */
  id: string;
  kind: KeyKind;
  /** e.g. "rsa4096", "ed25519", "ecdsa-p256", "x509-rsa3072" */
  algorithm: string;
  purpose: string;
  status: KeyStatus;
  createdAt: string;
  retiredAt?: string;
  /** Path under the mirror where the public part can be downloaded, e.g. "/-/keys/openpgp.asc". */
  downloadUrl: string;
}

export interface OpenPgpSigner {
  readonly id: string;
  /** Armored detached signature (sigclass 0x00) over the bytes. */
  signDetached(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<string>;
}

export interface KeyStore {
  list(): PublicKeyInfo[];
  openpgpSigner(): OpenPgpSigner;
  /** Armored public keys of every OpenPGP key, active and retired, active first. */
  openpgpPublicArmored(): string;
  /** PEM SubjectPublicKeyInfo of the active ECDSA key. */
  cosignPublicPem(): string;
  /** Alpine: PEM public key of the active RSA key and the file name apk expects. */
  rsaPublic(): { fileName: string; pem: string };
  /** PEM of the X.509 root CA certificate. */
  caPem(): string;
  /** Makes a new active key of the kind; the previous one becomes retired and stays published. */
  rotate(kind: KeyKind): Promise<PublicKeyInfo>;
}
