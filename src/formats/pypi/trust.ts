import { z } from 'zod';

/**
 * The simple API carries no upstream signature (PEP 458 is not deployed): what vouches for a
 * file is its hash on the project page, fetched over TLS from the upstream. Nothing here is
 * pinned by the configuration, so `verify: require` needs the repository's `anchor: first-use`
 * (each file's first hash is pinned; a change is refused). The block stays for future pinned
 * material and rejects unknown keys.
 */
export const pypiTrustSchema = z.strictObject({});

export type PypiTrust = z.output<typeof pypiTrustSchema>;
