/**
 * The signature line SwiftPM appends to a signed manifest (`Package.swift`,
 * `Package@swift-X.Y.swift`), read the way SwiftPM's own parser reads it
 * (Sources/PackageLoading/ManifestSignatureParser.swift in swift-package-manager, SE-0391):
 * the signature is the last line with non-whitespace; the signed content is everything before
 * the newline that precedes it; the line is slashes, a `signature` label (any case), colons or
 * spaces, the format up to `;`, then base64. Anything else means "not signed".
 *
 * Manifests come out of upstream archives: attacker-controlled.
 */

import { SIGNATURE_FORMAT } from './cms-sign.js';

export type ManifestParts =
  | { signed: false; content: Buffer }
  | { signed: true; content: Buffer; format: string; signatureBase64: string };

// Swift's Character.isNewline / isWhitespace for the characters manifests can hold.
const NEWLINES = new Set(['\n', '\r', '\u000b', '\u000c', '\u0085', '\u2028', '\u2029']);
const isNewline = (c: string): boolean => NEWLINES.has(c);
const isWhitespace = (c: string): boolean => isNewline(c) || /\s/u.test(c);

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

export function splitManifest(bytes: Buffer, name: string): ManifestParts {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new ManifestError(`${name} is not valid UTF-8`);
  const unsigned: ManifestParts = { signed: false, content: bytes };
  let endOfLine = text.length - 1;
  while (endOfLine >= 0 && isWhitespace(text[endOfLine]!)) endOfLine--;
  if (endOfLine < 0) return unsigned;
  let contentEnd = endOfLine;
  while (contentEnd >= 0 && !isNewline(text[contentEnd]!)) contentEnd--;
  if (contentEnd < 0) return unsigned;
  // "\r\n" is one newline character to Swift: the content ends before both.
  const before = contentEnd > 0 && text[contentEnd] === '\n' && text[contentEnd - 1] === '\r' ? contentEnd - 1 : contentEnd;
  const line = text.slice(contentEnd + 1, endOfLine + 1);
  // As SwiftPM: the first "/" of the line starts the comment marker, whatever precedes it.
  const slash = line.indexOf('/');
  if (slash < 0) return unsigned;
  const rest = line.slice(slash).replace(/^\/+/u, '').replace(/^\s+/u, '');
  const colon = rest.indexOf(':');
  if (colon <= 0 || rest.slice(0, colon).toLowerCase() !== 'signature') return unsigned;
  const afterLabel = rest.slice(colon).replace(/^[:\s]+/u, '');
  const semicolon = afterLabel.indexOf(';');
  if (semicolon <= 0) return unsigned;
  const signatureBase64 = afterLabel.slice(semicolon).replace(/^;+/u, '');
  if (signatureBase64 === '') return unsigned;
  return { signed: true, content: Buffer.from(text.slice(0, before), 'utf8'), format: afterLabel.slice(0, semicolon), signatureBase64 };
}

/** Decodes the base64 of a signature line strictly (SwiftPM refuses malformed base64 as an invalid signature). */
export function decodeSignature(base64: string, name: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new ManifestError(`the signature line of ${name} is not base64`);
  return Buffer.from(base64, 'base64');
}

/** The manifest as SwiftPM's publisher writes it: the content, a newline, the signature line, no newline after. */
export function appendSignature(content: Buffer, signature: Buffer): Buffer {
  return Buffer.concat([content, Buffer.from(`\n// signature: ${SIGNATURE_FORMAT};${signature.toString('base64')}`, 'utf8')]);
}

/** `Package.swift` or `Package@swift-X[.Y[.Z]].swift`: the tools version of a versioned manifest, '' for the plain one. */
export function manifestToolsVersion(file: string): string | undefined {
  if (file === 'Package.swift') return '';
  const m = /^Package@swift-(\d+(?:\.\d+){0,2})\.swift$/.exec(file);
  return m?.[1];
}
