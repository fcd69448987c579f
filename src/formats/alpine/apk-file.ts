/**
 * The parts of an .apk (v2) or APKINDEX.tar.gz, located by gzip member: signature, then for a
 * package the control member (.PKGINFO, scripts) and the data, for an index the index member.
 * What the signature covers, per https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/v2.14.4/src/package.c: for an index, everything after
 * the signature member; for a package with `datahash` in .PKGINFO, the control member alone
 * (the data must hash to datahash); without datahash, control and data. The package identity
 * (`C:` in APKINDEX) is the SHA-1 of the same bytes the signature covers; it does not include
 * the signature member, so re-signing leaves the `C:` lines valid (only `S:` changes: ./index.ts).
 */
import { createHash } from 'node:crypto';
import { pkginfoDatahash } from './apkindex.js';
import { readMember } from './gzip-members.js';
import { readTar, type TarFile } from './tar.js';

/** A signature member holds at most 16 entries of at most 64 KiB that apk would read. */
const MAX_SIGNATURE_MEMBER = 2 * 1024 * 1024;
/** .PKGINFO and install scripts. */
const MAX_CONTROL_MEMBER = 64 * 1024 * 1024;
/**
 * The uncompressed index tar (APKINDEX + DESCRIPTION). Alpine's largest, edge/community, is about
 * 10 MiB; a member past this is refused rather than inflated (it was 512 MiB, synchronously).
 */
export const MAX_INDEX_MEMBER = 64 * 1024 * 1024;

export interface ApkParts {
  signatures: TarFile[];
  /** Everything after the signature member. */
  rest: Buffer;
  /** What the signature covers (and, for packages, what `C:` hashes). */
  signed: Buffer;
}

export interface ApkPackageParts extends ApkParts {
  datahash?: string;
  /** Compressed data bytes (after the control member). */
  data: Buffer;
}

export interface ApkIndexContent {
  /** The index tar's entries in order (DESCRIPTION, APKINDEX), as apk index writes them. */
  tar: Buffer;
  indexText: string;
  indexMtime: number;
}

/**
 * The signature member and what follows it, inflating only the (small, capped) signature member:
 * for an index the signature covers the compressed bytes after it, so it is checked before any
 * attacker-sized member is inflated.
 */
export async function splitSigned(bytes: Buffer): Promise<{ signatures: TarFile[]; rest: Buffer }> {
  const sig = await readMember(bytes, 0, MAX_SIGNATURE_MEMBER);
  return { signatures: readTar(sig.content, { maxFiles: 16 }), rest: bytes.subarray(sig.end) };
}

/** The index member (what follows the signature member), inflated up to MAX_INDEX_MEMBER. */
export async function readIndexMember(rest: Buffer): Promise<ApkIndexContent> {
  const member = await readMember(rest, 0, MAX_INDEX_MEMBER);
  const index = readTar(member.content).find((f) => f.name === 'APKINDEX');
  if (!index) throw new Error('the archive holds no APKINDEX file');
  return { tar: member.content, indexText: index.data.toString('utf8'), indexMtime: index.mtime };
}

export async function splitPackage(bytes: Buffer): Promise<ApkPackageParts> {
  const { signatures, rest } = await splitSigned(bytes);
  const control = await readMember(rest, 0, MAX_CONTROL_MEMBER);
  const pkginfo = readTar(control.content).find((f) => f.name === '.PKGINFO');
  if (!pkginfo) throw new Error('the control member holds no .PKGINFO');
  const datahash = pkginfoDatahash(pkginfo.data.toString('utf8'));
  const data = rest.subarray(control.end);
  return { signatures, rest, data, signed: datahash ? rest.subarray(0, control.end) : rest, ...(datahash ? { datahash } : {}) };
}

export function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
