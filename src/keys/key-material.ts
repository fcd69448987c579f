/**
 * The in-memory form of one key and the builders shared by generation and import, so a
 * generated key and an imported one are named, recorded and written in exactly one way.
 * A LoadedKey only ever lives inside the key store; callers get signers and public text.
 */
import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { armorPrivateKey, describeOpenPgpKey, fingerprintOf } from './generate-openpgp.js';
import { derToPem } from './generate-x509.js';
import { spkiDer, spkiId, spkiShortHex } from './key-ids.js';
import type { KeyRecord } from './manifest.js';
import { describeNodeKey, exportPrivatePem } from './pem-keys.js';
import type { KeyKind } from './types.js';

export type Secret = { type: 'openpgp'; key: openpgp.PrivateKey } | { type: 'node'; key: KeyObject };

export interface LoadedKey {
  record: KeyRecord;
  /** Contents of the public file: armored key, SPKI PEM, or certificate(s). */
  publicText: string;
  /** DER SubjectPublicKeyInfo (all kinds but openpgp). */
  spki?: Buffer;
  openpgpPublic?: openpgp.PublicKey;
  /** x509 kinds: the certificate first, then its issuers. */
  certs?: X509Certificate[];
  /** Present for active keys only; retired and revoked keys never have their private half in memory. */
  secret?: Secret;
}

/** A key made or imported but not yet on disk. */
export interface PendingKey {
  loaded: LoadedKey;
  privateText: string;
}

export interface BuildContext {
  passphrase: string | undefined;
  source: KeyRecord['source'];
  now: Date;
}

function baseRecord(kind: KeyKind, id: string, algorithm: string, ctx: BuildContext, files: KeyRecord['files']): KeyRecord {
  return {
    id,
    kind,
    algorithm,
    status: 'active',
    createdAt: ctx.now.toISOString(),
    source: ctx.source,
    encrypted: ctx.passphrase !== undefined,
    files,
  };
}

export type OpenPgpKind = 'openpgp' | 'openpgp-unverified';
export type NodeKeyKind = 'ecdsa' | 'rsa' | 'ed25519' | 'ecdsa-unverified' | 'rsa-unverified';

export async function pendingOpenPgp(key: openpgp.PrivateKey, ctx: BuildContext, kind: OpenPgpKind = 'openpgp'): Promise<PendingKey> {
  const id = fingerprintOf(key);
  const stem = `${kind}-${id.slice(-16)}`;
  const record = baseRecord(kind, id, describeOpenPgpKey(key), ctx, { private: `${stem}.key.asc`, public: `${stem}.pub.asc` });
  const publicKey = key.toPublic();
  return {
    loaded: { record, publicText: publicKey.armor(), openpgpPublic: publicKey, secret: { type: 'openpgp', key } },
    privateText: await armorPrivateKey(key, ctx.passphrase),
  };
}

export function publicPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

/** ecdsa, rsa and ed25519 keys (and their unverified twins); `rsaKeyName` is required for rsa kinds. */
export function pendingNodeKey(kind: NodeKeyKind, key: KeyObject, ctx: BuildContext, rsaKeyName?: string): PendingKey {
  const spki = spkiDer(key);
  const stem = `${kind}-${spkiShortHex(spki)}`;
  const isRsa = kind === 'rsa' || kind === 'rsa-unverified';
  const files = isRsa ? { private: `${rsaKeyName}.rsa`, public: `${rsaKeyName}.rsa.pub` } : { private: `${stem}.key.pem`, public: `${stem}.pub.pem` };
  const record = baseRecord(kind, spkiId(spki), describeNodeKey(key), ctx, files);
  if (isRsa) record.rsaKeyName = rsaKeyName;
  return {
    loaded: { record, publicText: publicPem(key), spki, secret: { type: 'node', key } },
    privateText: exportPrivatePem(key, ctx.passphrase),
  };
}

/** A CA (certs = [ca]) or a leaf (certs = [leaf, …issuers]), of either role. */
export function pendingCertified(
  kind: 'x509-ca' | 'x509-rsa' | 'x509-ecdsa' | 'x509-ca-unverified' | 'x509-rsa-unverified' | 'x509-ecdsa-unverified',
  key: KeyObject,
  certs: X509Certificate[],
  ctx: BuildContext,
  issuerId?: string,
): PendingKey {
  const spki = spkiDer(key);
  const stem = `${kind}-${spkiShortHex(spki)}`;
  const files = { private: `${stem}.key.pem`, public: kind.startsWith('x509-ca') ? `${stem}.crt.pem` : `${stem}.chain.pem` };
  const record = baseRecord(kind, spkiId(spki), `x509-${describeNodeKey(key)}`, ctx, files);
  if (issuerId) record.issuerId = issuerId;
  record.notAfter = new Date(certs[0]!.validTo).toISOString();
  return {
    loaded: { record, publicText: certs.map((c) => derToPem(c.raw)).join(''), spki, certs, secret: { type: 'node', key } },
    privateText: exportPrivatePem(key, ctx.passphrase),
  };
}
