/**
 * The layout of an RPM v4 package file, per
 * https://rpm-software-management.github.io/rpm/manual/format_v4.html and rpm-4.18
 * lib/package.c: a 96-byte lead, the signature header padded to 8 bytes, the main (immutable)
 * header, then the compressed payload. Attacker-controlled: see rpm-header.ts.
 */
import { parseHeader, RpmFormatError, type ParsedHeader } from './rpm-header.js';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = 0xedabeedb;
const HEADERSIG_TYPE = 5;

/** rpm's own limits for the two headers (lib/header_internal.h, lib/signature.c). */
const SIGNATURE_LIMITS = { maxEntries: 32, maxData: 64 * 1024 * 1024 };
const MAIN_LIMITS = { maxEntries: 0xffff, maxData: 256 * 1024 * 1024 };

export const REGION_SIGNATURES = 62;
export const REGION_IMMUTABLE = 63;

/** Signature-header tags (rpm include/rpm/rpmtag.h, RPMSIGTAG_*). */
export const SIGTAG = {
  DSA: 267,
  RSA: 268,
  SHA1: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273,
  OPENPGP: 278,
  SIZE: 1000,
  PGP: 1002,
  MD5: 1004,
  GPG: 1005,
  PAYLOADSIZE: 1007,
  RESERVEDSPACE: 1008,
} as const;

/** Main-header tags this mirror reads. */
export const TAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, PAYLOADDIGEST: 5092, PAYLOADDIGESTALGO: 5093 } as const;

export interface RpmPackage {
  bytes: Buffer;
  signature: ParsedHeader;
  /** Offset of the main header: after the signature header and its padding to 8 bytes. */
  headerStart: number;
  header: ParsedHeader;
  /** Offset of the payload (end of the main header). */
  payloadStart: number;
}

export function parseRpm(bytes: Buffer): RpmPackage {
  if (bytes.length < LEAD_SIZE) throw new RpmFormatError('the file is shorter than an RPM lead');
  if (bytes.readUInt32BE(0) !== LEAD_MAGIC) throw new RpmFormatError('the file does not start with the RPM lead magic');
  if (bytes[4] !== 3) throw new RpmFormatError(`RPM lead version ${bytes[4]} is not supported (only v3 leads, as rpm 4 writes)`);
  if (bytes.readUInt16BE(78) !== HEADERSIG_TYPE) throw new RpmFormatError('the lead does not announce a header-style signature');
  const signature = parseHeader(bytes, LEAD_SIZE, REGION_SIGNATURES, SIGNATURE_LIMITS);
  const headerStart = LEAD_SIZE + padded8(signature.length);
  const header = parseHeader(bytes, headerStart, REGION_IMMUTABLE, MAIN_LIMITS);
  return { bytes, signature, headerStart, header, payloadStart: headerStart + header.length };
}

export function padded8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

/** The bytes an RPM header signature covers: the main header from its magic to the end of its data. */
export function signedHeaderBytes(pkg: RpmPackage): Buffer {
  return pkg.bytes.subarray(pkg.headerStart, pkg.payloadStart);
}
