/**
 * Key roles. A signature by a primary key means "these bytes verified against the trust the
 * operator pinned"; content from `verify: warn|off` repositories still needs signed indexes,
 * so it is signed by a separate, separately published set of keys (the `-unverified` kinds)
 * and can never be mistaken for verified content by a client that trusts only the primary set.
 */
import { MirrorError } from '../errors.js';
import type { KeyKind, KeyRole } from './types.js';

/** The signing families that have an unverified twin. */
export type RoleFamily = 'openpgp' | 'ecdsa' | 'rsa' | 'x509-ca' | 'x509-rsa' | 'x509-ecdsa';

export const KEY_ROLES: readonly KeyRole[] = ['primary', 'unverified'];

const UNVERIFIED_SUFFIX = '-unverified';

export function roleOf(kind: KeyKind): KeyRole {
  return kind.endsWith(UNVERIFIED_SUFFIX) ? 'unverified' : 'primary';
}

/** The kind whose generation, import and checks a kind shares ("ecdsa-unverified" → "ecdsa"). */
export function familyOf(kind: KeyKind): Exclude<KeyKind, `${string}-unverified`> {
  return (kind.endsWith(UNVERIFIED_SUFFIX) ? kind.slice(0, -UNVERIFIED_SUFFIX.length) : kind) as Exclude<KeyKind, `${string}-unverified`>;
}

export function isOpenPgpKind(kind: KeyKind): kind is 'openpgp' | 'openpgp-unverified' {
  return familyOf(kind) === 'openpgp';
}

/**
 * The kind that holds `family` keys of `role`. Callers in plain JavaScript (or a stale build)
 * could pass anything as the role; an unknown one must not silently fall back to primary.
 */
export function kindFor<F extends RoleFamily>(family: F, role: KeyRole = 'primary'): F | `${F}-unverified` {
  if (role === 'primary') return family;
  if (role === 'unverified') return `${family}-unverified`;
  throw new MirrorError('KEY_ERROR', `Unknown key role "${String(role)}" (known: ${KEY_ROLES.join(', ')})`, { role: String(role) });
}

/** The comment in the unverified OpenPGP key's user id, so gpg shows it next to the name. */
export const UNVERIFIED_UID_COMMENT = 'unverified upstream content';
