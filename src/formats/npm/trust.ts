import { z } from 'zod';
import { npmKeysSchema } from './registry-keys.js';

export const npmTrustSchema = z.strictObject({
  /**
   * The upstream's registry keys, pinned: a file in the shape of `/-/npm/v1/keys`, or the same
   * document inline. Without it the keys are fetched from the upstream's `/-/npm/v1/keys`, which
   * `verify: require` accepts only with the repository's `anchor: first-use` (see registry-key-source.ts).
   */
  keys: z.union([z.string().min(1), npmKeysSchema]).optional(),
});

export type NpmTrust = z.output<typeof npmTrustSchema>;
