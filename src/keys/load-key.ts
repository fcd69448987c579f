/**
 * Reads one manifest record back from disk and checks that its files still belong to it:
 * a public file, a private file (active keys only) and the id must all agree, so a swapped
 * or damaged file is a clear KEY_ERROR at start, not a wrong signature later.
 */
import { createPublicKey } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { join } from 'node:path';
import { MirrorError } from '../errors.js';
import { fingerprintOf, loadOpenPgpPrivateKey, readOpenPgpPublicKeys } from './generate-openpgp.js';
import { splitCertificates } from './generate-x509.js';
import { readKeyFile } from './key-files.js';
import { spkiDer, spkiId } from './key-ids.js';
import type { LoadedKey } from './key-material.js';
import { isOpenPgpKind } from './key-roles.js';
import type { KeyRecord } from './manifest.js';
import { loadPrivatePem } from './pem-keys.js';

function mismatch(file: string, record: KeyRecord, found: string): MirrorError {
  return new MirrorError('KEY_ERROR', `The key file ${file} does not hold key ${record.id} named in the manifest (found ${found})`, {
    file,
    keyId: record.id,
  });
}

async function loadPublic(dir: string, record: KeyRecord): Promise<LoadedKey> {
  const file = join(dir, record.files.public);
  const publicText = await readKeyFile(dir, record.files.public);
  if (isOpenPgpKind(record.kind)) {
    const [key] = await readOpenPgpPublicKeys(publicText, file);
    if (!key || fingerprintOf(key) !== record.id) throw mismatch(file, record, key ? fingerprintOf(key) : 'no key');
    return { record, publicText, openpgpPublic: key };
  }
  let loaded: LoadedKey;
  try {
    if (record.kind.startsWith('x509-')) {
      const certs = splitCertificates(publicText);
      if (certs.length === 0) throw new Error('no certificate');
      loaded = { record, publicText, certs, spki: spkiDer(certs[0]!.publicKey) };
    } else {
      loaded = { record, publicText, spki: spkiDer(createPublicKey(publicText)) };
    }
  } catch (err) {
    throw new MirrorError('KEY_ERROR', `Cannot read the public key file ${file}: ${(err as Error).message}`, { file });
  }
  const id = spkiId(loaded.spki!);
  if (id !== record.id) throw mismatch(file, record, id);
  return loaded;
}

/**
 * The private half of an OpenPGP record, checked against its id. Also how revocation reaches
 * a retired key's private file, which is not in memory, to sign its revocation.
 */
export async function readOpenPgpSecret(dir: string, record: KeyRecord, passphrase: string | undefined): Promise<openpgp.PrivateKey> {
  const file = join(dir, record.files.private);
  const key = await loadOpenPgpPrivateKey(await readKeyFile(dir, record.files.private), passphrase, file);
  if (fingerprintOf(key) !== record.id) throw mismatch(file, record, fingerprintOf(key));
  return key;
}

/** `publicOnly`: a process that never signs (a worker of listen.workers) reads no private file at all. */
export async function loadKey(dir: string, record: KeyRecord, passphrase: string | undefined, opts: { publicOnly?: boolean } = {}): Promise<LoadedKey> {
  const loaded = await loadPublic(dir, record);
  // Retired and revoked keys stay public-only: a revoked key's private file is kept (it made
  // the revocation signature) but is never read back into a signer.
  if (record.status !== 'active' || opts.publicOnly) return loaded;
  if (isOpenPgpKind(record.kind)) {
    loaded.secret = { type: 'openpgp', key: await readOpenPgpSecret(dir, record, passphrase) };
  } else {
    const file = join(dir, record.files.private);
    const privateText = await readKeyFile(dir, record.files.private);
    const key = loadPrivatePem(privateText, passphrase, file);
    const id = spkiId(spkiDer(key));
    if (id !== record.id) throw mismatch(file, record, id);
    loaded.secret = { type: 'node', key };
  }
  return loaded;
}
