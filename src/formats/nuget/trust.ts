import { z } from 'zod';

export const nugetTrustSchema = z.strictObject({
  /**
   * Certificates (PEM or DER files) of the upstream's signers, pinned: its RepositorySignatures
   * certificates, or package authors'. A package verifies when its primary signature or a
   * countersignature by one of them verifies over the package hash.
   */
  certificates: z.array(z.string().min(1)).optional(),
  /** Path of the upstream service index under `upstream` (default `index.json`). */
  serviceIndex: z.string().min(1).optional(),
});

export type NugetTrust = z.output<typeof nugetTrustSchema>;
