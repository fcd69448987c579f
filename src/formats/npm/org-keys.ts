/** The organisation's ECDSA keys in the shape npm reads from `/-/npm/v1/keys`; retired keys carry `expires`. */
import { createPublicKey } from 'node:crypto';
import type { KeyStore } from '../../keys/types.js';

export function orgKeysDocument(keys: KeyStore): Buffer {
  const list = keys
    .list()
    .filter((k) => k.kind === 'ecdsa')
    .map((k) => {
      const key = createPublicKey(keys.exportPublic('ecdsa', k.id));
      const type = `ecdsa-sha2-${SSH_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'nistp256'}`;
      return {
        expires: k.status === 'retired' ? (k.retiredAt ?? null) : null,
        keyid: k.id,
        keytype: type,
        scheme: type,
        key: key.export({ format: 'der', type: 'spki' }).toString('base64'),
      };
    });
  return Buffer.from(JSON.stringify({ keys: list }));
}

const SSH_CURVES: Record<string, string> = { prime256v1: 'nistp256', secp384r1: 'nistp384', secp521r1: 'nistp521', secp224r1: 'nistp224' };
