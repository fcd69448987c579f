import { z } from 'zod';

const CHECKSUM_ALGORITHMS = ['sha512', 'sha256', 'sha1', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A groupId prefix, matched segment-wise: `org.example` covers `org.example.tools`, not `org.examples`. */
const groupPrefix = z.string().regex(/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/, 'must be a groupId or groupId prefix such as org.example');

export const mavenTrustSchema = z.strictObject({
  /** OpenPGP public keys the upstream `<file>.asc` must verify with, for groups no `keyrings` entry names. */
  keyring: z.string().min(1).optional(),
  /**
   * Per-group keyrings: an organisation trusts different authors for different groups. The entry
   * with the longest matching prefix decides (it replaces `keyring` for that group, it does not add to it).
   */
  keyrings: z.array(z.strictObject({ groups: z.array(groupPrefix).min(1), keyring: z.string().min(1) })).default([]),
  /**
   * Checksum sidecars (`<file>.<alg>`) checked against the bytes on ingest, strongest first. The first
   * listed is required (a missing one is a verification failure); the others are checked when present.
   */
  checksums: z.array(z.enum(CHECKSUM_ALGORITHMS)).min(1).default(['sha1']),
  /**
   * Version lists (maven-metadata.xml) with an upstream `.asc`: `ifPresent` (Central signs none) verifies
   * one when the upstream has it and otherwise accepts checksums only (served, never signed by the
   * primary key; an upstream that drops a signature it used to serve is not noticed); `required`
   * refuses an unsigned list, for repositories that sign theirs.
   */
  metadataSignatures: z.enum(['ifPresent', 'required']).default('ifPresent'),
  /**
   * How the author's upstream signature and the organisation's are offered (see NOTES/README):
   * - `beside`: `<file>.asc` is the author's, byte-identical (Gradle pins authors' keys); the org's
   *   is at `<file><orgSignatureSuffix>`;
   * - `combined`: `<file>.asc` holds the author's signature packets and the org's, one armored block
   *   (clients then need both keys: gpg exits 2 and Gradle fails on a signature by a key it lacks).
   * Files without an author signature (maven-metadata.xml, checksums) have the org's at `.asc` in both.
   */
  signatures: z.enum(['beside', 'combined']).default('beside'),
  orgSignatureSuffix: z.string().regex(/^\.[A-Za-z0-9._-]*\.asc$/, 'must look like .countersign.asc').default('.countersign.asc'),
});

export type MavenTrust = z.output<typeof mavenTrustSchema>;
