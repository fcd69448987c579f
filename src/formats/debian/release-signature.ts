/**
 * Verifies a suite's Release against the operator's keyring, in either form apt accepts:
 * InRelease (cleartext-signed, split exactly as apt splits it: ./clearsigned.ts) or Release
 * with a detached Release.gpg. Signatures with hashes apt counts as worthless (MD5, SHA1,
 * RIPEMD160) are refused by openpgp.js's defaults, as apt 2.6 refuses them.
 * https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files
 */
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { loadOpenPgpKeyring, verifyDetached, type OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import { splitClearSigned } from './clearsigned.js';

export type SignedRelease = { ok: true; text: string; by: string[] } | { ok: false; reason: string };

/** openpgp.js builds cleartext messages from (text, signature); its typings omit that constructor. */
const CleartextMessage = openpgp.CleartextMessage as unknown as new (text: string, signature: openpgp.Signature) => openpgp.CleartextMessage;

export async function verifyInRelease(keyring: OpenPgpKeyring, bytes: Buffer): Promise<SignedRelease> {
  const split = splitClearSigned(bytes);
  if (!split.ok) return { ok: false, reason: `InRelease is not a valid clearsigned file: ${split.reason}` };
  const { text, signatureBlocks } = split.value;
  const by = new Set<string>();
  const reasons: string[] = [];
  for (const block of signatureBlocks) {
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature: block });
    } catch (err) {
      reasons.push(`a signature block cannot be read: ${(err as Error).message}`);
      continue;
    }
    const result = await openpgp.verify({ message: new CleartextMessage(text, signature), verificationKeys: keyring.keys });
    for (const sig of result.signatures) {
      try {
        await sig.verified;
        by.add(fingerprintOf(keyring, sig.keyID));
      } catch (err) {
        reasons.push(`key ${sig.keyID.toHex().toUpperCase()}: ${(err as Error).message}`);
      }
    }
  }
  if (by.size === 0) return { ok: false, reason: `no signature on InRelease verifies with the trusted keyring (${reasons.join('; ') || 'no signatures'})` };
  return { ok: true, text, by: [...by] };
}

export async function verifyReleaseGpg(keyring: OpenPgpKeyring, release: Buffer, signature: Buffer): Promise<SignedRelease> {
  const result = await verifyDetached(keyring, signature, Readable.from([release]));
  if (!result.ok) return { ok: false, reason: `Release.gpg does not verify Release with the trusted keyring: ${result.reason}` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(release);
  } catch {
    return { ok: false, reason: 'Release is not valid UTF-8' };
  }
  // The same text apt would hand on: lines without trailing whitespace, no final newline.
  const canonical = text.split('\n').map((l) => l.replace(/[ \t\r]+$/, '')).join('\n').replace(/\n+$/, '');
  return { ok: true, text: canonical, by: [result.fingerprint] };
}

function fingerprintOf(keyring: OpenPgpKeyring, keyID: openpgp.KeyID): string {
  const key = keyring.keys.find((k) => k.getKeys(keyID).length > 0);
  return key ? key.getFingerprint().toUpperCase() : keyID.toHex().toUpperCase();
}

/**
 * Loads the keyring files the operator trusts (binary `.gpg` or armored `.asc`, several keys
 * each, several armored blocks in one file) into one keyring.
 */
export async function loadKeyrings(files: { name: string; bytes: Buffer }[]): Promise<OpenPgpKeyring> {
  const keys: openpgp.PublicKey[] = [];
  for (const { name, bytes } of files) {
    const text = bytes.toString('latin1');
    const blocks = text.includes('-----BEGIN PGP')
      ? text.split(/(?=-----BEGIN PGP PUBLIC KEY BLOCK-----)/).filter((b) => b.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----'))
      : [undefined];
    for (const block of blocks) {
      const ring = await loadOpenPgpKeyring(block === undefined ? bytes : Buffer.from(block, 'latin1'), name);
      keys.push(...ring.keys);
    }
  }
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}
