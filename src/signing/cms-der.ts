/**
 * Byte-preserving DER reading and reassembly for CMS structures someone else signed (X.690 §8.1,
 * https://www.itu.int/rec/T-REC-X.690). pkijs re-encodes whatever it parses; a countersignature
 * added to an author's SignerInfo must keep every other byte of it as it was (its signature is
 * over those bytes), so edits go through these raw elements instead. Input may be
 * attacker-controlled: every length is bounds-checked and indefinite lengths are refused (DER).
 */

/** One TLV element: its tag byte(s), the whole encoding and the contents. */
export interface DerElement {
  /** The identifier octet (single-byte tags only: every tag CMS uses fits). */
  tag: number;
  /** The whole element, header included. */
  raw: Buffer;
  contents: Buffer;
}

export class DerError extends Error {}

/** Reads the element starting at `offset` of `bytes`. */
export function readElement(bytes: Buffer, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER header');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not used by CMS');
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length === 0x80) throw new DerError('indefinite length is not DER');
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4 || offset + 2 + count > bytes.length) throw new DerError('DER length out of range');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new DerError('DER element runs past its container');
  return { tag, raw: bytes.subarray(offset, end), contents: bytes.subarray(offset + header, end) };
}

/** The elements inside a constructed element's contents, in order. */
export function children(contents: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < contents.length;) {
    const element = readElement(contents, offset);
    out.push(element);
    offset += element.raw.length;
  }
  return out;
}

/** Encodes a DER element from its tag and contents. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else {
    const lengthBytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) lengthBytes.unshift(v & 0xff);
    header = Buffer.from([tag, 0x80 | lengthBytes.length, ...lengthBytes]);
  }
  return Buffer.concat([header, body]);
}

/** DER SET OF: the encodings sorted as octet strings (X.690 §11.6). */
export function setOf(tag: number, encodings: Buffer[]): Buffer {
  return tlv(tag, ...[...encodings].sort(Buffer.compare));
}

export const TAG = {
  integer: 0x02,
  octetString: 0x04,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  /** [0] IMPLICIT, constructed: SignedData.certificates, SignerInfo.signedAttrs, ContentInfo.content (EXPLICIT). */
  context0: 0xa0,
  /** [1] IMPLICIT, constructed: SignerInfo.unsignedAttrs, SignedData.crls. */
  context1: 0xa1,
} as const;
