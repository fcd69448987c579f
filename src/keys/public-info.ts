/**
 * What the mirror publishes about its keys: the /-/keys listing and the file names under
 * /-/keys/. Active keys keep the short names the design fixes (openpgp.asc, cosign.pub,
 * ca.pem, <name>.rsa.pub; the unverified role: openpgp-unverified.asc, cosign-unverified.pub,
 * <name>-unverified-<hex>.rsa.pub, ca-unverified.pem, x509-rsa-unverified.pem, …); every retired key also has a name of its own so old
 * signatures stay verifiable after a rotation. Revoked keys have no file of their own: a
 * compromised key must not be fetched and trusted anew. OpenPGP is the exception by design:
 * the role's keyring keeps a revoked key with its revocation, which is how clients learn of it.
 */
import { spkiShortHex } from './key-ids.js';
import type { LoadedKey } from './key-material.js';
import { familyOf, roleOf } from './key-roles.js';
import type { KeyKind, KeyRole, PublicFile, PublicKeyInfo } from './types.js';

export const KEYS_URL_PREFIX = '/-/keys/';

const UNVERIFIED_NOTE = ' of repositories whose upstream content was not verified (verify: warn/off)';

const PURPOSES: Record<KeyKind, string> = {
  openpgp: 'OpenPGP signatures: Debian InRelease/Release.gpg, RPM repomd.xml.asc and headers, Maven/Helm/Python/raw .asc',
  ecdsa: 'npm registry signatures, cosign image signatures',
  rsa: 'Alpine APKINDEX and .apk signatures',
  'x509-ca': 'Root CA of the code-signing and HTTPS certificates',
  'x509-rsa': 'NuGet repository signatures (code-signing certificate)',
  'x509-ecdsa': 'Swift package signatures (code-signing certificate)',
  ed25519: 'Signed notes: the log of what the mirror signed',
  'openpgp-unverified': `OpenPGP signatures${UNVERIFIED_NOTE}`,
  'ecdsa-unverified': `npm registry and cosign signatures${UNVERIFIED_NOTE}`,
  'rsa-unverified': `Alpine APKINDEX and .apk signatures${UNVERIFIED_NOTE}`,
  'x509-ca-unverified': `Root CA of the code-signing certificates${UNVERIFIED_NOTE}; never trust it for verified content`,
  'x509-rsa-unverified': `NuGet repository signatures${UNVERIFIED_NOTE}`,
  'x509-ecdsa-unverified': `Swift package signatures${UNVERIFIED_NOTE}`,
};

const PEM = 'application/x-pem-file';

/** The file /-/keys/ serves a role's OpenPGP keyring under. */
export function keyringFileName(role: KeyRole): string {
  return role === 'primary' ? 'openpgp.asc' : 'openpgp-unverified.asc';
}

/** Stable per-key names, and the short alias an active key also answers to; none when revoked. */
function names(key: LoadedKey): { own: string; alias?: string } | undefined {
  const { kind, status, rsaKeyName } = key.record;
  const family = familyOf(kind);
  if (family === 'openpgp') return { own: keyringFileName(roleOf(kind)) };
  if (status === 'revoked') return undefined;
  const short = key.spki ? spkiShortHex(key.spki) : '';
  const active = status === 'active';
  switch (family) {
    case 'rsa':
      return { own: `${rsaKeyName}.rsa.pub` };
    case 'ecdsa': {
      const stem = roleOf(kind) === 'primary' ? 'cosign' : 'cosign-unverified';
      return { own: `${stem}-${short}.pub`, ...(active ? { alias: `${stem}.pub` } : {}) };
    }
    case 'ed25519':
      return { own: `ed25519-${short}.pub`, ...(active ? { alias: 'ed25519.pub' } : {}) };
    case 'x509-ca': {
      const stem = roleOf(kind) === 'primary' ? 'ca' : 'ca-unverified';
      return { own: `${stem}-${short}.pem`, ...(active ? { alias: `${stem}.pem` } : {}) };
    }
    case 'x509-rsa':
    case 'x509-ecdsa':
      return { own: `${kind}-${short}.pem`, ...(active ? { alias: `${kind}.pem` } : {}) };
  }
}

export function publicInfo(key: LoadedKey): PublicKeyInfo {
  const { id, kind, algorithm, status, createdAt, retiredAt, revokedAt, revocationReason } = key.record;
  const n = names(key);
  return {
    id,
    kind,
    role: roleOf(kind),
    algorithm,
    purpose: PURPOSES[kind],
    status,
    createdAt,
    ...(retiredAt ? { retiredAt } : {}),
    ...(revokedAt ? { revokedAt } : {}),
    ...(revocationReason ? { revocationReason } : {}),
    ...(n ? { downloadUrl: `${KEYS_URL_PREFIX}${n.alias ?? n.own}` } : {}),
  };
}

/**
 * Resolves a file name under /-/keys/. `keyrings` are the per-role OpenPGP keyrings, which
 * is what openpgp.asc / openpgp-unverified.asc serve rather than any single key.
 */
export function findPublicFile(keys: readonly LoadedKey[], name: string, keyrings: Readonly<Record<KeyRole, string>>): PublicFile | undefined {
  for (const role of ['primary', 'unverified'] as const) {
    if (name === keyringFileName(role)) return { contentType: 'application/pgp-keys', body: keyrings[role] };
  }
  for (const key of keys) {
    if (familyOf(key.record.kind) === 'openpgp') continue;
    const n = names(key);
    if (n && (n.own === name || n.alias === name)) return { contentType: PEM, body: key.publicText };
  }
  return undefined;
}
