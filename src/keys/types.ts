import type { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;

/**
 * The organisation's keys. Private key material stays inside the key store: callers get
 * signer objects and public exports, never private bytes.
 */

export type KeyKind =
  | 'openpgp' | 'ecdsa' | 'rsa' | 'x509-ca' | 'x509-rsa' | 'x509-ecdsa' | 'ed25519'
  // Twins for content that was not verified upstream (see key-roles.ts). The X.509 twins are a
  // separate CA and its leaves: an unverified signature never chains to the primary root.
  | 'openpgp-unverified' | 'ecdsa-unverified' | 'rsa-unverified'
  | 'x509-ca-unverified' | 'x509-rsa-unverified' | 'x509-ecdsa-unverified';

export const KEY_KINDS: readonly KeyKind[] = [
  'openpgp', 'ecdsa', 'rsa', 'x509-ca', 'x509-rsa', 'x509-ecdsa', 'ed25519',
  'openpgp-unverified', 'ecdsa-unverified', 'rsa-unverified',
  'x509-ca-unverified', 'x509-rsa-unverified', 'x509-ecdsa-unverified',
];

/**
 * `primary`: signs only what verified against the operator's pinned trust. `unverified`:
 * signs indexes of `verify: warn|off` repositories, published separately so clients opt in.
 */
export type KeyRole = 'primary' | 'unverified';

/**
 * `retired`: replaced by rotation, still published so old signatures verify. `revoked`:
 * compromised; never signs again and is withdrawn (OpenPGP: published with its revocation).
 */
export type KeyStatus = 'active' | 'retired' | 'revoked';

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
  role: KeyRole;
  /** e.g. "rsa4096", "ed25519", "ecdsa-p256", "x509-rsa3072" */
  algorithm: string;
  purpose: string;
  status: KeyStatus;
  createdAt: string;
  retiredAt?: string;
  revokedAt?: string;
  revocationReason?: string;
  /**
   * Path under the mirror where the public part can be downloaded, e.g. "/-/keys/openpgp.asc".
   * Absent for revoked keys other than OpenPGP ones (whose keyring carries the revocation).
   */
  downloadUrl?: string;
}

export interface OpenPgpSigner {
  readonly id: string;
  /** Armored detached signature (sigclass 0x00) over the bytes. */
  signDetached(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<string>;
  /**
   * The same signature as binary packets (RPM header signatures, Release.gpg if wanted binary).
   * `deterministic`: dated at the key's own creation and without openpgp.js's random salt
   * notation, so the same bytes always give the same signature (RSA PKCS#1 v1.5 and EdDSA are
   * deterministic): for signatures embedded in artifacts whose digests other indexes list.
   */
  signDetachedBinary(data: Uint8Array | AsyncIterable<Uint8Array>, options?: { deterministic?: boolean }): Promise<Uint8Array>;
  /** Cleartext-signed text, as Debian InRelease. */
  signCleartext(text: string): Promise<string>;
}

export type EcdsaCurve = 'P-224' | 'P-256' | 'P-384' | 'P-521';
export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

export interface EcdsaSigner {
  readonly id: string;
  readonly curve: EcdsaCurve;
  /** DER (ASN.1 SEQUENCE r,s) ECDSA signature; the hash defaults to SHA-256. */
  sign(data: Uint8Array, hash?: SignatureHash): Buffer;
  publicSpkiDer(): Buffer;
  publicPem(): string;
}

export interface Ed25519Signer {
  readonly id: string;
  /** 64-byte pure Ed25519 signature. */
  sign(data: Uint8Array): Buffer;
  /** The 32-byte public key (what Go signed notes and minisign-like formats embed). */
  publicRaw(): Buffer;
  publicSpkiDer(): Buffer;
  publicPem(): string;
}

export type RsaHash = 'sha1' | 'sha256' | 'sha512';

export interface RsaSigner {
  readonly id: string;
  /** Alpine key name, e.g. "countersign-1a2b3c4d"; signatures go in `.SIGN.RSA.<fileName>`. */
  readonly keyName: string;
  /** `<keyName>.rsa.pub`, the file name apk looks up in /etc/apk/keys. */
  readonly fileName: string;
  readonly bits: number;
  /** RSASSA-PKCS1-v1_5 signature (apk: sha1 for v2 signatures, sha256/sha512 for newer). */
  sign(data: Uint8Array, hash: RsaHash): Buffer;
  publicSpkiDer(): Buffer;
  publicPem(): string;
}

export type X509LeafType = 'rsa' | 'ecdsa';

export interface X509LeafSigner {
  readonly id: string;
  readonly kind: 'x509-rsa' | 'x509-ecdsa' | 'x509-rsa-unverified' | 'x509-ecdsa-unverified';
  readonly role: KeyRole;
  /** e.g. "x509-rsa3072", "x509-ecdsa-p256" */
  readonly algorithm: string;
  readonly certPem: string;
  readonly certDer: Buffer;
  /** Leaf first, then its issuers up to the root. */
  readonly chainPem: string;
  /** DER of every chain certificate, leaf first (what CMS SignedData embeds). */
  readonly chainDer: readonly Buffer[];
  /** RSASSA-PKCS1-v1_5 (RSA leaf) or DER ECDSA (ECDSA leaf) over the data; SHA-256 by default. */
  sign(data: Uint8Array, hash?: SignatureHash): Buffer;
  publicSpkiDer(): Buffer;
  /** A non-extractable WebCrypto key for pkijs (CMS SignedData.sign). */
  signingCryptoKey(hash?: SignatureHash): Promise<CryptoKey>;
}

/** A TLS server certificate issued by the org CA (its key is made for the listener, not stored). */
export interface IssuedServerCertificate {
  certPem: string;
  /** Leaf then CA. */
  chainPem: string;
  /** PKCS#8 PEM of the freshly generated ECDSA P-256 key, for https.createServer. */
  keyPem: string;
}

export interface ImportOptions {
  /** Passphrase that unlocks the material being imported (not the store passphrase). */
  passphrase?: string;
}

export interface PublicFile {
  contentType: string;
  body: string;
}

export interface KeyStore {
  list(): PublicKeyInfo[];
  /** The id of the kind's active key (what its signer would sign as), without its private half. */
  activeKeyId(kind: KeyKind): string;
  /** The active OpenPGP key of the role ('primary' by default). */
  openpgpSigner(role?: KeyRole): OpenPgpSigner;
  /**
   * Armored public keys of every OpenPGP key of the role (active, retired and revoked ones
   * with their revocation signature), active first. Roles never share a keyring.
   */
  openpgpPublicArmored(role?: KeyRole): string;
  /** PEM SubjectPublicKeyInfo of the active ECDSA key of the role. */
  cosignPublicPem(role?: KeyRole): string;
  /** Alpine: PEM public key of the role's active RSA key and the file name apk expects. */
  rsaPublic(role?: KeyRole): { fileName: string; pem: string };
  /** PEM of the role's X.509 root CA certificate (the unverified role has a CA of its own). */
  caPem(role?: KeyRole): string;
  /** Makes a new active key of the kind; the previous one becomes retired and stays published. */
  rotate(kind: KeyKind): Promise<PublicKeyInfo>;
  /**
   * Withdraws a compromised key (the active one unless `id` names another): revoking the
   * active key first makes a new active one, as rotate does. A revoked key never signs again;
   * OpenPGP keys stay in the keyring with a revocation signature, other kinds are unpublished.
   * Returns the revoked key's info.
   */
  revoke(kind: KeyKind, id?: string, reason?: string): Promise<PublicKeyInfo>;

  /**
   * Imports the organisation's own key: an armored OpenPGP private key; a PEM private key
   * (PKCS#8, SEC1 or PKCS#1) for ecdsa/rsa/ed25519; for x509 kinds the PEM certificate(s)
   * and the PEM private key in one string (leaf first, then any chain). It becomes active.
   */
  importKey(kind: KeyKind, material: string, opts?: ImportOptions): Promise<PublicKeyInfo>;
  /** Public material of a kind: the role's whole OpenPGP keyring, else the active key (or `id`). */
  exportPublic(kind: KeyKind, id?: string): string;
  /** Bytes behind a `downloadUrl` name under /-/keys/ (e.g. "openpgp.asc"), if it is one of ours. */
  publicFile(name: string): PublicFile | undefined;
  /** Every CA certificate of the role that is not revoked, active first (old leaves keep verifying after a CA rotation). */
  caBundlePem(role?: KeyRole): string;

  ecdsaSigner(role?: KeyRole): EcdsaSigner;
  ed25519Signer(): Ed25519Signer;
  rsaSigner(role?: KeyRole): RsaSigner;
  /** The active code-signing leaf of the type, issued by the role's CA. */
  x509Leaf(type: X509LeafType, role?: KeyRole): X509LeafSigner;
  /** Issues a TLS server certificate for the hosts (DNS names or IP addresses) from the active CA. */
  issueServerCertificate(hosts: string[]): Promise<IssuedServerCertificate>;
}
