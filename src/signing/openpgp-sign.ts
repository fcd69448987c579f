/**
 * OpenPGP signatures made with a decrypted openpgp.js private key: detached (sigclass 0x00,
 * binary document) for Release.gpg, repomd.xml.asc, .asc files and RPM headers, and
 * cleartext for Debian InRelease. Large inputs are streamed, never buffered whole.
 */
import * as openpgp from 'openpgp';
import { isAsyncIterable, readByteStream, readTextStream, toWebStream, type SigningInput } from './stream-input.js';

/**
 * openpgp.js never picks a hash below SHA-256 for signing; preferring SHA-512 keeps RSA
 * and EdDSA signatures consistent with what gpg makes by default for these keys.
 */
const SIGNING_CONFIG: openpgp.PartialConfig = { preferredHashAlgorithm: openpgp.enums.hash.sha512 };

async function binaryMessage(data: SigningInput): Promise<openpgp.Message<Uint8Array | ReadableStream<Uint8Array>>> {
  if (isAsyncIterable(data)) return openpgp.createMessage({ binary: toWebStream(data) });
  return openpgp.createMessage({ binary: data });
}

/** Armored detached signature over binary data ("-----BEGIN PGP SIGNATURE-----"). */
export async function signDetachedArmored(key: openpgp.PrivateKey, data: SigningInput, date?: Date): Promise<string> {
  const message = await binaryMessage(data);
  const signature: string | ReadableStream<string> = await openpgp.sign({
    message,
    signingKeys: key,
    detached: true,
    format: 'armored',
    config: SIGNING_CONFIG,
    ...(date ? { date } : {}),
  });
  return typeof signature === 'string' ? signature : readTextStream(signature);
}

/**
 * Binary detached signature packet(s), e.g. for RPM header signature tags. `deterministic`
 * makes it a function of the key and the bytes alone: dated at the moment the signing key became
 * valid (its creation or latest self-signature, whichever is later) and without the random salt
 * notation openpgp.js adds by default. RSA PKCS#1 v1.5 and EdDSA are deterministic themselves, so
 * re-deriving an RPM after a cache loss gives identical bytes.
 */
export async function signDetachedBinary(key: openpgp.PrivateKey, data: SigningInput, opts: { date?: Date; deterministic?: boolean } = {}): Promise<Uint8Array> {
  const message = await binaryMessage(data);
  const date = opts.deterministic ? await validSince(key) : opts.date;
  const signature: Uint8Array | ReadableStream<Uint8Array> = await openpgp.sign({
    message,
    signingKeys: key,
    detached: true,
    format: 'binary',
    config: opts.deterministic ? { ...SIGNING_CONFIG, nonDeterministicSignaturesViaNotation: false } : SIGNING_CONFIG,
    ...(date ? { date } : {}),
  });
  return signature instanceof Uint8Array ? signature : readByteStream(signature);
}

/** The earliest time at which the key (primary user, signing subkey binding) is valid for signing. */
async function validSince(key: openpgp.PrivateKey): Promise<Date> {
  const times = [key.getCreationTime().getTime()];
  const { selfCertification } = await key.getPrimaryUser();
  if (selfCertification.created) times.push(selfCertification.created.getTime());
  const signing = await key.getSigningKey();
  times.push(signing.getCreationTime().getTime());
  if (signing !== key && 'bindingSignatures' in signing) {
    for (const b of signing.bindingSignatures) if (b.created) times.push(b.created.getTime());
  }
  return new Date(Math.max(...times));
}

/**
 * Cleartext-signed text ("-----BEGIN PGP SIGNED MESSAGE-----"), as in Debian InRelease, with LF line
 * endings: the text between the armour headers is `text` itself, dash-escaped (RFC 4880 §7.1,
 * https://www.rfc-editor.org/rfc/rfc4880#section-7.1) and nothing else, so a consumer that reads
 * the signed text (python-debian, debmirror, a downstream mirror) gets the same bytes as the
 * Release served beside it. openpgp.js armours its CRLF-normalised copy of the text instead; the
 * signature itself is computed over canonical CRLF text with trailing whitespace removed (§7.1),
 * so it is the same whichever line endings are served, and gpgv and apt verify the LF form.
 */
export async function signCleartext(key: openpgp.PrivateKey, text: string, date?: Date): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  const signed = await openpgp.sign({ message, signingKeys: key, format: 'object', config: SIGNING_CONFIG, ...(date ? { date } : {}) });
  // openpgp.js's typings omit the signature a signed CleartextMessage carries.
  const { signature } = signed as unknown as { signature: openpgp.Signature };
  const packets = signature.packets;
  // The Hash header names the digest algorithms of the signatures (§7); v6-only signatures carry none.
  const hashes = packets.some((p) => p.version !== 6)
    ? [...new Set(packets.map((p) => openpgp.enums.read(openpgp.enums.hash, p.hashAlgorithm ?? openpgp.enums.hash.sha512).toUpperCase()))].join(',')
    : undefined;
  const armoredSignature = signature.armor().replace(/\r\n/g, '\n');
  return [
    '-----BEGIN PGP SIGNED MESSAGE-----\n',
    hashes ? `Hash: ${hashes}\n\n` : '\n',
    dashEscape(text),
    '\n',
    armoredSignature,
  ].join('');
}

/** RFC 4880 §7.1: a line of the signed text that starts with '-' is prefixed by "- " (lines end at LF only). */
function dashEscape(text: string): string {
  return text.replace(/(^|\n)-/g, '$1- -');
}
