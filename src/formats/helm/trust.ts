import { z } from 'zod';

export const helmTrustSchema = z.strictObject({
  /**
   * OpenPGP keys (armored or binary keyring file) of the chart authors: each chart's upstream
   * `<chart>.tgz.prov` must verify with one of them and name the archive's sha256.
   */
  keyring: z.string().min(1).optional(),
});

export type HelmTrust = z.output<typeof helmTrustSchema>;
