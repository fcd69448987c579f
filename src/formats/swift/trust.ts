import { z } from 'zod';

export const swiftTrustSchema = z.strictObject({
  /**
   * Root certificates (PEM or DER files, relative to the config file) that upstream package
   * signatures (`cms-1.0.0`) must chain to. Without them nothing the upstream serves verifies:
   * `verify: require` needs at least one.
   */
  roots: z.array(z.string().min(1)).min(1).optional(),
});

export type SwiftTrust = z.output<typeof swiftTrustSchema>;
