import { z } from 'zod';

export const alpineTrustSchema = z.strictObject({
  /** A directory of `<name>.rsa.pub` PEM public keys, as /etc/apk/keys: the upstream's signing keys. */
  keys: z.string().min(1).optional(),
});

export type AlpineTrust = z.output<typeof alpineTrustSchema>;
