/**
 * Two checks of apk v2 signatures, independent of src/formats/alpine and of each other:
 *  - `opensslVerify`: Python's zlib splits the gzip members (decompressobj + unused_data, the
 *    recipe of formats-classic.md §4.4) and `openssl dgst -verify` checks the signature over the
 *    exact compressed bytes apk hashes;
 *  - `verifyApk`: a small verifier in TypeScript, as apk-tools v2 does it (first signature whose key
 *    file exists, datahash, identity = SHA-1 of the signed control bytes);
 *  - `indexSizeMismatches`: the APKINDEX read with Python's tarfile and gzip, each `S:` compared with
 *    the size of the file served under `<P>-<V>.apk`, as apk-tools 3 matches its package cache.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

const SPLIT = `
import sys, zlib
b = open(sys.argv[1], 'rb').read()
d = zlib.decompressobj(31); t = d.decompress(b); rest = d.unused_data
name = t[:100].rstrip(b'\\0').decode(); size = int(t[124:136].rstrip(b'\\0 ').decode(), 8)
open(sys.argv[2] + '/sig.bin', 'wb').write(t[512:512 + size])
signed = rest
if sys.argv[3] == 'package':
    d2 = zlib.decompressobj(31); control = d2.decompress(rest)
    if b'datahash = ' in control:
        signed = rest[:len(rest) - len(d2.unused_data)]
open(sys.argv[2] + '/signed.bin', 'wb').write(signed)
print(name)
`;

export async function opensslVerify(bytes: Buffer, publicPem: string, kind: 'index' | 'package'): Promise<{ ok: boolean; signatureName: string; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-apk-check-'));
  try {
    await writeFile(join(dir, 'file'), bytes);
    await writeFile(join(dir, 'key.pem'), publicPem);
    await writeFile(join(dir, 'split.py'), SPLIT);
    const { stdout } = await run('python3', [join(dir, 'split.py'), join(dir, 'file'), dir, kind]);
    const signatureName = stdout.trim();
    const hash = signatureName.startsWith('.SIGN.RSA256.') ? '-sha256' : signatureName.startsWith('.SIGN.RSA512.') ? '-sha512' : '-sha1';
    try {
      const r = await run('openssl', ['dgst', hash, '-verify', join(dir, 'key.pem'), '-signature', join(dir, 'sig.bin'), join(dir, 'signed.bin')]);
      return { ok: /Verified OK/.test(r.stdout), signatureName, output: r.stdout };
    } catch (err) {
      return { ok: false, signatureName, output: String((err as { stdout?: string }).stdout ?? err) };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** End offset of the gzip member at `start` (fixed 10-byte header: what gzip -n writes). */
function memberEnd(b: Buffer, start: number): number {
  if (b[start] !== 0x1f || b[start + 1] !== 0x8b) throw new Error(`no gzip member at ${start}`);
  if ((b[start + 3] ?? 0) !== 0) throw new Error('unexpected gzip header flags');
  const { engine } = inflateRawSync(b.subarray(start + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
  return start + 10 + engine.bytesWritten + 8;
}

function tarEntries(t: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (let at = 0; at + 512 <= t.length;) {
    const name = t.subarray(at, at + 100).toString('latin1').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(t.subarray(at + 124, at + 136).toString('latin1').replace(/[\0 ]/g, ''), 8);
    out.push({ name, data: t.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export interface ApkCheck {
  ok: boolean;
  reason?: string;
  keyName?: string;
  /** Q1… identity apk computes (packages). */
  identity?: string;
}

/** Verifies like apk: `keys` maps key file names to PEM public keys (an /etc/apk/keys). */
export function verifyApk(bytes: Buffer, keys: Record<string, string>, kind: 'index' | 'package'): ApkCheck {
  const sigEnd = memberEnd(bytes, 0);
  const sigs = tarEntries(gunzipSync(bytes.subarray(0, sigEnd)));
  let signed = bytes.subarray(sigEnd);
  let datahash: string | undefined;
  let data: Buffer | undefined;
  if (kind === 'package') {
    const controlEnd = memberEnd(bytes, sigEnd);
    const pkginfo = tarEntries(gunzipSync(bytes.subarray(sigEnd, controlEnd))).find((e) => e.name === '.PKGINFO')?.data.toString('utf8') ?? '';
    datahash = /^datahash = (\w+)$/m.exec(pkginfo)?.[1];
    if (datahash) {
      data = bytes.subarray(controlEnd);
      signed = bytes.subarray(sigEnd, controlEnd);
    }
  }
  for (const s of sigs) {
    const m = /^\.SIGN\.(RSA|RSA256|RSA512)\.(.*)$/.exec(s.name);
    if (!m || !keys[m[2]!]) continue;
    const hash = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' }[m[1] as 'RSA'];
    if (!verify(hash, signed, createPublicKey(keys[m[2]!]!), s.data)) return { ok: false, reason: 'bad signature', keyName: m[2]! };
    if (datahash && createHash('sha256').update(data!).digest('hex') !== datahash) return { ok: false, reason: 'datahash mismatch', keyName: m[2]! };
    return { ok: true, keyName: m[2]!, ...(kind === 'package' ? { identity: `Q1${createHash('sha1').update(signed).digest('base64')}` } : {}) };
  }
  return { ok: false, reason: 'UNTRUSTED signature' };
}

const SIZES = `
import gzip, io, json, sys, tarfile, zlib
b = open(sys.argv[1], 'rb').read()
d = zlib.decompressobj(31); d.decompress(b); rest = d.unused_data
with tarfile.open(fileobj=io.BytesIO(gzip.decompress(rest))) as t:
    text = t.extractfile('APKINDEX').read().decode()
out = {}
for record in text.split('\\n\\n'):
    f = dict((l[0], l[2:]) for l in record.split('\\n') if len(l) > 1 and l[1] == ':')
    if 'P' in f:
        out[f['P'] + '-' + f['V'] + '.apk'] = int(f['S']) if 'S' in f else None
print(json.dumps(out))
`;

/**
 * Packages whose `S:` in the index (bytes of an APKINDEX.tar.gz) differs from `served[fileName]`,
 * the size of the file as served; a listed package missing from `served` is reported too.
 */
export async function indexSizeMismatches(indexBytes: Buffer, served: Record<string, number>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-apk-sizes-'));
  try {
    await writeFile(join(dir, 'index'), indexBytes);
    await writeFile(join(dir, 'sizes.py'), SIZES);
    const { stdout } = await run('python3', [join(dir, 'sizes.py'), join(dir, 'index')]);
    const listed = JSON.parse(stdout) as Record<string, number | null>;
    const wrong: string[] = [];
    for (const [fileName, size] of Object.entries(listed)) {
      if (served[fileName] === undefined) wrong.push(`${fileName}: S:${size} but not served`);
      else if (size !== served[fileName]) wrong.push(`${fileName}: S:${size}, served ${served[fileName]} bytes`);
    }
    if (Object.keys(listed).length === 0) wrong.push('the index lists no package');
    return wrong;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readPem(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
