import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';

const suiteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/, 'must be a suite name such as bookworm or bookworm-security');

export const debianTrustSchema = z.strictObject({
  /**
   * OpenPGP keyring file(s) the upstream Release must be signed with (binary .gpg or armored
   * .asc), e.g. /usr/share/keyrings/debian-archive-keyring.gpg. With `upstream: auto` and none
   * given: the signed-by keyring of the apt sources entry (or apt's trusted.gpg.d).
   */
  keyring: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /**
   * Valid-Until of the served Release = its Date + this (e.g. 30d), never later than the upstream's
   * own Valid-Until (freeze protection); a Release past it is refused. Default: the upstream's.
   */
  validFor: z.string().refine((v) => (parseDuration(v) ?? 0) > 0, 'must be a duration such as 7d or 12h').optional(),
  /** With `upstream: auto`: the apt sources entry that lists this suite (default: the first deb entry). */
  autoSuite: suiteName.optional(),
  /** Suites and components shown in the client setup snippet (`/<repo>/-/setup`). */
  suites: z.array(suiteName).min(1).optional(),
  components: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/)).min(1).optional(),
});

export type DebianTrust = z.output<typeof debianTrustSchema>;
