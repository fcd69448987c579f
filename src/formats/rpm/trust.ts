import { z } from 'zod';

/**
 * What the mirror does with the upstream's packages (see packages-mode.ts for what each means):
 * `resign` re-signs every package with the org key and rewrites the metadata that lists them;
 * `keep` serves packages and metadata byte-identical and signs only repomd.xml.
 */
export const rpmPackagesModeSchema = z.enum(['resign', 'keep']);
export type RpmPackagesMode = z.output<typeof rpmPackagesModeSchema>;

export const rpmTrustSchema = z.strictObject({
  /** OpenPGP keys (armored or binary keyring file) that sign the upstream's repodata/repomd.xml.asc. */
  keyring: z.string().min(1).optional(),
  /** OpenPGP keys that sign the upstream's packages (RPM header signatures); default: `keyring`. */
  packageKeyring: z.string().min(1).optional(),
  /**
   * `resign` (default) or `keep`. Part of the trust block, so of the trust epoch: switching it makes
   * the mirror re-establish what it serves under the new choice before serving it.
   */
  packages: rpmPackagesModeSchema.optional(),
});

export type RpmTrust = z.output<typeof rpmTrustSchema>;
