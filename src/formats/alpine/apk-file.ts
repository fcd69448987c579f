/**
 * The parts of an .apk (v2) or APKINDEX.tar.gz, located by gzip member: signature, then for a
 * package the control member (.PKGINFO, scripts) and the data, for an index the index member.
 * What the signature covers, per https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/v2.14.4/src/package.c: for an index, everything after
 * the signature member; for a package with `datahash` in .PKGINFO, the control member alone
 * (the data must hash to datahash); without datahash, control and data. The package identity
 * (`C:` in APKINDEX) is the SHA-1 of the same bytes the signature covers; it does not include
 * the signature member, so re-signing leaves APKINDEX valid.
 */
import { createHash } from 'node:crypto';
import { pkginfoDatahash } from './apkindex.js';
import { readMember } from './gzip-members.js';
import { readTar, type TarFile } from './tar.js';

const MAX_MEMBER = 64 * 1024 * 1024;

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

function signatureOf(bytes: Buffer): { signatures: TarFile[]; rest: Buffer } {
  const sig = readMember(bytes, 0, MAX_MEMBER);
  return { signatures: readTar(sig.content, { maxFiles: 16 }), rest: bytes.subarray(sig.end) };
}

export function splitIndex(bytes: Buffer): ApkParts & { indexText: string; indexMtime: number } {
  const { signatures, rest } = signatureOf(bytes);
  const files = readTar(readMember(rest, 0, MAX_MEMBER * 8).content);
  const index = files.find((f) => f.name === 'APKINDEX');
  if (!index) throw new Error('the archive holds no APKINDEX file');
  return { signatures, rest, signed: rest, indexText: index.data.toString('utf8'), indexMtime: index.mtime };
}

export function splitPackage(bytes: Buffer): ApkPackageParts {
  const { signatures, rest } = signatureOf(bytes);
  const control = readMember(rest, 0, MAX_MEMBER);
  const pkginfo = readTar(control.content).find((f) => f.name === '.PKGINFO');
  if (!pkginfo) throw new Error('the control member holds no .PKGINFO');
  const datahash = pkginfoDatahash(pkginfo.data.toString('utf8'));
  const data = rest.subarray(control.end);
  return { signatures, rest, data, signed: datahash ? rest.subarray(0, control.end) : rest, ...(datahash ? { datahash } : {}) };
}

export function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
