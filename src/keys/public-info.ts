/**
 * What the mirror publishes about its keys: the /-/keys listing and the file names under
 * /-/keys/. Active keys keep the short names the design fixes (openpgp.asc, cosign.pub,
 * ca.pem, <name>.rsa.pub); every key, retired ones included, also has a name of its own
 * so old signatures stay verifiable after a rotation.
 */
import { spkiShortHex } from './key-ids.js';
import type { LoadedKey } from './key-material.js';
import type { KeyKind, PublicFile, PublicKeyInfo } from './types.js';

export const KEYS_URL_PREFIX = '/-/keys/';

const PURPOSES: Record<KeyKind, string> = {
  openpgp: 'OpenPGP signatures: Debian InRelease/Release.gpg, RPM repomd.xml.asc and headers, Maven/Helm/Python/raw .asc',
  ecdsa: 'npm registry signatures, cosign image signatures',
  rsa: 'Alpine APKINDEX and .apk signatures',
  'x509-ca': 'Root CA of the code-signing and HTTPS certificates',
  'x509-rsa': 'NuGet repository signatures (code-signing certificate)',
  'x509-ecdsa': 'Swift package signatures (code-signing certificate)',
  ed25519: 'Signed notes: the log of what the mirror signed',
};

const PEM = 'application/x-pem-file';

/** Stable per-key names, and the short alias an active key also answers to. */
function names(key: LoadedKey): { own: string; alias?: string } {
  const { kind, status, rsaKeyName } = key.record;
  const short = key.spki ? spkiShortHex(key.spki) : '';
  const active = status === 'active';
  switch (kind) {
    case 'openpgp':
      return { own: 'openpgp.asc' };
    case 'rsa':
      return { own: `${rsaKeyName}.rsa.pub` };
    case 'ecdsa':
      return { own: `cosign-${short}.pub`, ...(active ? { alias: 'cosign.pub' } : {}) };
    case 'ed25519':
      return { own: `ed25519-${short}.pub`, ...(active ? { alias: 'ed25519.pub' } : {}) };
    case 'x509-ca':
      return { own: `ca-${short}.pem`, ...(active ? { alias: 'ca.pem' } : {}) };
    case 'x509-rsa':
    case 'x509-ecdsa':
      return { own: `${kind}-${short}.pem`, ...(active ? { alias: `${kind}.pem` } : {}) };
  }
}

export function publicInfo(key: LoadedKey): PublicKeyInfo {
  const { id, kind, algorithm, status, createdAt, retiredAt } = key.record;
  const n = names(key);
  return {
    id,
    kind,
    algorithm,
    purpose: PURPOSES[kind],
    status,
    createdAt,
    ...(retiredAt ? { retiredAt } : {}),
    downloadUrl: `${KEYS_URL_PREFIX}${n.alias ?? n.own}`,
  };
}

/**
 * Resolves a file name under /-/keys/. `keyring` is the combined OpenPGP keyring, which is
 * what openpgp.asc serves rather than any single key.
 */
export function findPublicFile(keys: readonly LoadedKey[], name: string, keyring: string): PublicFile | undefined {
  if (name === 'openpgp.asc') return { contentType: 'application/pgp-keys', body: keyring };
  for (const key of keys) {
    if (key.record.kind === 'openpgp') continue;
    const n = names(key);
    if (n.own === name || n.alias === name) return { contentType: PEM, body: key.publicText };
  }
  return undefined;
}
