/**
 * The vocabulary of the trust contract between the core and the formats: how an object was
 * verified, under which trust, and what it vouches for. The store persists these values and the
 * upstream client produces some of them, but they belong here, so formats import nothing from
 * either.
 */

export type VerifyMode = 'require' | 'warn' | 'off';

/**
 * Where the trust behind a verification came from:
 * - `pinned`: material the operator put in the configuration (keyrings, keys, certificates);
 * - `first-use`: material the upstream served the first time, pinned into the data directory
 *   (`anchor: first-use`) and refused when it changes until the operator accepts the change;
 * - `none`: nothing the operator vouches for (digests only, or `verify: warn`/`off`).
 */
export type TrustAnchor = 'pinned' | 'first-use' | 'none';

/**
 * A monotonic revision of an index (a Release's Date, a repomd.xml revision, a packument's
 * modification time): the core refuses a verified revision older than the one it serves.
 */
export interface Revision {
  /** Comparable: larger is newer (ms since epoch, or a revision counter). */
  value: number;
  /** What a person reads in an error, e.g. `Date: Sat, 10 Aug 2024 09:00:00 UTC`. */
  label: string;
}

/** How an object's upstream bytes were verified. */
export interface VerificationRecord {
  /** 'verified', or 'unverified' (possible under verify: warn/off only). */
  status: 'verified' | 'unverified';
  /** What vouched for it: e.g. "openpgp:<fingerprint>", "expectation:<source>". */
  by: string[];
  at: number;
  mode: VerifyMode;
  /**
   * The trust epoch the record was made under (mode, trust material, upstream: see TrustEpoch).
   * Absent on records older than epochs, which therefore match no epoch.
   */
  epoch?: string;
  /** What anchored the trust that vouched (see TrustAnchor). */
  anchor?: TrustAnchor;
  /** Why it is unverified, for warn mode. */
  reason?: string;
  /** Parts of an index refused while the rest verified (e.g. versions with a bad signature). */
  rejected?: { item: string; reason: string }[];
  /** The upstream's own signature that verified this object, stored beside it as an object of its own. */
  upstreamSignature?: KeptSignature;
  /** The index revision, for the rollback check. */
  revision?: Revision;
}

/** An upstream signature object kept with what it signs (OCI: the cosign `.sig` manifest). */
export interface KeptSignature {
  /** SHA-256 of the stored signature object. */
  sha256: string;
  /** The signatures in it that verified, by position (several signers may sign the same payload). */
  verified: { index: number; sha256: string; keyId: string; identity: string }[];
}

/** `md5`: Maven checksum sidecars, checked against the bytes as they came (integrity only, never an anchor). */
export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'sha1' | 'md5';

/** A digest an index vouched for a path, as recorded by the core. */
export interface Expectation {
  repository: string;
  path: string;
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  digest: string;
  size?: number;
  /** What vouched for this digest: the path of the index that listed it. */
  source: string;
  /** The trust epoch of the index's verification: an expectation from another epoch is ignored. */
  epoch?: string;
  /**
   * Whether the vouching index verified. Under `warn` an unverified index still records digests
   * (a digest check beats none), but they only check bytes: they never make them verified.
   */
  verified?: boolean;
}

/** A small auxiliary upstream file fetched into memory (signatures, checksums, keys). */
export type SmallResult = { kind: 'fetched'; bytes: Buffer; contentType?: string } | { kind: 'absent'; status: number };
