/**
 * A checksum sidecar (`<file>.sha1`, `.md5`, `.sha256`, `.sha512`), attacker-controlled: hex,
 * sometimes followed by whitespace and a file name (`sha1sum` output), as Maven Resolver reads it:
 * https://maven.apache.org/resolver/about-checksums.html. Also the BSD form `SHA1 (name) = hex`
 * some old repositories hold.
 */
import type { ChecksumExtension } from './paths.js';

const HEX_LENGTH: Record<ChecksumExtension, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const MAX_SIDECAR_BYTES = 4096;

export function parseChecksumFile(bytes: Buffer, algorithm: ChecksumExtension): string | undefined {
  if (bytes.byteLength > MAX_SIDECAR_BYTES) return undefined;
  const text = bytes.toString('latin1').trim();
  const length = HEX_LENGTH[algorithm];
  const bsd = /^[A-Za-z0-9-]+ \([^)]*\) = ([0-9a-fA-F]+)$/.exec(text);
  const token = bsd ? bsd[1]! : text.split(/\s+/, 1)[0] ?? '';
  return token.length === length && /^[0-9a-fA-F]+$/.test(token) ? token.toLowerCase() : undefined;
}

/** What the mirror serves as a sidecar for bytes it serves: lowercase hex, no name, as Central does. */
export function checksumFileText(hex: string): Buffer {
  return Buffer.from(hex, 'latin1');
}
