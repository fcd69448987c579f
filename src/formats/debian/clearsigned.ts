/**
 * Splits an InRelease file the way apt does before it calls gpgv, so that the text verified here
 * is the text apt would use: RFC 4880 §7 (https://www.rfc-editor.org/rfc/rfc4880#section-7) as
 * implemented by apt 2.6 `SplitClearSignedFile` (apt-pkg/contrib/gpgv.cc), which is stricter:
 *  - the first line is exactly "-----BEGIN PGP SIGNED MESSAGE-----" (nothing before it);
 *  - armor headers until an empty line, only "Hash:" ones are allowed;
 *  - message lines starting with "-" must be dash-escaped ("- ");
 *  - after the message only signature blocks (and trailing empty lines) may follow.
 * Trailing whitespace is stripped from every line (apt does; RFC 4880 ignores it when hashing),
 * and the message is its lines joined with "\n", without a final newline.
 *
 * The input is attacker-controlled until the signature over the returned text verifies.
 */

const BEGIN_MESSAGE = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

export interface ClearSigned {
  /** The signed text as apt extracts it (no final newline). */
  text: string;
  /** Values of the "Hash:" armor headers. */
  hashHeaders: string[];
  /** Each armored signature block, BEGIN to END lines included. */
  signatureBlocks: string[];
}

export type SplitResult = { ok: true; value: ClearSigned } | { ok: false; reason: string };

export function isClearSigned(bytes: Buffer): boolean {
  return bytes.subarray(0, BEGIN_MESSAGE.length).toString('latin1') === BEGIN_MESSAGE;
}

export function splitClearSigned(bytes: Buffer): SplitResult {
  let input: string;
  try {
    input = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: 'the clearsigned file is not valid UTF-8' };
  }
  const lines = input.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== BEGIN_MESSAGE) return { ok: false, reason: `the file does not start with "${BEGIN_MESSAGE}"` };

  const hashHeaders: string[] = [];
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const header = lines[i]!;
    if (header.startsWith('-')) return { ok: false, reason: `line ${i + 1}: an armor header starts with "-"` };
    if (!header.startsWith('Hash: ')) return { ok: false, reason: `line ${i + 1}: armor header "${header.slice(0, 40)}" is not allowed (only Hash:)` };
    hashHeaders.push(header.slice(6));
  }
  if (i >= lines.length) return { ok: false, reason: 'the armor headers never end' };
  i++;

  const message: string[] = [];
  for (; i < lines.length && lines[i] !== BEGIN_SIGNATURE; i++) {
    const line = lines[i]!;
    if (line.startsWith('- ')) message.push(line.slice(2));
    else if (line.startsWith('-')) return { ok: false, reason: `line ${i + 1}: a message line starts with "-" but is not dash-escaped` };
    else message.push(line);
  }
  if (i >= lines.length) return { ok: false, reason: 'no signature follows the message' };

  const signatureBlocks: string[] = [];
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    if (lines[i] !== BEGIN_SIGNATURE) return { ok: false, reason: `line ${i + 1}: unsigned lines after the signature` };
    const start = i;
    for (; i < lines.length && lines[i] !== END_SIGNATURE; i++) {
      if (i > start && lines[i]!.startsWith('-----')) return { ok: false, reason: `line ${i + 1}: an armor line inside the signature block` };
    }
    if (i >= lines.length) return { ok: false, reason: 'the signature block never ends' };
    signatureBlocks.push(`${lines.slice(start, i + 1).join('\n')}\n`);
    i++;
  }
  return { ok: true, value: { text: message.join('\n'), hashHeaders, signatureBlocks } };
}
