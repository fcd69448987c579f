import { z } from 'zod';

export const rawTrustSchema = z.strictObject({
  /** OpenPGP public keys (armored or binary keyring file); `<path>.asc` from the upstream must verify. */
  keyring: z.string().min(1).optional(),
  /** `<path>.sha256` from the upstream must match the bytes. */
  checksums: z.literal('sha256').optional(),
});

export type RawTrust = z.output<typeof rawTrustSchema>;
