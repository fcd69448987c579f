/**
 * What revoking one key changes in the store, computed before anything is written: the
 * revoked records, the kinds that need a new active key, and the files to add. Revoking a CA
 * also revokes the leaves it issued: their certificates chain only to the compromised CA,
 * which leaves every publication, so they could only mislead.
 */
import type * as openpgp from 'openpgp';
import type { LoadedKey } from './key-material.js';
import { isCaKind, leafKindsOf } from './generate-keys.js';
import { isOpenPgpKind, kindFor } from './key-roles.js';
import type { KeyRecord } from './manifest.js';
import { revokedPublicFileName, revokeOpenPgpKey } from './revoke-openpgp.js';
import type { KeyKind } from './types.js';

export interface ExtraFile {
  name: string;
  text: string;
}

export interface RevocationPlan {
  /** The revoked form of every key the revocation touches (the target and, for a CA, its leaves). */
  revised: Map<LoadedKey, LoadedKey>;
  /** Kinds whose active key is revoked and must be replaced, as rotation would. */
  replace: KeyKind[];
  /** Public files to write before the manifest (OpenPGP keys carrying their revocation). */
  extra: ExtraFile[];
  revoked: LoadedKey;
}

/** Reads a non-active OpenPGP key's private half from disk to sign its revocation. */
export type SecretReader = (record: KeyRecord) => Promise<openpgp.PrivateKey>;

async function revokeOne(key: LoadedKey, reason: string | undefined, now: Date, readSecret: SecretReader, extra: ExtraFile[]): Promise<LoadedKey> {
  const { record } = key;
  const revised: KeyRecord = { ...record, status: 'revoked', revokedAt: now.toISOString(), ...(reason ? { revocationReason: reason } : {}) };
  // The private half leaves memory for good; loadKey never reads it back for a revoked key.
  const revoked: LoadedKey = { ...key, record: revised, secret: undefined };
  if (!isOpenPgpKind(record.kind)) return revoked;
  const secret = key.secret?.type === 'openpgp' ? key.secret.key : await readSecret(record);
  const publicKey = await revokeOpenPgpKey(secret, reason, now);
  const file = revokedPublicFileName(record.files.public);
  const publicText = publicKey.armor();
  extra.push({ name: file, text: publicText });
  return { ...revoked, record: { ...revised, files: { ...record.files, public: file } }, publicText, openpgpPublic: publicKey };
}

export async function planRevocation(keys: readonly LoadedKey[], target: LoadedKey, reason: string | undefined, now: Date, readSecret: SecretReader): Promise<RevocationPlan> {
  const { kind, id } = target.record;
  const dependents = isCaKind(kind) ? keys.filter((k) => k.record.issuerId === id && k.record.status !== 'revoked') : [];
  const extra: ExtraFile[] = [];
  const revised = new Map<LoadedKey, LoadedKey>();
  const revoked = await revokeOne(target, reason, now, readSecret, extra);
  revised.set(target, revoked);
  for (const leaf of dependents) revised.set(leaf, await revokeOne(leaf, `issuer CA ${id} revoked`, now, readSecret, extra));

  const replace = new Set<KeyKind>();
  for (const key of [target, ...dependents]) if (key.record.status === 'active') replace.add(key.record.kind);
  // As in rotation: a new CA comes with new leaves, never with leaves of the old one.
  for (const role of ['primary', 'unverified'] as const) {
    if (replace.has(kindFor('x509-ca', role))) leafKindsOf(role).forEach((k) => replace.add(k));
  }
  return { revised, replace: [...replace], extra, revoked };
}
