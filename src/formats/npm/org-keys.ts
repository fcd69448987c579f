/**
 * The organisation's ECDSA keys in the shape npm reads from `/-/npm/v1/keys`. npm refuses a
 * signature when the key's `expires` is before the version's publish time, so:
 * a retired key expires at its retirement (what it signed before stays valid), a revoked key at
 * the Unix epoch: a mirror signs versions published long before its key existed, so only a date
 * before every publish time makes npm refuse everything the revoked key signed.
 * Repositories in `verify: require` publish only the primary keys; warn/off ones also the
 * unverified keys their documents are signed with, so only clients of those repositories
 * ever trust signatures over unverified content.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyKind, KeyStore, PublicKeyInfo } from '../../keys/types.js';

const REVOKED_EXPIRES = new Date(0).toISOString();

export interface OrgKeysOptions {
  includeUnverified: boolean;
}

function expiresOf(k: PublicKeyInfo): string | null {
  if (k.status === 'revoked') return REVOKED_EXPIRES;
  if (k.status === 'retired') return k.retiredAt ?? null;
  return null;
}

export function orgKeysDocument(keys: Pick<KeyStore, 'list' | 'exportPublic'>, options: OrgKeysOptions): Buffer {
  const kinds: KeyKind[] = options.includeUnverified ? ['ecdsa', 'ecdsa-unverified'] : ['ecdsa'];
  const list = keys
    .list()
    .filter((k) => kinds.includes(k.kind))
    .map((k) => {
      const key = createPublicKey(keys.exportPublic(k.kind, k.id));
      const type = `ecdsa-sha2-${SSH_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'nistp256'}`;
      return {
        expires: expiresOf(k),
        keyid: k.id,
        keytype: type,
        scheme: type,
        key: key.export({ format: 'der', type: 'spki' }).toString('base64'),
      };
    });
  return Buffer.from(JSON.stringify({ keys: list }));
}

const SSH_CURVES: Record<string, string> = { prime256v1: 'nistp256', secp384r1: 'nistp384', secp521r1: 'nistp521', secp224r1: 'nistp224' };
