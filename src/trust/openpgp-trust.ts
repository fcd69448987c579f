/**
 * Upstream OpenPGP trust: load the operator's keyring, verify detached signatures over
 * upstream bytes. Everything passed in here is attacker-controlled except the keyring.
 */
import * as openpgp from 'openpgp';
import { Readable } from 'node:stream';
import { MirrorError } from '../errors.js';

export interface OpenPgpKeyring {
  keys: openpgp.PublicKey[];
  fingerprints: string[];
}

export async function loadOpenPgpKeyring(bytes: Buffer, source: string): Promise<OpenPgpKeyring> {
  try {
    const text = bytes.subarray(0, 64).toString('latin1');
    const keys = text.includes('-----BEGIN PGP')
      ? await readArmoredBlocks(bytes.toString('utf8'))
      : await openpgp.readKeys({ binaryKeys: new Uint8Array(bytes) });
    const publicKeys = keys.map((k) => (k.isPrivate() ? k.toPublic() : k)) as openpgp.PublicKey[];
    if (publicKeys.length === 0) throw new Error('no keys found');
    return { keys: publicKeys, fingerprints: publicKeys.map((k) => k.getFingerprint().toUpperCase()) };
  } catch (err) {
    throw new MirrorError('CONFIG_INVALID', `Cannot read the OpenPGP keyring ${source}: ${(err as Error).message}`, { file: source }, { cause: err });
  }
}

/** Operators concatenate `.asc` files into one keyring: every armored key block in the file counts. */
async function readArmoredBlocks(text: string): Promise<openpgp.Key[]> {
  const blocks = text.match(/-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/g) ?? [text];
  return (await Promise.all(blocks.map((armoredKeys) => openpgp.readKeys({ armoredKeys })))).flat();
}

export type DetachedVerification = { ok: true; fingerprint: string } | { ok: false; reason: string };

/** Verifies a detached signature (armored or binary) over a stream of bytes. */
export async function verifyDetached(keyring: OpenPgpKeyring, signatureBytes: Buffer, data: Readable): Promise<DetachedVerification> {
  let signature: openpgp.Signature;
  try {
    const head = signatureBytes.subarray(0, 64).toString('latin1');
    signature = head.includes('-----BEGIN PGP SIGNATURE')
      ? await openpgp.readSignature({ armoredSignature: signatureBytes.toString('utf8') })
      : await openpgp.readSignature({ binarySignature: new Uint8Array(signatureBytes) });
  } catch (err) {
    data.destroy();
    return { ok: false, reason: `the signature cannot be parsed: ${(err as Error).message}` };
  }
  try {
    const message = await openpgp.createMessage({ binary: Readable.toWeb(data) as unknown as ReadableStream<Uint8Array> });
    const result = await openpgp.verify({ message, signature, verificationKeys: keyring.keys, format: 'binary' });
    // Streaming verification: the signatures resolve only once every byte was read.
    const reader = (result.data as unknown as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done);
    const reasons: string[] = [];
    for (const sig of result.signatures) {
      try {
        await sig.verified;
        const key = keyring.keys.find((k) => k.getKeys(sig.keyID).length > 0);
        return { ok: true, fingerprint: key ? key.getFingerprint().toUpperCase() : sig.keyID.toHex().toUpperCase() };
      } catch (err) {
        reasons.push(`key ${sig.keyID.toHex().toUpperCase()}: ${(err as Error).message}`);
      }
    }
    return { ok: false, reason: reasons.length > 0 ? reasons.join('; ') : 'the signature file holds no signature' };
  } catch (err) {
    data.destroy();
    return { ok: false, reason: (err as Error).message };
  }
}
