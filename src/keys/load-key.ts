/**
 * Reads one manifest record back from disk and checks that its files still belong to it:
 * a public file, a private file (active keys only) and the id must all agree, so a swapped
 * or damaged file is a clear KEY_ERROR at start, not a wrong signature later.
 */
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { MirrorError } from '../errors.js';
import { fingerprintOf, loadOpenPgpPrivateKey, readOpenPgpPublicKeys } from './generate-openpgp.js';
import { splitCertificates } from './generate-x509.js';
import { readKeyFile } from './key-files.js';
import { spkiDer, spkiId } from './key-ids.js';
import type { LoadedKey } from './key-material.js';
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
  if (record.kind === 'openpgp') {
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

export async function loadKey(dir: string, record: KeyRecord, passphrase: string | undefined): Promise<LoadedKey> {
  const loaded = await loadPublic(dir, record);
  if (record.status !== 'active') return loaded;
  const file = join(dir, record.files.private);
  const privateText = await readKeyFile(dir, record.files.private);
  if (record.kind === 'openpgp') {
    const key = await loadOpenPgpPrivateKey(privateText, passphrase, file);
    if (fingerprintOf(key) !== record.id) throw mismatch(file, record, fingerprintOf(key));
    loaded.secret = { type: 'openpgp', key };
  } else {
    const key = loadPrivatePem(privateText, passphrase, file);
    const id = spkiId(spkiDer(key));
    if (id !== record.id) throw mismatch(file, record, id);
    loaded.secret = { type: 'node', key };
  }
  return loaded;
}
