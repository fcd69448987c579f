/**
 * Registry signing keys in the shape of `/-/npm/v1/keys` (npm docs, "About registry
 * signatures"): pinned by the operator in `trust.keys`, or fetched from the upstream.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

export const npmKeysSchema = z.object({
  keys: z.array(
    z.object({
      keyid: z.string().min(1).max(200),
      key: z.string().min(1).max(10_000),
      expires: z.string().nullable().optional(),
      keytype: z.string().optional(),
      scheme: z.string().optional(),
    }),
  ),
});

export type NpmKeysDocument = z.output<typeof npmKeysSchema>;

export interface RegistryKey {
  keyid: string;
  publicKey: KeyObject;
  /** ms since epoch; undefined = no expiry. */
  expires?: number;
}

export function parseRegistryKeys(doc: unknown, source: string): RegistryKey[] {
  const parsed = npmKeysSchema.safeParse(doc);
  if (!parsed.success) throw new Error(`${source} is not a registry keys document: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data.keys.map((k) => {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: Buffer.from(k.key, 'base64'), format: 'der', type: 'spki' });
    } catch (err) {
      throw new Error(`${source}: key ${k.keyid} is not a DER SubjectPublicKeyInfo: ${(err as Error).message}`);
    }
    if (publicKey.asymmetricKeyType !== 'ec') throw new Error(`${source}: key ${k.keyid} is not an ECDSA key`);
    const expires = k.expires ? Date.parse(k.expires) : undefined;
    if (expires !== undefined && Number.isNaN(expires)) throw new Error(`${source}: key ${k.keyid} has an invalid expires "${k.expires}"`);
    return { keyid: k.keyid, publicKey, ...(expires !== undefined ? { expires } : {}) };
  });
}
