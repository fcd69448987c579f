/**
 * apk v2 signatures, https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/v2.14.4/src/package.c
 * (apk_sign_ctx_process_file / _mpart_cb) and abuild's abuild-sign: the first gzip member of an .apk or APKINDEX.tar.gz is a cut tar holding
 * `.SIGN.<RSA|RSA256|RSA512>.<key file name>` entries, each a PKCS#1 v1.5 signature over the
 * compressed bytes that follow. apk uses the first entry whose key file it has.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RsaHash } from '../../keys/types.js';
import { cutTarEntry, type TarFile } from './tar.js';

const TYPES: Record<string, RsaHash> = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };
/** apk ignores signature files larger than this. */
const MAX_SIGNATURE = 65536;

export type SignatureCheck = { ok: true; by: string } | { ok: false; reason: string };

/** Checks the signature entries against the trusted keys (by file name), as apk picks them. */
export function checkApkSignature(entries: readonly Pick<TarFile, 'name' | 'data'>[], signed: Buffer, keys: ReadonlyMap<string, KeyObject>): SignatureCheck {
  const names: string[] = [];
  for (const e of entries) {
    const m = /^\.SIGN\.(RSA|RSA256|RSA512)\.(.+)$/.exec(e.name);
    if (!m) continue;
    names.push(m[2]!);
    const key = keys.get(m[2]!);
    if (!key || e.data.length > MAX_SIGNATURE) continue;
    const hash = TYPES[m[1]!]!;
    const ok = cryptoVerify(hash, signed, key, e.data);
    return ok ? { ok: true, by: `apk-rsa:${m[2]}` } : { ok: false, reason: `the ${m[1]} signature by ${m[2]} does not verify` };
  }
  if (names.length === 0) return { ok: false, reason: 'there is no .SIGN.RSA* signature' };
  return { ok: false, reason: `signed by ${names.join(', ')}, none of them a trusted key` };
}

/**
 * The signature member the mirror serves: `.SIGN.RSA256.<org key file name>` holding `signature`
 * (RSA SHA-256 over the bytes that follow), cut tar, gzip level 9 without a name or time (as `gzip -n -9`). Deterministic for given bytes and key.
 */
export function signatureMember(keyFileName: string, signature: Buffer): Buffer {
  return gzipSync(cutTarEntry(`.SIGN.RSA256.${keyFileName}`, signature), { level: 9 });
}

export function sha1Hex(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}
