import { z } from 'zod';

export const rpmTrustSchema = z.strictObject({
  /** OpenPGP keys (armored or binary keyring file) that sign the upstream's repodata/repomd.xml.asc. */
  keyring: z.string().min(1).optional(),
  /** OpenPGP keys that sign the upstream's packages (RPM header signatures); default: `keyring`. */
  packageKeyring: z.string().min(1).optional(),
});

export type RpmTrust = z.output<typeof rpmTrustSchema>;
