/**
 * keys/manifest.json: the authoritative list of keys. A key exists only once the manifest
 * names it; files it does not name are leftovers of an interrupted write and are ignored.
 * Records carry no role: it follows from the kind, so manifests written before roles existed
 * load unchanged (their store simply gains the missing unverified kinds on the next start).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MirrorError } from '../errors.js';
import { PUBLIC_MODE, writeFileAtomic } from './key-files.js';
import { KEY_KINDS, type KeyKind, type KeyStatus } from './types.js';

export const MANIFEST_FILE = 'manifest.json';

const STATUSES: readonly KeyStatus[] = ['active', 'retired', 'revoked'];

export interface KeyRecord {
  id: string;
  kind: KeyKind;
  algorithm: string;
  status: KeyStatus;
  createdAt: string;
  retiredAt?: string;
  /** status 'revoked': when, and the operator's reason (published with the key). */
  revokedAt?: string;
  revocationReason?: string;
  source: 'generated' | 'imported';
  /** Whether the private file is encrypted with the store passphrase. */
  encrypted: boolean;
  files: {
    private: string;
    /** Armored public key, SPKI PEM, or for x509 kinds the certificate (leaves: the chain, leaf first). */
    public: string;
  };
  /** rsa: the Alpine key name (public file is `<rsaKeyName>.rsa.pub`). */
  rsaKeyName?: string;
  /** x509 leaves: id of the CA record that issued them, when it is ours. */
  issuerId?: string;
  /** x509 kinds: certificate expiry (ISO). */
  notAfter?: string;
}

export interface Manifest {
  version: 1;
  keys: KeyRecord[];
}

function invalid(file: string, reason: string): MirrorError {
  return new MirrorError('KEY_ERROR', `The key manifest ${file} is invalid: ${reason}`, { file });
}

function checkRecord(file: string, r: unknown, index: number): KeyRecord {
  const rec = r as Partial<KeyRecord> | null;
  const where = `keys[${index}]`;
  if (!rec || typeof rec !== 'object') throw invalid(file, `${where} is not an object`);
  if (typeof rec.id !== 'string' || rec.id === '') throw invalid(file, `${where}.id is missing`);
  if (!KEY_KINDS.includes(rec.kind as KeyKind)) throw invalid(file, `${where}.kind "${String(rec.kind)}" is unknown`);
  if (!STATUSES.includes(rec.status as KeyStatus)) throw invalid(file, `${where}.status must be one of ${STATUSES.join(', ')}`);
  // A revoked record without its date would read as a planned retirement in the npm keys document.
  if (rec.status === 'revoked' && typeof rec.revokedAt !== 'string') throw invalid(file, `${where} is revoked but has no revokedAt`);
  if (typeof rec.files?.private !== 'string' || typeof rec.files?.public !== 'string') throw invalid(file, `${where}.files is incomplete`);
  for (const name of [rec.files.private, rec.files.public]) {
    // File names come from disk; never let one escape the key directory.
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw invalid(file, `${where}.files names "${name}"`);
  }
  return rec as KeyRecord;
}

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MirrorError('KEY_ERROR', `Cannot read the key manifest ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(file, (err as Error).message);
  }
  const m = parsed as { version?: unknown; keys?: unknown };
  if (m.version !== 1) throw invalid(file, `version ${String(m.version)} is not supported`);
  if (!Array.isArray(m.keys)) throw invalid(file, 'keys is not a list');
  const keys = m.keys.map((r, i) => checkRecord(file, r, i));
  for (const kind of KEY_KINDS) {
    if (keys.filter((k) => k.kind === kind && k.status === 'active').length > 1) throw invalid(file, `more than one active ${kind} key`);
  }
  return { version: 1, keys };
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(dir, MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`, PUBLIC_MODE);
}
